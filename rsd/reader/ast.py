"""The immutable AST of an `.rsd` profile.

Owns: the node types (one per keyword of docs/reference/rsd-format.md §6), the keyword table (`KEYWORDS`: names,
aliases, required and known parameters, where a keyword may stand), and `Param` (an XML attribute
value with its location). Must not: evaluate templates, touch the network, or change after parsing:
every node is a frozen dataclass and every collection a tuple.

Keyword parameters stay raw strings: templates in them are compiled by `rsd.template` (once per
profile, see `rsd.engine.compile`), never here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Optional

from ..errors import Diagnostic, Loc

EMPTY: Mapping[str, "Param"] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Param:
    """One XML attribute: its name as written (with prefix, e.g. `other:xPath`), raw value and location."""

    name: str
    value: str
    loc: Loc


def _params_get(params: Mapping[str, Param], name: str) -> Optional[Param]:
    return params.get(name.lower())


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """Base of all script statements.

    `keyword` is the local name, lower-case (`set`, `call`...); `prefix` the prefix as written (`api`,
    `rsb`, `arc`). `params` maps lower-case attribute names (with their prefix, e.g. `other:xpath`) to
    `Param`. `body` holds child statements; `text` the element's own direct text (stripped of nothing:
    `api:set` and `api:setm` use it as a value), or None when there is none but whitespace.
    """

    keyword: str
    loc: Loc
    prefix: str = "api"
    params: Mapping[str, Param] = field(default_factory=lambda: EMPTY)
    body: tuple["Node", ...] = ()
    text: Optional[str] = None

    def param(self, name: str) -> Optional[Param]:
        """The parameter `name` (case-insensitive), or None."""
        return _params_get(self.params, name)

    def value(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The raw value of parameter `name` (case-insensitive), or `default`."""
        p = _params_get(self.params, name)
        return p.value if p is not None else default

    @property
    def tag(self) -> str:
        return f"{self.prefix}:{self.keyword}"


# One class per keyword. They add no fields: the class *is* the keyword, so the interpreter and the
# checker dispatch on type, and `KEYWORDS` below says which parameters each one takes.
class Set(Node): __slots__ = ()
class SetC(Node): __slots__ = ()
class SetM(Node): __slots__ = ()
class Unset(Node): __slots__ = ()
class Call(Node): __slots__ = ()
class Push(Node): __slots__ = ()
class If(Node): __slots__ = ()
class Else(Node): __slots__ = ()
class Check(Node): __slots__ = ()
class Equals(Node): __slots__ = ()
class NotEquals(Node): __slots__ = ()
class Match(Node): __slots__ = ()
class Exists(Node): __slots__ = ()  # api:exists and its alias api:notnull
class Null(Node): __slots__ = ()
class Select(Node): __slots__ = ()
class Case(Node): __slots__ = ()
class Default(Node): __slots__ = ()
class Enum(Node): __slots__ = ()
class First(Node): __slots__ = ()
class Last(Node): __slots__ = ()
class Break(Node): __slots__ = ()
class Continue(Node): __slots__ = ()
class Map(Node): __slots__ = ()
class Validate(Node): __slots__ = ()
class Throw(Node): __slots__ = ()
class Try(Node): __slots__ = ()
class Catch(Node): __slots__ = ()
class Finally(Node): __slots__ = ()
class Include(Node): __slots__ = ()
class Script(Node): __slots__ = ()  # a nested api:script without method (rare); method blocks are `Method`
class Unknown(Node): __slots__ = ()  # a keyword we do not know; the reader also emits a diagnostic


@dataclass(frozen=True, slots=True)
class KeywordSpec:
    cls: type["Node"]
    required: tuple[str, ...] = ()
    # known parameters besides `required`; "*" means any parameter is acceptable
    optional: tuple[str, ...] = ()
    # one of these must be present (e.g. api:if takes `exp` or `attr`)
    one_of: tuple[str, ...] = ()


_COND = ("item", "action", "value")
KEYWORDS: Mapping[str, KeywordSpec] = MappingProxyType({
    "set": KeywordSpec(Set, ("attr",), ("item", "value", "copyfrom", "ns")),
    "setc": KeywordSpec(SetC, ("attr",), ("item", "value")),
    "setm": KeywordSpec(SetM, (), ("item",)),
    "unset": KeywordSpec(Unset, ("attr",), ("item",)),
    "call": KeywordSpec(Call, ("op",), ("in", "input", "out", "output", "ignoreprefix", "*")),
    "push": KeywordSpec(Push, (), ("item", "title", "op", "in", "input", "out", "output", "*")),
    "if": KeywordSpec(If, (), ("exp", "attr", "value", "operator", "item", "action"), one_of=("exp", "attr")),
    "else": KeywordSpec(Else),
    "check": KeywordSpec(Check, ("attr",), _COND),
    "equals": KeywordSpec(Equals, ("attr", "value"), ("item", "action", "case")),
    "notequals": KeywordSpec(NotEquals, ("attr", "value"), ("item", "action", "case")),
    "match": KeywordSpec(Match, ("pattern", "value"), ("type", "item", "action")),
    "exists": KeywordSpec(Exists, ("attr",), _COND),
    "notnull": KeywordSpec(Exists, ("attr",), _COND),
    "null": KeywordSpec(Null, ("attr",), _COND),
    "select": KeywordSpec(Select, (), ("value", "attr", "item"), one_of=("value", "attr")),
    "case": KeywordSpec(Case, ("value",), ("match",)),
    "default": KeywordSpec(Default),
    "enum": KeywordSpec(Enum, (), ("item", "attr", "list", "sep", "separator", "range", "prefix", "expand", "recurse"),
                        one_of=("item", "attr", "list", "range")),
    "first": KeywordSpec(First),
    "last": KeywordSpec(Last),
    "break": KeywordSpec(Break),
    "continue": KeywordSpec(Continue),
    "map": KeywordSpec(Map, ("to",), ("from", "map")),
    "validate": KeywordSpec(Validate, ("attr",), ("item", "code", "desc", "description")),
    "throw": KeywordSpec(Throw, ("code",), ("desc", "description", "details")),
    "try": KeywordSpec(Try),
    "catch": KeywordSpec(Catch, (), ("code",)),
    "finally": KeywordSpec(Finally),
    "include": KeywordSpec(Include, (), ("file", "href", "path", "*")),
    "script": KeywordSpec(Script, (), ("method", "*")),
})

