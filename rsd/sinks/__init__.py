"""Sinks: where rows go. Terminal table, CSV, JSON Lines, JSON, Parquet, SQLite, PostgreSQL and DuckDB; and run
history.

Owns: choosing a sink from `--output`/`--format`/`--table`/`--mode` (`open_sink`, reading the one table of
outputs in `registry.py`), every output format, loading
database tables through a staging table merged in one transaction, `_rsd_runs` (`record_run`), and write-back's
files (`rowfiles.py`: the input rows of `--from`, the errors file).
Must not: know the profile language (columns arrive as `SinkColumn`s, rows as typed tuples), coerce values,
or hold a whole result in memory (only the terminal table keeps its first rows).

    with open_sink("sqlite:///out.db", None, columns, table="accounts", mode="upsert") as sink:
        for page in pages:
            sink.write(page.rows)
    # leaving the block commits; an exception aborts and the previous table stays as it was
"""
from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any, Optional, Sequence, Union

from ..errors import OptionError
from .registry import DATABASES, FORMATS, MODES, Format, format_for_extension

__all__ = [
    "CANONICAL_TYPES", "DATABASES", "FORMATS", "MODES", "DatabaseSink", "Sink", "SinkColumn", "canonical_type",
    "open_sink", "page_writer", "record_run", "redact_url", "sink_columns",
]

# imported on first use: the command line reads FORMATS and MODES without loading a sink
_LAZY = {
    "Sink": ".base", "DatabaseSink": ".database", "record_run": ".runs", "parse_target": ".targets",
    "redact_url": ".targets", "CANONICAL_TYPES": ".columns", "SinkColumn": ".columns", "canonical_type": ".columns",
    "sink_columns": ".columns", "page_writer": ".arrow",
}


def __getattr__(name: str) -> Any:  # whatever the lazily imported module defines under that name
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from .base import Sink
    from .columns import AstColumn, SinkColumn


def _choose_format(fmt: Optional[str], path: Optional[str], stream: IO[str]) -> Format:
    if fmt:
        f = FORMATS.get(fmt.lower())
        if f is None:
            raise OptionError(f"invalid --format {fmt!r}: use one of {', '.join(FORMATS)}")
        return f
    if path is not None:
        return format_for_extension(path) or FORMATS["csv"]
    isatty = getattr(stream, "isatty", None)
    return FORMATS["table" if isatty is not None and isatty() else "csv"]


def open_sink(
    target: Optional[str],
    fmt: Optional[str],
    columns: Sequence[Union[SinkColumn, AstColumn]],
    *,
    table: str,
    mode: str = "truncate",
    stream: Optional[IO[str]] = None,
    base_dir: str = ".",
    max_table_rows: int = 100,
) -> Sink:
    """Open the sink for `--output target` (None or "-" = `stream`, default stdout; a file path; a database URL of
    `registry.DATABASES`). `fmt` is a name of `registry.FORMATS` (None: by file extension, else table on a
    terminal, csv otherwise; ignored for databases). `columns` are `SinkColumn`s or AST `Column`s. Raises
    `OptionError` for a bad table name, mode or URL, `SinkError` when the target cannot be opened or its table has
    other columns."""
    from .columns import sink_columns
    from .targets import DatabaseTarget, parse_target

    cols = sink_columns(columns)
    out = parse_target(target, base_dir)
    if mode is not None and mode.lower() not in MODES:
        raise OptionError(f"invalid --mode {mode!r}: use one of {', '.join(MODES)}")
    if isinstance(out, DatabaseTarget):
        return DATABASES[out.kind].load().open(out, cols, table=table, mode=mode)
    stream = stream if stream is not None else sys.stdout
    f = _choose_format(fmt, out.location, stream)
    sink_class = f.load()
    if f.binary:
        return sink_class(cols, out.location)
    from .files import Output
    output = Output(out.location, None if out.location else stream)
    if f.name == "table":
        return sink_class(cols, output, max_rows=max_table_rows)
    sink = sink_class(cols, output)
    sink.mode = (mode or "truncate").lower()  # read by incremental loads only (docs/targets.md)
    return sink
