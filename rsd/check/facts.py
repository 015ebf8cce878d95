"""What a profile declares and sets, gathered in one walk, for the rules to consult.

Owns: the walk over a profile's statements (with each node's ancestors), name normalisation of
attribute references (`item.prefix:attr#N` → item and base name), the compiled templates of every
parameter value, and source positions inside parameter values. Must not: judge anything (rules.py does)
or evaluate a template.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from ..errors import Loc
from ..reader import ast

# Items whose attributes exist only at run time: never reported as unknown.
RUNTIME_ITEMS = frozenset({
    "_connection", "_query", "_request", "_profile", "_log", "_response", "_global", "_httpheaders",
    "_server", "_env", "_session", "_cookies", "_description",
})
# Control attributes the interpreter injects (docs/reference/rsd-format.md §5.4) and the paging state.
CONTROL_ATTRS = frozenset({
    "_attr", "_value", "_index", "_code", "_desc", "_description", "_details", "_message",
    "rows@next", "_count",
})
# Items that are the default item (at top level, `_input`).
DEFAULT_ITEMS = frozenset({"", "_", "_input"})

_OUT_N = re.compile(r"_out\d+\Z")
_PLACEHOLDER = re.compile(r"(?<![\\$\[])\{([A-Za-z_][\w.:@-]*)\}")


@dataclass(frozen=True, slots=True)
class Name:
    """An attribute name as written, split: `item` ('' for the default item), `attr` (with prefix,
    without `#N`), both lower-case; `dynamic` when either part holds a nested template."""

    item: str
    attr: str
    dynamic: bool
    full: str = ""  # the attribute part with its `#N` suffix, lower-case


def split_name(text: str) -> Name:
    """Split `item.prefix:attr#N` the way the interpreter does: the first dot separates the item when
    the part before it has no `:` or `#`."""
    text = text.strip()
    dynamic = "[" in text
    item = ""
    dot = text.find(".")
    if dot > 0:
        head = text[:dot]
        if ":" not in head and "#" not in head:
            item, text = head, text[dot + 1:]
    attr = text.split("#", 1)[0]
    return Name(item.lower(), attr.lower(), dynamic, text.lower())


def placeholders(value: str) -> list[str]:
    """`{name}` URI placeholders in `value` (not `${...}` references, not inside escapes)."""
    return _PLACEHOLDER.findall(value)


def literal_text(value: str) -> str:
    """`value` with every `[...]` expression (nested ones too) blanked to spaces; escapes `\\[` kept
    as text. Offsets are preserved, so a match in the result is a match in `value`."""
    out = list(value)
    depth = 0
    quote = None
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "[]":
            if depth:
                out[i] = out[i + 1] = " "
            i += 2
            continue
        if depth:
            if quote:
                if c == quote:
                    quote = None
            elif c in "'\"":
                quote = c
            elif c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            out[i] = " "
        elif c == "[":
            depth = 1
            out[i] = " "
        i += 1
    return "".join(out)


def is_literal(value: str) -> bool:
    """True when `value` has no `[...]` expression (an escaped `\\[` is literal)."""
    return "[" not in value.replace("\\[", "")


@dataclass(slots=True)
class Visit:
    node: ast.Node
    ancestors: tuple[ast.Node, ...]  # nearest last
    method: Optional[str]  # None for global statements

    @property
    def parent(self) -> Optional[ast.Node]:
        return self.ancestors[-1] if self.ancestors else None


def walk(profile: ast.Profile) -> Iterator[Visit]:
    def go(nodes: Sequence[ast.Node], ancestors: tuple[ast.Node, ...], method: Optional[str]) -> Iterator[Visit]:
        for n in nodes:
            yield Visit(n, ancestors, method)
            if n.body:
                yield from go(n.body, ancestors + (n,), method)

    yield from go(profile.statements, (), None)
    for m in profile.methods:
        yield from go(m.body, (), m.name)


@dataclass(slots=True)
class Assignment:
    """One `api:set`/`api:setc` (or setm line): where it writes and what (raw value)."""

    node: ast.Node
    item: str  # lower-case item name, '' for the default item
    attr: str  # lower-case attribute name with prefix and `#N` as written, e.g. `header:name#1`
    value: Optional[str]
    param: Optional[ast.Param]  # the `value` parameter, None for body text
    target: ast.Param  # the `attr` parameter
    in_call: bool  # inside the body of an api:call / api:push
    raw: bool  # api:setc: not evaluated

    @property
    def base(self) -> str:
        return self.attr.split("#", 1)[0]


@dataclass(slots=True)
class Facts:
    profile: ast.Profile
    visits: list[Visit] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    set_names: set[str] = field(default_factory=set)  # base attr names set anywhere
    set_items: set[str] = field(default_factory=set)  # items written or created
    open_items: set[str] = field(default_factory=set)  # items whose attributes we cannot know
    all_open: bool = False  # a write with a dynamic item: nothing about items can be said
    columns: set[str] = field(default_factory=set)
    inputs: set[str] = field(default_factory=set)
    ops: list[tuple[ast.Node, str]] = field(default_factory=list)

    @property
    def declared(self) -> set[str]:
        return self.columns | self.inputs | self.set_names | CONTROL_ATTRS

    def item_known(self, item: str) -> bool:
        return (item in DEFAULT_ITEMS or item in RUNTIME_ITEMS or item in self.set_items
                or item in self.open_items or bool(_OUT_N.match(item)) or self.all_open)


def _write_target(node: ast.Node, attr_text: str) -> Name:
    item_p = node.param("item")
    name = split_name(attr_text)
    if item_p is not None and item_p.value.strip():
        item = item_p.value.strip().lower()
        whole = attr_text.strip().lower()
        return Name(item, whole.split("#", 1)[0], name.dynamic or not is_literal(item), whole)
    return name


def gather(profile: ast.Profile) -> Facts:
    f = Facts(profile)
    info = profile.info
    if info is not None:
        f.columns = {c.name.lower() for c in info.columns if c.name}
        f.inputs = {i.name.lower().rstrip("#") for i in info.inputs if i.name}
        f.set_names |= {o.name.lower() for o in info.outputs if o.name}
    for v in walk(profile):
        f.visits.append(v)
        n = v.node
        in_call = any(isinstance(a, (ast.Call, ast.Push)) for a in v.ancestors)
        if isinstance(n, (ast.Set, ast.SetC, ast.Unset)) and n.param("attr") is None:
            if n.param("copyfrom") is not None:
                f.open_items.add((n.value("item") or "").strip().lower())
        elif isinstance(n, (ast.Set, ast.SetC, ast.Unset)):
            target = n.param("attr")
            assert target is not None  # the branch above took the attr-less ones
            name = _write_target(n, target.value)
            if name.dynamic:
                if "[" in (n.value("item") or "") or "[" in target.value.split(".", 1)[0]:
                    f.all_open = True
                f.open_items.add(name.item)
                continue
            f.set_items.add(name.item)
            f.set_names.add(name.attr)
            if isinstance(n, ast.Unset):
                continue
            if n.param("copyfrom") is not None:
                f.open_items.add(name.item)
            vp = n.param("value")
            value = vp.value if vp is not None else n.text
            f.assignments.append(Assignment(n, name.item, name.full, value, vp, target,
                                            in_call, isinstance(n, ast.SetC)))
            if name.attr == "elementmapname" and value and is_literal(value):
                f.set_names.add(value.strip().lower())
        elif isinstance(n, ast.SetM):
            item = (n.value("item") or "").strip().lower()
            f.set_items.add(item)
            for line in (n.text or "").splitlines():
                if "=" in line:
                    f.set_names.add(split_name(line.split("=", 1)[0]).attr)
        elif isinstance(n, ast.Map):
            to = (n.value("to") or "").strip().lower()
            f.set_items.add(to)
            mapping = n.value("map") or ""
            for pair in mapping.split(","):
                dst = pair.split("=", 1)[0].strip()
                if "*" in dst or "[" in dst:
                    f.open_items.add(to)
                elif dst:
                    f.set_names.add(split_name(dst).attr)
            if not mapping.strip():
                f.open_items.add(to)
        elif isinstance(n, (ast.Call, ast.Push)):
            op = n.value("op")
            if op is not None:
                f.ops.append((n, op))
            for key in ("out", "output"):
                out = n.value(key)
                if out:
                    f.open_items.add(out.strip().lower())
        elif isinstance(n, ast.Enum):
            for key in ("item", "attr"):
                v2 = n.value(key)
                if v2:
                    f.open_items.add(split_name(v2).item)
    return f


class Source:
    """Columns inside parameter values, from the profile's (normalised original) text."""

    def __init__(self, text: str):
        self._lines: Optional[list[str]] = None
        self._text = text

    def value_start(self, param: ast.Param) -> Optional[int]:
        """0-based column of the first character of `param`'s value on its line, or None when the
        value is not written there verbatim (a line break or an entity inside it)."""
        if self._lines is None:
            self._lines = self._text.split("\n")
        line_no = param.loc.line - 1
        if not (0 <= line_no < len(self._lines)) or "\n" in param.value:
            return None
        line = self._lines[line_no]
        i = param.loc.column - 1
        if line[i:i + len(param.name)].lower() != param.name.lower():
            return None
        i += len(param.name)
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line) or line[i] != "=":
            return None
        i += 1
        while i < len(line) and line[i] in " \t":
            i += 1
        if i >= len(line) or line[i] not in "\"'":
            return None
        i += 1
        if line[i:i + len(param.value)] != param.value:
            return None
        return i

    def at(self, param: ast.Param, offset: int = 0) -> Loc:
        """The location of character `offset` of `param`'s value, or the parameter's own location
        when that cannot be computed exactly."""
        start = self.value_start(param)
        if start is None:
            return param.loc
        offset = max(0, min(offset, len(param.value)))
        return Loc(param.loc.path, param.loc.line, start + 1 + offset)
