"""Turning a template tree into closures, once: the render-time code has no tree walking and no lark.

Owns: `build_parts` / `build_expr`. A built sequence is either a `str` (constant) or a function
`(scope, ctx) -> str`; a built expression is a function `(scope, ctx) -> object`. Formatter functions
are looked up once here (`rsd.formatters.bind`). Must not: parse, or know how items are stored —
it only calls `scope.resolve(name)`.
"""
from __future__ import annotations

from typing import Callable, Union

from rsd.errors import RsdError
from rsd.formatters import bind, to_text, unexpected

from .nodes import Arg, Expr, NameHead, Text

Built = Union[str, Callable]


def build_parts(parts: tuple) -> Built:
    """A constant string when nothing is evaluated, else a function rendering the parts to text."""
    items: list = []
    for p in parts:
        if type(p) is Text:
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

    def render(scope, ctx) -> str:
        return "".join([p if type(p) is str else to_text(p(scope, ctx)) for p in pieces])

    return render


def _build_name(head: NameHead) -> Built:
    items: list = []
    for p in head.parts:
        if type(p) is str:
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


def build_expr(expr: Expr) -> Callable:
    head = expr.head
    if type(head) is NameHead:
        name = _build_name(head)
        if type(name) is str:
            def start(scope, ctx, _n=name):
                return scope.resolve(_n)
        else:
            def start(scope, ctx, _f=name):
                return scope.resolve(_f(scope, ctx))
    else:
        literal = build_parts(head.parts)
        start = (lambda scope, ctx, _v=literal: _v) if type(literal) is str else literal

    steps = []
    for pipe in expr.pipes:
        func = bind(pipe.name, len(pipe.args))
        built = [_build_arg(a) for a in pipe.args]
        if all(type(b) is str for b in built):
            steps.append((func, list(built), None, pipe.name))
        else:
            steps.append((func, None, tuple(built), pipe.name))
    if not steps:
        return start
    steps_t = tuple(steps)

    if len(steps_t) == 1 and steps_t[0][2] is None:
        func, const_args, _, fname = steps_t[0]

        def one_step(scope, ctx):
            value = start(scope, ctx)
            try:
                return func(value, const_args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc

        return one_step

    def pipeline(scope, ctx):
        value = start(scope, ctx)
        for func, const_args, arg_funcs, fname in steps_t:
            if arg_funcs is None:
                args = const_args
            else:
                args = [a if type(a) is str else a(scope, ctx) for a in arg_funcs]
            try:
                value = func(value, args, ctx)
            except RsdError:
                raise
            except Exception as exc:
                raise unexpected(fname, value, exc) from exc
        return value

    return pipeline
