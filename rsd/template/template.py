"""`Template`: a compiled parameter value, rendered many times against scopes.

Owns: the `Template` object and `compile_template` (cached). Must not: parse (compiler.py) or know
how items are stored.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Optional

from rsd.formatters import FormatterContext

from rsd.errors import Loc
from rsd.formatters import DEFAULT_CONTEXT, to_text

from .compiler import _Problem, located, parse_cached
from .evaluate import Scope, build_parts
from .nodes import Expr, NameHead, Part, Text, unparse, walk_exprs


class Template:
    """A compiled template.

    - `render(scope, ctx=DEFAULT_CONTEXT) -> str` and `evaluate(scope, ctx=...) -> object` are plain
      functions stored on the instance (no method lookup on the hot path). A template that is exactly
      one expression `[x | f]` evaluates to the value unchanged (an int, None for a missing attribute);
      any other template evaluates to its text. A scope is anything with `resolve(name) -> object|None`.
    - `is_literal`: nothing to evaluate; `references`: reference names as written (`_input.[name]`, and
      each nested one, `name`), without duplicates; `formatter_calls`: `(name, argument count, offset)`.
    - `str(t)` is the compiled text; `t.canonical()` prints the tree in canonical form.
    """

    __slots__ = ("source", "raw", "parts", "is_literal", "references", "formatter_calls", "render", "evaluate")

    source: str
    raw: bool
    parts: tuple[Part, ...]
    is_literal: bool
    references: tuple[str, ...]
    formatter_calls: tuple[tuple[str, int, int], ...]
    render: Callable[..., str]
    evaluate: Callable[..., object]

    def __init__(self, source: str, parts: tuple[Part, ...], *, raw: bool = False):
        self.source = source
        self.raw = raw
        self.parts = parts
        exprs = list(walk_exprs(parts))
        self.is_literal = not exprs
        refs: dict[str, None] = {}
        calls: list[tuple[str, int, int]] = []
        for e in exprs:
            if type(e.head) is NameHead:
                refs.setdefault(e.head.source, None)
            for p in e.pipes:
                calls.append((p.name, len(p.args), p.offset))
        self.references = tuple(refs)
        self.formatter_calls = tuple(sorted(calls, key=lambda c: c[2]))
        self.render, self.evaluate = _functions(parts)

    def canonical(self) -> str:
        """Canonical source: compiling it gives the same tree (raw templates: their text)."""
        return self.source if self.raw else unparse(self.parts)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"Template({self.source!r}{', raw=True' if self.raw else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and (self.source, self.raw) == (other.source, other.raw)

    def __hash__(self) -> int:
        return hash((self.source, self.raw))


def _functions(parts: tuple[Part, ...]) -> tuple[Callable[..., str], Callable[..., object]]:
    built = build_parts(parts)
    if isinstance(built, str):
        def constant(scope: Optional[Scope] = None, ctx: FormatterContext = DEFAULT_CONTEXT, _v: str = built) -> str:
            return _v
        return constant, constant
    first = parts[0] if len(parts) == 1 else None
    if isinstance(first, Expr):
        from .evaluate import build_expr
        expr = build_expr(first)

        def render_one(scope: Scope, ctx: FormatterContext = DEFAULT_CONTEXT) -> str:
            return to_text(expr(scope, ctx))

        def evaluate_one(scope: Scope, ctx: FormatterContext = DEFAULT_CONTEXT) -> object:
            return expr(scope, ctx)

        return render_one, evaluate_one
    render_parts = built

    def render(scope: Scope, ctx: FormatterContext = DEFAULT_CONTEXT) -> str:
        return to_text(render_parts(scope, ctx))

    return render, render


@lru_cache(maxsize=8192)
def _compile(text: str, raw: bool) -> Template:
    if raw:
        return Template(text, (Text(text),) if text else (), raw=True)
    return Template(text, parse_cached(text))


def compile_template(text: str, loc: Optional[Loc] = None, *, raw: bool = False) -> Template:
    """Compile a keyword parameter value. `raw=True` (api:setc) takes the text literally.

    Raises `TemplateSyntaxError` (with `.offset`, 0-based, and `.loc`) and nothing else, whatever the text.
    """
    if not isinstance(text, str):
        text = to_text(text)
    try:
        return _compile(text, raw)
    except _Problem as problem:
        raise located(problem, text, loc) from None
