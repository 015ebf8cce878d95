"""Items and scopes: the run-time data model of API Script (docs/reference/rsd-format.md §5).

Owns: `Item` (a named, case-insensitive set of attributes; an attribute may be multi-valued with `#`),
`Scope` (the item stack, named items and the special items `_input`, `_connection`, `_query`) and
reference resolution (`resolve("item.attr#2")`). Must not: evaluate templates, know about HTTP or the
profile's statements.

Values are Python objects (str, int, float, bool, None): rows mapped from JSON keep their JSON types so
that a value passes to the output without a round trip through text. Templates render them to text.
"""
from __future__ import annotations

from typing import Iterator, Optional

from ..provenance import mark

_MISSING = None


class Multi(list[object]):
    """The values of a multi-valued attribute (`attr#1`, `attr#2`, ...). 1-based to the script."""

    __slots__ = ()


def split_hash(lname: str) -> tuple[str, Optional[str]]:
    """`header:name#2` -> (`header:name`, "2"); `attr#` -> (`attr`, ""); `attr` -> (`attr`, None)."""
    i = lname.rfind("#")
    if i < 0:
        return lname, None
    suffix = lname[i + 1:]
    if suffix == "" or suffix.isdigit():
        return lname[:i], suffix
    return lname, None


class Item:
    """A set of attributes. Names are case-insensitive; `names` keeps the spelling of the first set.

    `data`: the item came from a response (a row, `_response`, an error's `_catch`): what a template reads from it
    is data (`rsd.provenance`), never placeholders, templates or names (marked when read, so that rows nobody reads
    cost nothing)."""

    __slots__ = ("name", "values", "names", "data")

    def __init__(self, name: str = "", values: Optional[dict[str, object]] = None,
                 names: Optional[dict[str, str]] = None, data: bool = False):
        self.name = name
        self.values: dict[str, object] = values if values is not None else {}
        self.names: dict[str, str] = names if names is not None else {}
        self.data = data

    def get(self, lname: str) -> object:
        """Value of attribute `lname` (already lower-case), honouring `#` forms; None when not set."""
        v = self.values.get(lname, _MISSING)
        if v is not _MISSING:
            return v[0] if type(v) is Multi else v
        base, idx = split_hash(lname)
        if idx is None:
            return _MISSING
        v = self.values.get(base, _MISSING)
        if v is _MISSING:
            # `[x#]` of an attribute this item does not have: not set here (the scope's walk goes on to the
            # items below, and says 0 only when no item has it), so a count agrees inside and outside a loop
            return _MISSING
        if idx == "":
            return len(v) if type(v) is Multi else 1
        n = int(idx)
        if type(v) is Multi:
            return v[n - 1] if 1 <= n <= len(v) else _MISSING
        return v if n == 1 else _MISSING

    def set(self, name: str, value: object) -> None:
        """Set `name`; `name#` appends a value, `name#N` sets the N-th value (1-based)."""
        lname = name.lower()
        base, idx = split_hash(lname)
        if idx is None:
            self.values[lname] = value
            self.names.setdefault(lname, name)
            return
        self.names.setdefault(base, name[: len(base)])
        cur = self.values.get(base, _MISSING)
        if type(cur) is not Multi:
            cur = Multi() if cur is _MISSING else Multi([cur])
            self.values[base] = cur
        if idx == "":
            cur.append(value)
            return
        n = int(idx)
        if n < 1:
            return
        while len(cur) < n:
            cur.append(None)
        cur[n - 1] = value

    def unset(self, name: str) -> None:
        lname = name.lower()
        if lname.endswith("*"):
            prefix = lname[:-1]
            for k in [k for k in self.values if k.startswith(prefix)]:
                del self.values[k]
                self.names.pop(k, None)
            return
        base, _ = split_hash(lname)
        self.values.pop(base, None)
        self.names.pop(base, None)

    def items(self) -> Iterator[tuple[str, object]]:
        """(name as first written, value) pairs; multi-valued attributes expand to `name#1`, `name#2`..."""
        for k, v in self.values.items():
            name = self.names.get(k, k)
            if type(v) is Multi:
                for i, x in enumerate(v, 1):
                    yield f"{name}#{i}", x
            else:
                yield name, v

    def copy(self, name: Optional[str] = None) -> "Item":
        return Item(self.name if name is None else name,
                    {k: (Multi(v) if type(v) is Multi else v) for k, v in self.values.items()},
                    dict(self.names), self.data)

    def __repr__(self) -> str:
        return f"Item({self.name!r}, {dict(self.items())!r})"