# Keywords that are conditionals: an `api:else` may be their direct child.
CONDITIONALS: tuple[type, ...] = (If, Check, Equals, NotEquals, Exists, Null, Match)
# Where else an `api:else` may stand: directly inside an `api:call`, run when the call produced no item
# (https://cdn.cdata.com/help/DVH/cis/pg_APIelse.htm).
ELSE_PARENTS: tuple[type, ...] = CONDITIONALS + (Call,)

#: how `api:case match=` and `api:match type=` compare a value with a pattern
PATTERN_KINDS: tuple[str, ...] = ("exact", "regex", "glob")


def pattern_of(node: Node) -> tuple[Optional[Param], str]:
    """The pattern of `api:case` (`value`, compared as `match=`) or `api:match` (`pattern`, compared as
    `type=`) and how it is compared (exact, regex, glob; lower-case as written)."""
    if isinstance(node, Match):
        return node.param("pattern"), (node.value("type") or "exact").strip().lower()
    return node.param("value"), (node.value("match") or "exact").strip().lower()


def pattern_is_template(text: str, kind: str) -> bool:
    """Whether a pattern is evaluated as a template before it is compared.

    An exact pattern always is. A regex or glob pattern with a raw `[` is a pattern as written: its
    `[...]` are character classes (the api:match page's example `[-+]?[0-9]*.?[0-9]*`), not references.
    One whose brackets are all escaped (`\\[0-9\\]`, the spelling of older editions of the same page) is a
    template, so its escapes become the brackets of the pattern."""
    if kind not in ("regex", "glob"):
        return True
    return "[" not in text.replace("\\[", "")


@dataclass(frozen=True, slots=True, eq=False)
class Column:
    """An `attr` of `api:info`: one output column.

    `type` is `xs:type` as written (None when absent); `xpath` is `other:xPath`; `value_format` is
    `other:valueFormat` (e.g. "aggregate"); `params` holds every attribute, `other:*` included.
    """

    name: str
    loc: Loc
    type: Optional[str] = None
    key: bool = False
    readonly: bool = False
    columnsize: Optional[str] = None
    desc: Optional[str] = None
    xpath: Optional[str] = None
    value_format: Optional[str] = None
    params: Mapping[str, Param] = field(default_factory=lambda: EMPTY)

    def param(self, name: str) -> Optional[Param]:
        return _params_get(self.params, name)


@dataclass(frozen=True, slots=True, eq=False)
class Input:
    """An `input` of `api:info`: a script input (pseudo column), read as `[_input.name]`."""

    name: str
    loc: Loc
    type: Optional[str] = None
    default: Optional[str] = None  # `def` or `default`
    required: bool = False  # `req` or `required`
    values: Optional[tuple[str, ...]] = None  # `values="a,b,c"`
    desc: Optional[str] = None
    params: Mapping[str, Param] = field(default_factory=lambda: EMPTY)

    def param(self, name: str) -> Optional[Param]:
        return _params_get(self.params, name)


@dataclass(frozen=True, slots=True, eq=False)
class Output:
    """An `output` of `api:info` (stored-procedure output parameter)."""

    name: str
    loc: Loc
    params: Mapping[str, Param] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True, slots=True, eq=False)
class Info:
    """`api:info`: title, description, columns, inputs, outputs and every attribute (`other:*` too)."""

    loc: Loc
    title: Optional[str] = None
    desc: Optional[str] = None
    columns: tuple[Column, ...] = ()
    inputs: tuple[Input, ...] = ()
    outputs: tuple[Output, ...] = ()
    params: Mapping[str, Param] = field(default_factory=lambda: EMPTY)

    def param(self, name: str) -> Optional[Param]:
        return _params_get(self.params, name)


@dataclass(frozen=True, slots=True, eq=False)
class Method:
    """`<api:script method="GET">`: the statements of one HTTP method."""

    name: str  # upper-case: GET, POST, PUT, MERGE, PATCH, DELETE
    loc: Loc
    body: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Profile:
    """One `.rsd` file.

    `statements` are the global statements (run before the method block, in document order; `api:info`
    is not among them). `diagnostics` are what the reader found (lenient repairs are not reported;
    unknown keywords and XML beyond repair are).
    """

    path: str
    loc: Loc
    info: Optional[Info] = None
    statements: tuple[Node, ...] = ()
    methods: tuple[Method, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    source: str = field(default="", repr=False)

    def method(self, name: str) -> Optional[Method]:
        name = name.upper()
        for m in self.methods:
            if m.name == name:
                return m
        return None

    @property
    def title(self) -> str:
        """The table name: `api:info@title`, else the file name without `.rsd`."""
        if self.info is not None and self.info.title:
            return self.info.title
        base = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return base[:-4] if base.lower().endswith(".rsd") else base
