"""Turning a template tree into closures, once: the render-time code has no tree walking and no lark.

Owns: `build_parts` / `build_expr`. A built sequence is either a `str` (constant) or a function
`(scope, ctx) -> str`; a built expression is a function `(scope, ctx) -> object`. Formatter functions
are looked up once here (`rsd.formatters.bind`). Must not: parse, or know how items are stored —
it only calls `scope.resolve(name)`.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Union

from rsd.errors import RsdError
from rsd.formatters import FormatterContext, bind, to_text, unexpected
from rsd.formatters._registry import FormatterFunc

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
    pieces = tuple(items)
    if len(pieces) == 2:
        a, b = pieces
        if type(a) is str:
            return lambda scope, ctx: a + to_text(b(scope, ctx))
        if type(b) is str:
            return lambda scope, ctx: to_text(a(scope, ctx)) + b

    def render(scope: Scope, ctx: FormatterContext) -> str:
        return "".join([p if type(p) is str else to_text(p(scope, ctx)) for p in pieces])

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
    pieces = tuple(items)
    return lambda scope, ctx: "".join([p if type(p) is str else to_text(p(scope, ctx)) for p in pieces])


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
                return scope.resolve(to_text(_f(scope, ctx)))
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
            try:
                return func(value, const_args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc

        return one_step

    def pipeline(scope: Scope, ctx: FormatterContext) -> object:
        value = start(scope, ctx)
        for func, const_args, arg_funcs, fname in steps_t:
            args: list[Any]
            if arg_funcs is None:
                args = const_args or []
            else:
                args = [a if isinstance(a, str) else a(scope, ctx) for a in arg_funcs]
            try:
                value = func(value, args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc
        return value

    return pipeline
