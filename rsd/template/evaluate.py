"""Turning a template tree into closures, once: the render-time code has no tree walking and no lark.

Owns: `build_parts` / `build_expr`. A built sequence is either a `str` (constant) or a function
`(scope, ctx) -> str`; a built expression is a function `(scope, ctx) -> object`. Formatter functions
are looked up once here (`rsd.formatters.bind`). Keeps provenance (`rsd.provenance`): text rendered from
response data keeps where the data is (`splice`), a formatter's result on data is data, and a nested reference
name in which data would choose the item (or a `_connection` option) resolves to nothing. Must not: parse, or
know how items are stored — it only calls `scope.resolve(name)`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Union

from rsd.errors import RsdError
from rsd.formatters import FormatterContext, bind, to_text, unexpected
from rsd.formatters._registry import FormatterFunc
from rsd.provenance import DATA_TYPES, data_chooses_item, mark, splice

from .nodes import Arg, Expr, NameHead, Part, Text


class Scope(Protocol):
    """What a template reads names from (`rsd.engine.items.Scope`)."""

    def resolve(self, name: str) -> object: ...


#: a built expression: `(scope, ctx) -> value`
Render = Callable[[Scope, FormatterContext], object]
#: a built sequence: constant text, or a function rendering it
Built = Union[str, Render]
# (the render-time closures test `type(p) is str` on tuples typed `Any`: the cheapest test, on the hot path)


def build_parts(parts: tuple[Part, ...]) -> Built:
    """A constant string when nothing is evaluated, else a function rendering the parts to text."""
    items: list[Any] = []
    for p in parts:
        if isinstance(p, Text):
            if items and type(items[-1]) is str:
                items[-1] += p.value
            else:
                items.append(p.value)
        else:
            items.append(build_expr(p))
    if not items:
        return ""
    if len(items) == 1:
        only = items[0]
        if type(only) is str:
            return only
        return lambda scope, ctx: to_text(only(scope, ctx))
    return _joined(tuple(items))


def _joined(pieces: tuple[Any, ...], exact: bool = False) -> Render:
    """A function rendering constant text and expressions into one text; where a value is response data, the
    result says where (`splice`; `exact` for reference names, which ask where exactly)."""
    if exact:
        def render_exact(scope: Scope, ctx: FormatterContext) -> str:
            return splice([p if type(p) is str else to_text(p(scope, ctx)) for p in pieces], exact=True)
        return render_exact
    if len(pieces) == 2:
        a, b = pieces
        if type(a) is str:
            def prefix(scope: Scope, ctx: FormatterContext) -> str:
                v = to_text(b(scope, ctx))
                return a + v if type(v) is str else splice((a, v))
            return prefix
        if type(b) is str:
            def suffix(scope: Scope, ctx: FormatterContext) -> str:
                v = to_text(a(scope, ctx))
                return v + b if type(v) is str else splice((v, b))
            return suffix

    def render(scope: Scope, ctx: FormatterContext) -> str:
        texts = [p if type(p) is str else to_text(p(scope, ctx)) for p in pieces]
        return "".join(texts) if DATA_TYPES.isdisjoint(map(type, texts)) else splice(texts)

    return render


def _build_name(head: NameHead) -> Built:
    items: list[Any] = []
    for p in head.parts:
        if isinstance(p, str):
            if items and type(items[-1]) is str:
                items[-1] += p
            else:
                items.append(p)
        else:
            items.append(build_expr(p))
    if len(items) == 1 and type(items[0]) is str:
        return items[0]
    if len(items) == 1:
        only = items[0]
        return lambda scope, ctx: to_text(only(scope, ctx))
    return _joined(tuple(items), exact=True)


def _build_arg(arg: Arg) -> Built:
    return build_parts(arg.parts)


def _constant(value: str) -> Render:
    return lambda scope, ctx: value


def build_expr(expr: Expr) -> Render:
    head = expr.head
    start: Render
    if isinstance(head, NameHead):
        name = _build_name(head)
        if isinstance(name, str):
            def start(scope: Scope, ctx: FormatterContext, _n: str = name) -> object:
                return scope.resolve(_n)
        else:
            def start(scope: Scope, ctx: FormatterContext, _f: Render = name) -> object:
                text = to_text(_f(scope, ctx))
                if type(text) is not str and data_chooses_item(text):
                    return None  # a response value does not choose the item (or an option) a name reaches
                return scope.resolve(text)
    else:
        literal = build_parts(head.parts)
        start = _constant(literal) if isinstance(literal, str) else literal

    steps: list[tuple[FormatterFunc, Optional[list[str]], Optional[tuple[Built, ...]], str]] = []
    for pipe in expr.pipes:
        func = bind(pipe.name, len(pipe.args))
        built = [_build_arg(a) for a in pipe.args]
        if all(isinstance(b, str) for b in built):
            steps.append((func, [b for b in built if isinstance(b, str)], None, pipe.name))
        else:
            steps.append((func, None, tuple(built), pipe.name))
    if not steps:
        return start
    steps_t = tuple(steps)

    if len(steps_t) == 1 and steps_t[0][2] is None:
        func, given, _, fname = steps_t[0]
        const_args: list[Any] = given or []

        def one_step(scope: Scope, ctx: FormatterContext) -> object:
            value = start(scope, ctx)
            if type(value) in DATA_TYPES:  # formatters get plain text; their result on data is data
                value = str.__str__(value)
                try:
                    out = func(value, const_args, ctx)
                except RsdError:
                    raise
                except Exception as exc:
                    raise unexpected(fname, value, exc) from exc
                return mark(out)
            try:
                return func(value, const_args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc

        return one_step

    def pipeline(scope: Scope, ctx: FormatterContext) -> object:
        value = start(scope, ctx)
        data = type(value) in DATA_TYPES
        if data:
            value = str.__str__(value)
        for func, const_args, arg_funcs, fname in steps_t:
            args: list[Any]
            if arg_funcs is None:
                args = const_args or []
            else:
                args = [a if isinstance(a, str) else a(scope, ctx) for a in arg_funcs]
                if not DATA_TYPES.isdisjoint(map(type, args)):
                    data = True
                    args = [str.__str__(a) if type(a) in DATA_TYPES else a for a in args]
            try:
                value = func(value, args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc
        return mark(value) if data else value

    return pipeline
