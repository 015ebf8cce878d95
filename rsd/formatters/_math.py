"""Math formatters: the complete list of CData's Math Formatters page (docs/reference/rsd-format.md §7.1).

Inputs and arguments are numbers or booleans (true/false, yes/no, 1/0). Results are ints when integral.
Defaults the docs give: `add` 1, `div`/`divide` 2; our choices where they are silent: `subtract` 1,
`multiply` 2, `pow` 2, `round` 0 digits (half away from zero), `rand()` below 2**31-1.
"""
from __future__ import annotations

from typing import Any, Callable, Union

Number = Union[int, float]

import math
import operator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ._registry import FormatterContext, register
from ._values import FormatterError, number_result, to_bool, to_int, to_number


def _divide(a: Number, b: Number) -> Number:
    if b == 0:
        raise ZeroDivisionError
    if type(a) is int and type(b) is int and a % b == 0:
        return a // b
    return a / b


def _modulus(a: Number, b: Number) -> Number:
    """Remainder with the sign of the dividend (.NET `%`), not Python's floored modulo."""
    if b == 0:
        raise ZeroDivisionError
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _power(a: Number, b: Number) -> Number:
    if type(a) is int and type(b) is int and b >= 0:
        if b > 10000:
            raise OverflowError
        return int(a**b)
    return math.pow(a, b)


def _binary(names: str, op: Callable[[Number, Number], Number], default: Number | None, signature: str,
            doc: str) -> None:
    fname = names.split()[0]
    lo = 0 if default is not None else 1

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        a = to_number(value, fname)
        # without an argument the default (the registry accepts no call without one where there is none)
        b = to_number(args[0], fname, "argument") if args or default is None else default
        try:
            return number_result(op(a, b))
        except ZeroDivisionError:
            raise FormatterError(f"{fname}: division of {a} by zero") from None
        except (OverflowError, ValueError):
            raise FormatterError(f"{fname}: {a} and {b} give no finite number") from None

    register(names, args=(lo, 1), doc=doc, category="math", signature=signature)(apply)


_binary("add mathadd", operator.add, 1, "add([value])", "Adds value (default 1) to the input.")
_binary("subtract mathsub", operator.sub, 1, "subtract([value])", "Subtracts value (default 1) from the input.")
_binary("multiply", operator.mul, 2, "multiply([value])", "Multiplies the input by value (default 2).")
_binary("div divide", _divide, 2, "div([value])", "Divides the input by value (default 2).")
_binary("mathmod modulus", _modulus, None, "mathmod(value)",
        "Remainder of the input divided by value (sign of the input).")
_binary("pow mathpow", _power, 2, "pow([value])", "The input raised to the power value (default 2).")


def _unary(names: str, op: Callable[[Number], Number], doc: str) -> None:
    fname = names.split()[0]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        a = to_number(value, fname)
        try:
            return number_result(op(a))
        except (ValueError, OverflowError):
            raise FormatterError(f"{fname}: no result for {a}") from None

    register(names, args=(0, 0), doc=doc, category="math", signature=f"{fname}()")(apply)


_unary("abs", abs, "Absolute value of the input.")
_unary("ceiling", math.ceil, "Smallest integer not below the input.")
_unary("floor", math.floor, "Largest integer not above the input.")
_unary("sqrt", math.sqrt, "Square root of the input.")


@register("round mathround", args=(0, 1), category="math", signature="round([digits])",
          doc="Rounds the input to digits decimal places (default 0), halves away from zero.")
def _round(value: object, args: list[Any], ctx: FormatterContext) -> object:
    a = to_number(value, "round")
    digits = to_int(args[0], "round", "number of digits") if args else 0
    if type(a) is int and digits >= 0:
        return a
    try:
        d = Decimal(repr(a) if type(a) is float else a).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    except InvalidOperation:
        raise FormatterError(f"round: cannot round {a} to {digits} digits") from None
    return number_result(int(d) if d == d.to_integral_value() else float(d))


@register("rand random", args=(0, 1), category="math", signature="rand([max])",
          doc="A random integer from 0 up to (not including) max (default 2147483647); the input is ignored.")
def _rand(value: object, args: list[Any], ctx: FormatterContext) -> object:
    top = to_int(args[0], "rand", "maximum") if args else 2**31 - 1
    if top <= 0:
        raise FormatterError(f"rand: the maximum must be positive, not {top}")
    return ctx.rng.randrange(top)


def _logical(names: str, op: Callable[[bool, bool], bool], doc: str) -> None:
    fname = names.split()[0]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        result = op(to_bool(value, fname), to_bool(args[0], fname, "argument"))
        return "true" if result else "false"

    register(names, args=(1, 1), doc=doc, category="math", signature=f"{fname}(value)")(apply)


_logical("and", operator.and_, "true when both the input and value are true (booleans or numbers).")
_logical("or", operator.or_, "true when the input or value is true (booleans or numbers).")


def _comparison(names: str, op: Callable[[Number, Number], bool], word: str) -> None:
    fname = names.split()[0]
    sig = f"{fname}(value[, if{word}][, ifnot{word}])"

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        a = to_number(value, fname)
        b = to_number(args[0], fname, "argument")
        hit = op(a, b)
        if hit:
            return args[1] if len(args) > 1 else "true"
        return args[2] if len(args) > 2 else "false"

    register(names, args=(1, 3), category="math", signature=sig,
             doc=f"Numeric test: if{word} (default true) when the input is {word} than value, else ifnot{word} "
                 f"(default false)."
             if word != "equal" else "Numeric test: ifequal (default true) when the input equals value, else "
                                     "ifnotequal (default false).",
             )(apply)


_comparison("greaterthan isgreater", operator.gt, "greater")
_comparison("lessthan isless", operator.lt, "less")
_comparison("isequal", operator.eq, "equal")


@register("isbetween", args=(2, 4), category="math", signature="isbetween(low, high[, ifbetween][, ifnotbetween])",
          doc="Numeric test: ifbetween (default true) when low <= input <= high, else ifnotbetween (default false).")
def _isbetween(value: object, args: list[Any], ctx: FormatterContext) -> object:
    a = to_number(value, "isbetween")
    low = to_number(args[0], "isbetween", "low bound")
    high = to_number(args[1], "isbetween", "high bound")
    if low <= a <= high:
        return args[2] if len(args) > 2 else "true"
    return args[3] if len(args) > 3 else "false"
