"""Date formatters (docs/reference/rsd-format.md §7.3): now, date, todate, dateadd, compare, and date parts.

Input dates are read as ISO 8601 (also `Z`, date only, basic `20240131`), RFC 1123 (`Tue, 30 Jan 2024
10:00:00 GMT`), US `MM/dd/yyyy[ HH:mm[:ss]]`, or with an explicit .NET input format. Without an output
format a date is printed in ISO 8601 (date only when the input was a date only). The clock is the
context's (`ctx.now()`), so tests fix it.
"""
from __future__ import annotations

from typing import Any

import calendar
from datetime import date, datetime, timedelta

from ._datefmt import parser, printer
from ._registry import FormatterContext, register
from ._values import FormatterError, to_int, to_text

NOW_FORMAT = "yyyy-MM-dd'T'HH:mm:sszzz"
_US_FORMATS = ("M/d/yyyy H:mm:ss", "M/d/yyyy H:mm", "M/d/yyyy", "M/d/yyyy h:mm:ss tt", "M/d/yyyy h:mm tt")


def read_date(value: object, fname: str, informat: str = "") -> tuple[datetime, bool]:
    """(datetime, date_only) from a formatter input; FormatterError when it is no date."""
    if isinstance(value, datetime):
        return value, False
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), True
    text = to_text(value).strip()
    if not text:
        raise FormatterError(f"{fname}: the input is not set (a date is needed)")
    if informat:
        try:
            return parser(informat)(text), False
        except (ValueError, OverflowError) as exc:
            raise FormatterError(f"{fname}: {exc}") from None
    try:
        dt = datetime.fromisoformat(text)
        return dt, len(text) <= 10 and "T" not in text and ":" not in text
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # on use (it costs start-up)

        return parsedate_to_datetime(text), False
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _US_FORMATS:
        try:
            return parser(fmt)(text), False
        except ValueError:
            continue
    raise FormatterError(f"{fname}: {text[:60]!r} is not a date (give an input format)")


def write_date(dt: datetime, fmt: str, date_only: bool = False) -> str:
    if fmt:
        return printer(fmt)(dt)
    return dt.date().isoformat() if date_only else dt.isoformat()


@register("now", args=(0, 1), category="date", signature="now([format])",
          doc="The current date and time (the input is ignored), default format yyyy-MM-dd'T'HH:mm:sszzz.")
def _now(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return printer(args[0] if args and args[0] else NOW_FORMAT)(ctx.now())


@register("date", args=(0, 1), category="date", signature="date([format])",
          doc="The input date (the current date and time when not set) in format (default ISO 8601).")
def _date(value: object, args: list[Any], ctx: FormatterContext) -> object:
    fmt = args[0] if args else ""
    if value is None or value == "":
        return printer(fmt or NOW_FORMAT)(ctx.now())
    dt, date_only = read_date(value, "date")
    return write_date(dt, fmt, date_only)


@register("todate", args=(1, 2), category="date", signature="todate(outformat[, informat])",
          doc="The input date, read with informat (default: ISO 8601 and common forms), printed with outformat.")
def _todate(value: object, args: list[Any], ctx: FormatterContext) -> object:
    dt, date_only = read_date(value, "todate", args[1] if len(args) > 1 else "")
    return write_date(dt, args[0], date_only)


def _add_months(dt: datetime, months: int) -> datetime:
    index = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(index, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return dt.replace(year=year, month=month + 1, day=day)


_INTERVALS: dict[str, tuple[str, float]] = {}
for _names, _unit in [
    ("year years yyyy yy y", ("months", 12)),
    ("quarter quarters qq q", ("months", 3)),
    ("month months mm m", ("months", 1)),
    ("week weeks wk ww w", ("seconds", 7 * 86400)),
    ("day days dd d dayofyear dy weekday dw", ("seconds", 86400)),
    ("hour hours hh h", ("seconds", 3600)),
    ("minute minutes mi n", ("seconds", 60)),
    ("second seconds ss s", ("seconds", 1)),
    ("millisecond milliseconds ms", ("seconds", 0.001)),
]:
    for _n in _names.split():
        _INTERVALS[_n] = _unit


@register("dateadd", args=(0, 4), category="date", signature="dateadd([interval][, n][, outformat][, informat])",
          doc="The input date plus n (default 1) intervals (year, quarter, month, week, day (default), hour, minute, "
              "second, millisecond).")
def _dateadd(value: object, args: list[Any], ctx: FormatterContext) -> object:
    interval = (args[0] if args and args[0] else "day").strip().lower()
    if interval not in _INTERVALS:
        raise FormatterError(f"dateadd: unknown interval {args[0]!r} (year, month, day, hour, minute, second...)")
    n = to_int(args[1], "dateadd", "number of intervals") if len(args) > 1 and args[1] != "" else 1
    dt, date_only = read_date(value, "dateadd", args[3] if len(args) > 3 else "")
    kind, size = _INTERVALS[interval]
    try:
        if kind == "months":
            dt = _add_months(dt, n * int(size))
        else:
            dt = dt + timedelta(seconds=n * size)
            date_only = date_only and size % 86400 == 0
    except (ValueError, OverflowError):
        raise FormatterError(f"dateadd: {n} {interval} from {to_text(value)!r} is out of range") from None
    return write_date(dt, args[2] if len(args) > 2 else "", date_only)


def _comparable(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.astimezone()


@register("compare", args=(0, 2), category="date", signature="compare([value][, informat])",
          doc="-1, 0 or 1 as the input date is before, equal to or after value (default: now).")
def _compare(value: object, args: list[Any], ctx: FormatterContext) -> object:
    informat = args[1] if len(args) > 1 else ""
    a, _ = read_date(value, "compare", informat)
    b = read_date(args[0], "compare", informat)[0] if args and args[0] else ctx.now()
    a, b = _comparable(a), _comparable(b)
    return (a > b) - (a < b)


def _part(name: str, attribute: str) -> None:
    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        dt = ctx.now() if value is None or value == "" else read_date(value, name, args[0] if args else "")[0]
        return getattr(dt, attribute)

    register(name, args=(0, 1), category="date", signature=f"{name}([informat])",
             doc=f"The {attribute} of the input date (of now when not set), as a number.")(apply)


for _name in ("year", "month", "day", "hour", "minute", "second"):
    _part(_name, _name)
