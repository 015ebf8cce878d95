"""Arrow record batches: the columnar form of a page of rows, for the sinks that want it (Parquet, DuckDB) and
for the Spark data source.

Owns: the `xs:type` -> Arrow type map (`ARROW_TYPES`, keyed by the canonical types of `rsd.mapping.types`), the
schema of a profile's columns (`arrow_schema`), turning a page of typed row tuples into a `pyarrow.RecordBatch`
(`BatchBuilder`), and the seam between the runner and a sink (`page_writer`: a sink whose class sets
`takes_arrow = True` gets batches, every other sink gets the rows as they are). Must not: coerce values (rows
arrive typed by `xs:type`; this only changes their layout), know a file format or a database, or import pyarrow
before a batch is needed (the base install has no pyarrow: `pip install 'rsd-profiles[parquet]'`).

A page is turned into columns with `zip(*rows)` and each column into an Arrow array by pyarrow's own converter, so
strings, integers, doubles and booleans cost no Python work per value. Dates are ISO text cast by Arrow's parser.
Datetimes are `timestamp[us, tz=UTC]`, as PostgreSQL's `timestamptz`: a value with an offset is that instant; a value
without one is read as UTC. Arrow's parser takes the common case (every value with an offset, at most 6 fractional
digits) for the whole column at once; only a page that has a naive value or a 7-digit fraction is parsed value by
value.
"""
from __future__ import annotations

from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from ..errors import OptionError
from ..mapping.types import Row
from .columns import SinkColumn

if TYPE_CHECKING:
    import pyarrow as pa

    from .base import Sink

#: canonical type -> Arrow type, as `pyarrow` spells its factory (see `arrow_type`)
ARROW_TYPES: dict[str, str] = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "bool_",
    "date": "date32",
    "datetime": "timestamp[us, tz=UTC]",
}


def import_pyarrow() -> ModuleType:
    """pyarrow, or an `OptionError` (exit 2) that says which extra installs it."""
    try:
        import pyarrow
    except ImportError as exc:
        raise OptionError("Parquet and DuckDB targets need pyarrow, which is not installed",
                          hint="pip install 'rsd-profiles[parquet]' (or 'rsd-profiles[duckdb]')") from exc
    module: ModuleType = pyarrow  # untyped (see pyproject.toml): its attributes are Any
    return module


def arrow_type(canonical: str) -> "pa.DataType":
    pa = import_pyarrow()
    if canonical == "datetime":
        return pa.timestamp("us", tz="UTC")
    return getattr(pa, ARROW_TYPES[canonical])()


def arrow_schema(columns: Sequence[SinkColumn]) -> "pa.Schema":
    """The Arrow schema of the output columns, in order (field names as the profile writes them)."""
    pa = import_pyarrow()
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in columns])


class BatchBuilder:
    """Callable: a list of typed row tuples -> a `pyarrow.RecordBatch` of `columns`' schema."""

    def __init__(self, columns: Sequence[SinkColumn]):
        self.pa = import_pyarrow()
        self.columns = tuple(columns)
        self.schema = arrow_schema(self.columns)
        self._build = tuple(self._builder(c) for c in self.columns)

    def __call__(self, rows: Sequence[Row]) -> "pa.RecordBatch":
        pa = self.pa
        if not rows:
            return pa.RecordBatch.from_pylist([], schema=self.schema)
        columns = list(zip(*rows))
        return pa.RecordBatch.from_arrays([build(col) for build, col in zip(self._build, columns)],
                                          schema=self.schema)

    def _builder(self, column: SinkColumn) -> Callable[[Sequence[Any]], "pa.Array"]:
        pa = self.pa
        kind = column.type
        if kind == "date":
            as_text, date32 = pa.string(), pa.date32()
            return lambda values: pa.array(values, type=as_text).cast(date32)
        if kind == "datetime":
            return self._datetimes
        typ = arrow_type(kind)
        return lambda values: pa.array(values, type=typ)

    def _datetimes(self, values: Sequence[Any]) -> "pa.Array":
        pa = self.pa
        typ = arrow_type("datetime")
        try:
            return pa.array(values, type=pa.string()).cast(typ)
        except pa.ArrowInvalid:  # a naive value or a 7-digit fraction somewhere in this page
            return pa.array([None if v is None else _instant(v) for v in values], type=typ)


def _instant(text: str) -> datetime:
    """ISO 8601 text (as `rsd.mapping.types.to_datetime` gives it) -> an aware datetime; naive is UTC."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


class TakesArrow:
    """Mixin of the sinks that take Arrow batches: `takes_arrow` for the runner's seam (`page_writer`), and
    `as_batch` so that a direct `sink.write(list_of_rows)` (library users, tests) works too."""

    takes_arrow = True
    columns: tuple[SinkColumn, ...]
    _batch_builder: Optional[BatchBuilder] = None

    def as_batch(self, data: "pa.RecordBatch | Iterable[Row]") -> "pa.RecordBatch":
        pa = import_pyarrow()
        if isinstance(data, pa.RecordBatch):
            return data
        builder = self._batch_builder
        if builder is None:
            builder = self._batch_builder = BatchBuilder(self.columns)
        return builder(list(data))


def page_writer(sink: "Sink") -> Callable[[list[Row]], int]:
    """What the runner calls with each page of rows: `sink.write` itself, or, for a sink that takes Arrow
    batches (`takes_arrow`), `sink.write` of the page as one `RecordBatch`."""
    if not getattr(sink, "takes_arrow", False):
        return sink.write
    build = BatchBuilder(sink.columns)
    write = sink.write
    return lambda rows: write(build(rows))
