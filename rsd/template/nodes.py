"""The template tree: what `compile_template` makes of a parameter value, and how it prints back.

Owns: the immutable node types (`Text`, `Expr`, `NameHead`, `LiteralHead`, `Pipe`, `Arg`), printing them
in canonical form (`unparse`), and walking them for references and formatter calls. Must not: parse
(compiler.py) or evaluate (evaluate.py).

Canonical printing escapes every literal bracket (`\\[`), quotes every quoted argument with `'`, and
writes ` | ` between formatters; compiling the canonical text gives the same tree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Union


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text (escapes already resolved)."""

    value: str


@dataclass(frozen=True, slots=True)
class NameHead:
    """A reference: name pieces and nested expressions, concatenated at run time (`_input.[name]`)."""

    parts: tuple[Union[str, "Expr"], ...]
    source: str  # as written, for `Template.references`


@dataclass(frozen=True, slots=True)
class LiteralHead:
    """A quoted literal in head position: `['abc' | toupper]`; its text is a template itself."""

    parts: tuple[Union[Text, "Expr"], ...]


@dataclass(frozen=True, slots=True)
class Arg:
    """A formatter argument: a quoted template (`'[x]-y'`) or unquoted text and expressions (`[n]0`)."""

    parts: tuple[Union[Text, "Expr"], ...]
    quoted: bool


@dataclass(frozen=True, slots=True)
class Pipe:
    """One formatter call; `offset` is the 0-based position of its name in the compiled text."""

    name: str
    args: tuple[Arg, ...]
    parens: bool
    offset: int


@dataclass(frozen=True, slots=True)
class Expr:
    """`[head | pipe | pipe]`."""

    head: Union[NameHead, LiteralHead]
    pipes: tuple[Pipe, ...]
    offset: int
    depth: int  # 1 + the deepest nested expression
    end: int  # offset just past the closing `]`


Part = Union[Text, Expr]


# ---------------------------------------------------------------- printing

_BRACKET = re.compile(r"(\\*)([\[\]])")
_TRAILING_BACKSLASHES = re.compile(r"(\\+)\Z")


def escape_text(text: str, before_bracket: bool) -> str:
    """Literal text as template source: brackets escaped, backslashes before a bracket doubled."""
    out = _BRACKET.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)
    if before_bracket:
        out = _TRAILING_BACKSLASHES.sub(lambda m: m.group(1) * 2, out)
    return out


def quote(template_source: str, q: str = "'") -> str:
    """A template's source as a quoted argument: the quote escaped, backslashes before it doubled."""
    rx = re.compile(r"(\\*)" + re.escape(q))
    out = rx.sub(lambda m: m.group(1) * 2 + "\\" + q, template_source)
    out = _TRAILING_BACKSLASHES.sub(lambda m: m.group(1) * 2, out)
    return q + out + q


def unparse(parts: tuple[Part, ...]) -> str:
    """Canonical template source of a sequence of parts."""
    out = []
    for i, p in enumerate(parts):
        if isinstance(p, Text):
            nxt = parts[i + 1] if i + 1 < len(parts) else None
            out.append(escape_text(p.value, type(nxt) is Expr))
        else:
            out.append(unparse_expr(p))
    return "".join(out)


def unparse_head(head: Union[NameHead, LiteralHead]) -> str:
    if isinstance(head, LiteralHead):
        return quote(unparse(head.parts))
    return "".join(p if isinstance(p, str) else unparse_expr(p) for p in head.parts)


def unparse_arg(arg: Arg) -> str:
    if arg.quoted:
        return quote(unparse(arg.parts))
    return "".join(p.value if isinstance(p, Text) else unparse_expr(p) for p in arg.parts)


def unparse_expr(expr: Expr) -> str:
    out = ["[", unparse_head(expr.head)]
    for pipe in expr.pipes:
        out.append(" | ")
        out.append(pipe.name)
        if pipe.parens:
            out.append("(" + ", ".join(unparse_arg(a) for a in pipe.args) + ")")
    out.append("]")
    return "".join(out)


# ---------------------------------------------------------------- walking

def walk_exprs(parts: tuple[Part, ...]) -> Iterator[Expr]:
    """Every expression, outer before inner, in source order."""
    for p in parts:
        if type(p) is Expr:
            yield from _walk_expr(p)


def _walk_expr(expr: Expr) -> Iterator[Expr]:
    yield expr
    head = expr.head
    if isinstance(head, NameHead):
        for p in head.parts:
            if isinstance(p, Expr):
                yield from _walk_expr(p)
    else:
        yield from walk_exprs(head.parts)
    for pipe in expr.pipes:
        for arg in pipe.args:
            yield from walk_exprs(arg.parts)