class Scope:
    """The item stack and named items of one script execution.

    The bottom of the stack is `_input`; `api:call` pushes each output item while its body runs, and
    `api:enum` pushes its control item. A reference without an item name walks the stack from the top
    down (docs/reference/rsd-format.md §5.4). `_` is the top of the stack; `_outN` is the output item of
    the N-th enclosing `api:call` counted from the outermost (op_rsbCall: "_out1, _out2, _out[n], where n is
    the depth of the stack"), so the innermost call's item is `_out` + the depth.
    """

    __slots__ = ("stack", "named", "connection", "query", "response", "outs")

    def __init__(self, input_item: Item, connection: Item, query: Optional[Item] = None):
        self.stack: list[Item] = [input_item]
        self.outs: list[Item] = []  # the output items of the enclosing calls, outermost first
        self.named: dict[str, Item] = {}
        self.connection = connection
        self.query = query if query is not None else Item("_query")
        self.response = Item("_response")

    def copy(self) -> "Scope":
        """A scope of copies of every item (a speculative execution changes none of this one's)."""
        copies = {id(item): item.copy() for item in (*self.stack, *self.outs, *self.named.values())}
        out = Scope(copies[id(self.stack[0])], self.connection.copy(), self.query.copy())
        out.stack = [copies[id(item)] for item in self.stack]
        out.outs = [copies[id(item)] for item in self.outs]
        out.named = {name: copies[id(item)] for name, item in self.named.items()}
        out.response = self.response.copy()
        return out

    @property
    def input(self) -> Item:
        return self.stack[0]

    @property
    def default(self) -> Item:
        return self.stack[-1]

    def item(self, lname: str) -> Optional[Item]:
        """The item called `lname` (lower-case) or None when no such item exists."""
        if lname == "_input":
            return self.stack[0]
        if lname == "_":
            return self.stack[-1]
        if lname == "_connection":
            return self.connection
        if lname == "_query":
            return self.query
        if lname == "_response":
            return self.response
        if lname.startswith("_out") and lname[4:].isdigit():
            n = int(lname[4:])
            return self.outs[n - 1] if 1 <= n <= len(self.outs) else None
        return self.named.get(lname)

    def item_for_set(self, name: str) -> Item:
        """The item `api:set item="name"` writes to, created on first use."""
        lname = name.lower()
        it = self.item(lname)
        if it is None:
            it = self.named[lname] = Item(name)
        return it

    def split(self, name: str) -> tuple[Optional[Item], str]:
        """Split `item.attr` at the first dot when `item` names an existing item; else (None, name)."""
        lname = name.lower()
        dot = lname.find(".")
        if dot > 0:
            it = self.item(lname[:dot])
            if it is not None:
                return it, lname[dot + 1:]
        return None, lname

    def resolve(self, name: str) -> object:
        """The value a template reference `[name]` stands for, or None when nothing is set. A text read from an item of
        a response is data (`rsd.provenance.mark`)."""
        item, lname = self.split(name)
        if item is not None:
            v = item.get(lname)
        else:
            v = None
            for item in reversed(self.stack):
                v = item.get(lname)
                if v is not None:
                    break
        if v is None:
            return 0 if lname.endswith("#") else None  # `[x#]`: the count of an attribute nothing has set
        if item.data and type(v) is str:  # type: ignore[union-attr]
            return mark(v)
        return v

    def push(self, item: Item, output: bool = False) -> None:
        """Push `item`; `output=True` for the output item of an `api:call` (numbered by `_outN`)."""
        self.stack.append(item)
        if output:
            self.outs.append(item)

    def pop(self) -> Item:
        item = self.stack.pop()
        if self.outs and self.outs[-1] is item:
            self.outs.pop()
        return item
