"""Column types: `xs:type` -> a canonical type and a converter per column, chosen once per profile.

Owns: `normalize_type`, `KNOWN_TYPES`/`TYPE_ALIASES` (for the checker), `WRITTEN_TYPES` (how a profile spells each
type), `coerce_value` and `compile_coercer` (docs/reference/contract.md §1 "Rows"). Must not: parse documents or
know about paths.

Canonical types and their Python values: string -> str, integer -> int, number -> float, boolean -> bool,
date -> "YYYY-MM-DD", datetime -> ISO 8601 text; a missing value is None. Aliases are case-insensitive;
an unknown or missing `xs:type` is a string. A value that cannot be converted raises `CoercionError`
(a `RunError`) by default: silently writing null would lose data. `on_error="keep"` passes it through
unchanged and `"null"` writes None; both count the failures on the coercer (`coercer.failures`).
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Optional, Protocol, Sequence

from ..errors import RunError
from ..rows import Row as Row  # re-exported for the mapping package; rsd/rows.py is its home
from ..truth import FALSE_WORDS, TRUE_WORDS


class ColumnLike(Protocol):
    """What a coercer reads of a column (`rsd.reader.ast.Column` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> Optional[str]: ...


CANONICAL_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime")

TYPE_ALIASES: dict[str, str] = {
    "string": "string", "str": "string", "text": "string", "varchar": "string", "char": "string",
    "int": "integer", "integer": "integer", "long": "integer", "short": "integer", "byte": "integer",
    "bigint": "integer", "smallint": "integer", "tinyint": "integer",
    "double": "number", "float": "number", "decimal": "number", "number": "number", "real": "number",
    "numeric": "number",
    "bool": "boolean", "boolean": "boolean",
    "date": "date",
    "datetime": "datetime", "timestamp": "datetime", "datetimeoffset": "datetime",
}
#: the spelling of each canonical type as a profile writes it (CData's documented names; `rsd init` writes these)
WRITTEN_TYPES: dict[str, str] = {"string": "string", "integer": "integer", "number": "double", "boolean": "boolean",
                                 "date": "date", "datetime": "datetime"}

# Spellings that map to a type on purpose; anything else (`strig`, `unknown`) degrades to string and is
# worth a checker warning.
KNOWN_TYPES: frozenset[str] = frozenset(TYPE_ALIASES)


def normalize_type(xs_type: Optional[str]) -> str:
    """`xs:type` as written -> one of CANONICAL_TYPES (unknown or missing -> "string")."""
    if not xs_type:
        return "string"
    name = xs_type.strip().lower()
    if name.startswith("xs:"):
        name = name[3:]
    return TYPE_ALIASES.get(name, "string")


class CoercionError(RunError):
    """A value that does not convert to its column's type. Carries the column, the value and the type so
    that the caller can add where it came from (request, page, row)."""

    def __init__(self, column: str, value: Any, type_name: str, written: Optional[str] = None, reason: str = ""):
        shown = _truncate(value)
        xs = f' (xs:type="{written}")' if written and written.strip().lower() != type_name else ""
        super().__init__(f"column {column!r}: cannot convert {shown} to {type_name}{xs}"
                         + (f": {reason}" if reason else ""))
        self.column = column
        self.value = value
        self.type_name = type_name


def _truncate(value: Any, limit: int = 50) -> str:
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class _Unconvertible(Exception):
    def __init__(self, reason: str = ""):
        self.reason = reason


def _json_number_text(v: Any) -> str:
    return json.dumps(v)


# --- string

def to_string(v: Any) -> Any:
    cls = v.__class__
    if cls is str or v is None:
        return v
    if cls is bool:
        return "true" if v else "false"
    if cls is int or cls is float:
        return _json_number_text(v)  # the number's JSON text: 3 -> "3", 1.5 -> "1.5"
    return str(v)


# --- integer

_INT_TEXT = re.compile(r"[+-]?\d+\Z")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def to_integer(v: Any) -> Any:
    cls = v.__class__
    if cls is int or v is None:
        return v
    if cls is str:
        if "_" not in v:  # int() would accept "1_000"
            try:
                return int(v)
            except ValueError:
                pass
        s = v.strip()
        if not s:
            return None
        if _NUMBER_TEXT.match(s):
            f = float(s)
            if f.is_integer():
                return int(f)
            raise _Unconvertible("it has a fractional part")
        raise _Unconvertible()
    if cls is bool:
        return int(v)
    if cls is float:
        if v.is_integer():
            return int(v)
        raise _Unconvertible("it has a fractional part")
    raise _Unconvertible()


# --- number

def to_number(v: Any) -> Any:
    cls = v.__class__
    if cls is float or v is None:
        return v
    if cls is int:
        return float(v)
    if cls is str:
        s = v.strip()
        if not s:
            return None
        if "_" not in s:  # float() would take "1_000"
            try:
                f = float(s)
                if f - f == 0.0:  # finite: "nan" and "inf" are no JSON numbers
                    return f
            except ValueError:
                pass
        raise _Unconvertible()
    if cls is bool:
        return 1.0 if v else 0.0
    raise _Unconvertible()


# --- boolean



def to_boolean(v: Any) -> Any:
    cls = v.__class__
    if cls is bool or v is None:
        return v
    if cls is int or cls is float:
        if v == 1:
            return True
        if v == 0:
            return False
        raise _Unconvertible("only 1 and 0 are booleans")
    if cls is str:
        s = v.strip().lower()
        if not s:
            return None
        if s in TRUE_WORDS:
            return True
        if s in FALSE_WORDS:
            return False
    raise _Unconvertible("expected true/false, 1/0 or yes/no")


# --- date and datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/\Z")
_MS_THRESHOLD = 100_000_000_000  # |epoch| above this is milliseconds (1e11 s would be the year 5138)


def _from_epoch(number: float) -> datetime:
    seconds = number / 1000 if abs(number) >= _MS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _Unconvertible("epoch value out of range") from None


def _parse_datetime(v: Any) -> datetime | date:
    cls = v.__class__
    if cls is bool:
        raise _Unconvertible()
    if cls is int or cls is float:
        return _from_epoch(v)
    if cls is not str:
        raise _Unconvertible()
    s = v.strip()
    try:
        if len(s) == 10 and s[4] == "-":
            return date.fromisoformat(s)
        return datetime.fromisoformat(s)
    except ValueError:
        pass
    m = _MS_DATE.match(s)
    if m:
        dt = _EPOCH + timedelta(milliseconds=int(m.group(1)))  # always milliseconds in this format
        if m.group(2):
            sign = 1 if m.group(2)[0] == "+" else -1
            offset = timedelta(hours=int(m.group(2)[1:3]), minutes=int(m.group(2)[3:5])) * sign
            dt = dt.astimezone(timezone(offset))
        return dt
    if _INT_TEXT.match(s) or (_NUMBER_TEXT.match(s) and "." in s):
        return _from_epoch(float(s) if "." in s else int(s))
    from email.utils import parsedate_to_datetime  # on use (it costs start-up)

    try:
        return parsedate_to_datetime(s)  # RFC 2822 / HTTP dates: "Tue, 02 Jan 2024 03:04:05 GMT"
    except (TypeError, ValueError, IndexError):
        raise _Unconvertible("expected ISO 8601, epoch seconds/milliseconds or /Date(ms)/") from None


def _iso(dt: datetime) -> str:
    text = dt.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


def _is_extended_iso(s: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SS...` (the shape; `fromisoformat` still validates the numbers)."""
    return len(s) >= 19 and s[4] == "-" and s[7] == "-" and s[10] == "T" and s[13] == ":" and s[16] == ":"


def to_datetime(v: Any) -> Any:
    if v is None:
        return None
    if v.__class__ is str:
        if len(v) >= 19 and v[10] == "T" and v[4] == "-" and v[7] == "-" and v[13] == ":" and v[16] == ":":
            # _is_extended_iso, inline: the common case costs one C call
            try:
                datetime.fromisoformat(v)
                return v  # valid ISO 8601 passes as written: its precision and offset are kept
            except ValueError:
                pass
        elif not v.strip():
            return None
    parsed = _parse_datetime(v)
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return _iso(parsed)


def to_date(v: Any) -> Any:
    if v is None:
        return None
    if v.__class__ is str:
        if len(v) >= 10 and v[4] == "-" and v[7] == "-":
            try:
                if len(v) == 10:
                    date.fromisoformat(v)
                else:
                    datetime.fromisoformat(v)
                return v[:10]  # the date as written: no time-zone conversion
            except ValueError:
                pass
        elif not v.strip():
            return None
    parsed = _parse_datetime(v)
    if isinstance(parsed, datetime):
        parsed = parsed.date()
    return parsed.isoformat()


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "string": to_string, "integer": to_integer, "number": to_number, "boolean": to_boolean,
    "date": to_date, "datetime": to_datetime,
}


def coerce_value(value: Any, xs_type: Optional[str], column: str = "value") -> Any:
    """Convert one value (raises `CoercionError`)."""
    type_name = normalize_type(xs_type)
    try:
        return CONVERTERS[type_name](value)
    except _Unconvertible as err:
        raise CoercionError(column, value, type_name, xs_type, err.reason) from None


class _NeverReady:
    """Date and datetime text is always checked: no value's class is this."""


_READY_CLASS = {"string": str, "integer": int, "number": float, "boolean": bool}

class TypedRows(list[Row]):
    """A page of rows already converted by the run's coercer (`Coercer.inline`, fused into the row mapping): the
    runner writes them without converting them again."""

    __slots__ = ()


class Coercer:
    """Callable row -> row applying each column's converter. `failures` counts values that did not
    convert when `on_error` is "keep" or "null"."""

    __slots__ = ("names", "types", "written", "on_error", "failures", "_convert", "_ready", "_rows")

    def __init__(self, columns: Sequence[ColumnLike], on_error: str = "raise"):
        if on_error not in ("raise", "keep", "null"):
            raise ValueError(f"on_error must be 'raise', 'keep' or 'null', not {on_error!r}")
        self.names = tuple(c.name for c in columns)
        self.types = tuple(normalize_type(c.type) for c in columns)
        self.written = tuple(c.type for c in columns)
        self.on_error = on_error
        self.failures = 0
        self._convert = tuple(CONVERTERS[t] for t in self.types)
        # a value whose class already is the column's Python type passes without a call
        self._ready = tuple(_READY_CLASS.get(t, _NeverReady) for t in self.types)
        self._rows = _compile_rows(self)

    def inline(self, i: int, value: str, env: dict[str, Any], convert: Optional[Callable[[Any], Any]] = None,
               otherwise: str = "") -> str:
        """Python source converting column `i`'s value, the expression `value`, as `self(row)` does, for generated
        code (`rows` here, the row mapping in models.py): a value already of the column's type passes with one class
        test, a date-time in ISO 8601 shape after one slice and one C call (`datetime.fromisoformat`: one it
        refuses raises ValueError, and the generated code's caller redoes the page the slow way); anything else,
        null included, calls the converter (`convert` instead of the column's own, e.g. one that also aggregates),
        which raises `_Unconvertible`; `otherwise` is source put before that call (`X if cond else `, for a case
        the caller handles inline). Names the expression needs are added to `env`; the value is `w<i>`."""
        v = f"w{i}"
        env[f"c{i}"] = convert if convert is not None else self._convert[i]
        kind = self.types[i]
        if kind == "datetime":
            env["_fromiso"] = datetime.fromisoformat  # the shape `to_datetime` keeps: `YYYY-MM-DDTHH:MM:SS...`
            return (f"({v} if ({v} := {value}).__class__ is str and {v}[4:17:3] == '--T::' and len({v}) > 18 "
                    f"and _fromiso({v}) else c{i}({v}))")
        ready = self._ready[i]
        if ready is _NeverReady:
            return f"c{i}({value})"
        env[f"t{i}"] = ready
        return f"({v} if ({v} := {value}).__class__ is t{i} else {otherwise}c{i}({v}))"

    def rows(self, rows: Sequence[Row]) -> list[Row]:
        """`[self(row) for row in rows]` as one generated list comprehension (no call per row or per value that is
        already of its column's type); a value that does not convert falls back to `self(row)`, row by row, so
        errors and `on_error` are exactly those of `__call__`."""
        try:
            return self._rows(rows)
        except (_Unconvertible, ValueError):  # ValueError: a row of another length (zip in __call__ cuts it)
            return [self(row) for row in rows]

    def __call__(self, row: Row) -> Row:
        try:
            return tuple([v if v.__class__ is ready else convert(v)
                          for convert, ready, v in zip(self._convert, self._ready, row)])
        except _Unconvertible:
            return self._one_by_one(row)  # rare: find the column, then raise or keep/null

    def _one_by_one(self, row: Row) -> Row:
        out: list[Any] = []
        for convert, v, name, type_name, xs in zip(self._convert, row, self.names, self.types, self.written):
            try:
                out.append(convert(v))
            except _Unconvertible as err:
                if self.on_error == "raise":
                    raise CoercionError(name, v, type_name, xs, err.reason) from None
                self.failures += 1
                out.append(v if self.on_error == "keep" else None)
        return tuple(out)


def _compile_rows(coercer: Coercer) -> Callable[[Sequence[Row]], list[Row]]:
    """Generated once per profile: `[(v0 if v0.__class__ is int or v0 is None else c0(v0), ...) for v0, ... in rows]`
    (`Coercer.inline`); date and date-time text is checked, not only typed."""
    env: dict[str, Any] = {}
    names = [f"v{i}" for i in range(len(coercer.types))]
    if not names:
        return lambda rows: [() for _ in rows]
    values = [coercer.inline(i, name, env) for i, name in enumerate(names)]
    source = f"def rows(rows):\n    return [({', '.join(values)},) for {', '.join(names)}, in rows]\n"
    exec(compile(source, "<rsd coercion>", "exec"), env)
    rows: Callable[[Sequence[Row]], list[Row]] = env["rows"]  # generated above
    return rows


def compile_coercer(columns: Sequence[ColumnLike], *, on_error: str = "raise") -> Coercer:
    """A row coercer for `columns` (anything with `.name` and `.type`, e.g. `rsd.reader.ast.Column`)."""
    return Coercer(columns, on_error)
