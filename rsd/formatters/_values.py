"""Value conversions shared by formatters and templates: text rendering, numbers, booleans.

Owns: how a Python value (str, int, float, bool, None, list) becomes template text, and how formatter
inputs and arguments are read as numbers or booleans. Must not: look up attributes.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from rsd.errors import RunError
from rsd.provenance import DATA_TYPES, Data, Spliced, splice
from rsd.truth import FALSE_WORDS, TRUE_WORDS


class FormatterError(RunError):
    """A formatter could not work on its input or arguments (e.g. `add` on `abc`). Exit 1."""


def to_text(value: object) -> str:
    """Render a value as template text: None -> "", bools -> true/false, integral floats without `.0`."""
    t = type(value)
    if t is str or t is Data or t is Spliced:  # text from a response stays marked as such (rsd.provenance)
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is float:
        if value.is_integer():  # type: ignore[attr-defined]
            return str(int(value))  # type: ignore[call-overload]
        return repr(value)
    if isinstance(value, (list, tuple)):
        texts = [to_text(v) for v in value]
        if DATA_TYPES.isdisjoint(map(type, texts)):
            return ",".join(texts)
        return splice([p for i, t in enumerate(texts) for p in ((",", t) if i else (t,))])
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return str(value)


_INT = re.compile(r"[+-]?\d+\Z")


def to_number(value: object, fname: str, what: str = "input") -> int | float:
    """Read a formatter input or argument as a number; booleans (true/yes/1, false/no/0) count as 1/0."""
    t = type(value)
    if t is int:
        return value  # type: ignore[return-value]
    if t is bool:
        return 1 if value else 0
    if t is float:
        return value  # type: ignore[return-value]
    if isinstance(value, Decimal):
        return float(value)
    if t is str:
        s = value.strip()  # type: ignore[attr-defined]
        if _INT.match(s):
            try:
                return int(s)
            except ValueError:  # more digits than int() converts
                raise FormatterError(f"{fname}: the {what} is a number too long to use") from None
        low = s.lower()
        if low in ("true", "yes"):
            return 1
        if low in ("false", "no"):
            return 0
        if "_" not in s:
            try:
                f = float(s)
            except ValueError:
                f = math.nan
            if math.isfinite(f):
                return f
    if value is None:
        raise FormatterError(f"{fname}: the {what} is not set (a number is needed)")
    raise FormatterError(f"{fname}: the {what} {to_text(value)!r} is not a number")


def to_bool(value: object, fname: str, what: str = "input") -> bool:
    """Read a value as a boolean: true/yes/1/on, false/no/0/off (any case), numbers (non-zero)."""
    if type(value) is bool:
        return value
    if type(value) in (int, float):
        return value != 0
    text = to_text(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text == "" or text in FALSE_WORDS:
        return False
    try:
        return float(text) != 0
    except ValueError:
        raise FormatterError(f"{fname}: the {what} {to_text(value)!r} is not a boolean") from None


def to_int(text: object, fname: str, what: str) -> int:
    """An integer argument (an index, a count, a number of digits)."""
    n = to_number(text, fname, what)
    if type(n) is float:
        if not n.is_integer():
            raise FormatterError(f"{fname}: the {what} {to_text(text)!r} is not a whole number")
        n = int(n)
    return n  # type: ignore[return-value]


def number_result(x: int | float) -> int | float:
    """A math result: integral values become ints; floats keep 15 significant digits, as .NET prints."""
    if type(x) is int:
        return x
    if not math.isfinite(x):
        return x
    x = float(f"{x:.15g}")
    if x.is_integer():
        return int(x)
    return x


def is_empty(value: object) -> bool:
    """Not set, or the empty string: what `def`, `empty` and `isnull` treat as missing."""
    return value is None or value == ""
