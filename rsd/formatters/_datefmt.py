""".NET-style date format strings (`yyyy-MM-dd'T'HH:mm:ss.fffzzz`, standard `s`, `o`, `R`, ...).

Owns: turning a format string, once (cached), into a printer (datetime -> text) and a parser
(text -> datetime). Invariant culture: English month and day names, `:` and `/` literal.
Must not: know about formatters or attributes.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

#: prints one piece of a date format
Printer = Callable[[datetime], str]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Standard (one-letter) formats, expanded to custom ones as .NET's invariant culture does.
STANDARD = {
    "d": "MM/dd/yyyy",
    "D": "dddd, dd MMMM yyyy",
    "f": "dddd, dd MMMM yyyy HH:mm",
    "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm",
    "G": "MM/dd/yyyy HH:mm:ss",
    "m": "MMMM dd",
    "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
    "t": "HH:mm",
    "T": "HH:mm:ss",
    "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss",
    "y": "yyyy MMMM",
    "Y": "yyyy MMMM",
}
_UTC_STANDARD = frozenset("rRuU")  # printed in UTC

_TOKEN = re.compile(
    r"'[^']*'?|\"[^\"]*\"?|\\.|%|"
    r"y+|M+|d+|H+|h+|m+|s+|f+|F+|t+|z+|K|g+|.",
    re.DOTALL,
)

FILETIME = "file"  # Windows file time: 100 ns ticks since 1601-01-01 UTC
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=timezone.utc)


def _tokens(fmt: str) -> list[str]:
    if len(fmt) == 1 and fmt in STANDARD:
        fmt = STANDARD[fmt]
    return _TOKEN.findall(fmt)


def _offset(dt: datetime) -> timedelta:
    off = dt.utcoffset()
    if off is None:
        off = dt.astimezone().utcoffset() or timedelta(0)
    return off


def _zone(dt: datetime, width: int) -> str:
    total = int(_offset(dt).total_seconds() // 60)
    sign = "-" if total < 0 else "+"
    h, m = divmod(abs(total), 60)
    if width == 1:
        return f"{sign}{h}"
    if width == 2:
        return f"{sign}{h:02d}"
    return f"{sign}{h:02d}:{m:02d}"


def _fraction(n: int, trim: bool) -> Callable[[datetime], str]:
    def piece(dt: datetime) -> str:
        digits = f"{dt.microsecond:06d}0"[:n]
        return digits.rstrip("0") if trim else digits
    return piece


def _printer_piece(tok: str) -> Printer | str:
    c, n = tok[0], len(tok)
    if c in "'\"":
        return tok[1:-1] if n > 1 and tok[-1] == c else tok[1:]
    if c == "\\":
        return tok[1:]
    if c == "%":
        return ""
    if c == "y":
        if n == 1:
            return lambda dt: str(dt.year % 100)
        if n == 2:
            return lambda dt: f"{dt.year % 100:02d}"
        return lambda dt: f"{dt.year:0{n}d}"
    if c == "M":
        months: dict[int, Printer] = {1: lambda dt: str(dt.month), 2: lambda dt: f"{dt.month:02d}",
                                      3: lambda dt: _MONTHS[dt.month - 1][:3]}
        full_month: Printer = lambda dt: _MONTHS[dt.month - 1]  # noqa: E731
        return months.get(n, full_month)
    if c == "d":
        days: dict[int, Printer] = {1: lambda dt: str(dt.day), 2: lambda dt: f"{dt.day:02d}",
                                    3: lambda dt: _DAYS[dt.weekday()][:3]}
        full_day: Printer = lambda dt: _DAYS[dt.weekday()]  # noqa: E731
        return days.get(n, full_day)
    if c == "H":
        return (lambda dt: str(dt.hour)) if n == 1 else (lambda dt: f"{dt.hour:02d}")
    if c == "h":
        return (lambda dt: str((dt.hour + 11) % 12 + 1)) if n == 1 else (lambda dt: f"{(dt.hour + 11) % 12 + 1:02d}")
    if c == "m":
        return (lambda dt: str(dt.minute)) if n == 1 else (lambda dt: f"{dt.minute:02d}")
    if c == "s":
        return (lambda dt: str(dt.second)) if n == 1 else (lambda dt: f"{dt.second:02d}")
    if c in "fF":
        return _fraction(min(n, 7), c == "F")
    if c == "t":
        return (lambda dt: "A" if dt.hour < 12 else "P") if n == 1 else (lambda dt: "AM" if dt.hour < 12 else "PM")
    if c == "z":
        return lambda dt: _zone(dt, min(n, 3))
    if c == "K":
        return lambda dt: "" if dt.tzinfo is None else ("Z" if dt.utcoffset() == timedelta(0) else _zone(dt, 3))
    if c == "g":
        return lambda dt: "A.D."
    return tok


@lru_cache(maxsize=256)
def printer(fmt: str) -> Callable[[datetime], str]:
    """A function printing a datetime with the .NET format `fmt` (compiled once per format)."""
    if fmt.lower() == FILETIME:
        return lambda dt: str(_filetime(dt))
    pieces = [_printer_piece(t) for t in _tokens(fmt)]
    utc = len(fmt) == 1 and fmt in _UTC_STANDARD
    parts = tuple(pieces)

    def print_(dt: datetime) -> str:
        if utc:
            dt = dt.astimezone(timezone.utc)
        return "".join(p if isinstance(p, str) else p(dt) for p in parts)

    return print_


def _filetime(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.astimezone()
    delta = dt - _EPOCH_1601
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# ---------------------------------------------------------------- parsing with a format

_NAME_RX = {3: "[A-Za-z]{3}", 4: "[A-Za-z]+"}


def _parser_piece(tok: str, groups: set[str]) -> str:
    c, n = tok[0], len(tok)

    def group(name: str, rx: str) -> str:
        if name in groups:  # a field twice: only the first one counts
            return f"(?:{rx})"
        groups.add(name)
        return f"(?P<{name}>{rx})"

    if c in "'\"":
        return re.escape(tok[1:-1] if n > 1 and tok[-1] == c else tok[1:])
    if c == "\\":
        return re.escape(tok[1:])
    if c == "%":
        return ""
    if c == "y":
        return group("year2", r"\d{2}") if n <= 2 else group("year", r"\d{4}" if n == 4 else r"\d{%d,}" % max(n, 1))
    if c == "M":
        return group("month", r"\d{1,2}") if n <= 2 else group("monthname", _NAME_RX[min(n, 4)])
    if c == "d":
        return group("day", r"\d{1,2}") if n <= 2 else f"(?:{_NAME_RX[min(n, 4)]})"
    if c == "H":
        return group("hour", r"\d{1,2}")
    if c == "h":
        return group("hour12", r"\d{1,2}")
    if c == "m":
        return group("minute", r"\d{1,2}")
    if c == "s":
        return group("second", r"\d{1,2}")
    if c == "f":
        return group("fraction", r"\d{%d}" % n)
    if c == "F":
        return group("fraction", r"\d{0,%d}" % n)
    if c == "t":
        return group("ampm", "[AaPp][Mm]?")
    if c in "zK":
        return group("zone", r"Z|[+-]\d{1,2}(?::?\d{2})?")
    if c == "g":
        return r"(?:A\.?D\.?)?"
    if tok.isspace():
        return r"\s+"
    return re.escape(tok)


@lru_cache(maxsize=256)
def parser(fmt: str) -> Callable[[str], datetime]:
    """A function reading text in the .NET format `fmt`; raises ValueError when the text does not fit."""
    if fmt.lower() == FILETIME:
        return lambda text: _EPOCH_1601 + timedelta(microseconds=int(text.strip()) // 10)
    groups: set[str] = set()
    rx = re.compile("".join(_parser_piece(t, groups) for t in _tokens(fmt)) + r"\Z", re.IGNORECASE)
    utc = len(fmt) == 1 and fmt in _UTC_STANDARD

    def parse(text: str) -> datetime:
        m = rx.match(text.strip())
        if m is None:
            raise ValueError(f"{text!r} does not match the date format {fmt!r}")
        g = m.groupdict()
        if g.get("year"):
            year = int(g["year"])
        elif g.get("year2"):
            year = 2000 + int(g["year2"]) if int(g["year2"]) < 50 else 1900 + int(g["year2"])
        else:
            year = 1
        if g.get("monthname"):
            prefix = g["monthname"][:3].lower()
            months = [mn[:3].lower() for mn in _MONTHS]
            if prefix not in months:
                raise ValueError(f"{g['monthname']!r} is not a month")
            month = months.index(prefix) + 1
        else:
            month = int(g.get("month") or 1)
        hour = int(g.get("hour") or 0)
        if g.get("hour12"):
            hour = int(g["hour12"]) % 12
            if (g.get("ampm") or "a")[0].lower() == "p":
                hour += 12
        frac = (g.get("fraction") or "").ljust(6, "0")[:6]
        tz = None
        zone = g.get("zone")
        if zone:
            if zone.upper() == "Z":
                tz = timezone.utc
            else:
                sign = -1 if zone[0] == "-" else 1
                digits = zone[1:].replace(":", "")
                hh, mm = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
                tz = timezone(sign * timedelta(hours=hh, minutes=mm))
        elif utc:
            tz = timezone.utc
        return datetime(year, month, int(g.get("day") or 1), hour, int(g.get("minute") or 0),
                        int(g.get("second") or 0), int(frac), tzinfo=tz)

    return parse
