"""Sinks: where rows go. Terminal table, CSV, JSON Lines, JSON, SQLite and PostgreSQL; and run history.

Owns: choosing a sink from `--output`/`--format`/`--table`/`--mode` (`open_sink`), every output format, loading
database tables through a staging table merged in one transaction, and `_rsd_runs` (`record_run`).
Must not: know the profile language (columns arrive as `SinkColumn`s, rows as typed tuples), coerce values,
or hold a whole result in memory (only the terminal table keeps its first rows).

    with open_sink("sqlite:///out.db", None, columns, table="accounts", mode="upsert") as sink:
        for page in pages:
            sink.write(page.rows)
    # leaving the block commits; an exception aborts and the previous table stays as it was
"""
from __future__ import annotations

import os
import sys
from typing import IO, Optional, Sequence

from ..errors import OptionError
from .base import Sink
from .columns import CANONICAL_TYPES, SinkColumn, canonical_type, sink_columns
from .database import MODES, DatabaseSink
from .runs import record_run
from .targets import parse_target, redact_url

FORMATS = ("table", "csv", "jsonl", "json")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".txt": "table"}

__all__ = [
    "CANONICAL_TYPES", "FORMATS", "MODES", "DatabaseSink", "Sink", "SinkColumn", "canonical_type", "open_sink",
    "record_run", "redact_url", "sink_columns",
]


def _choose_format(fmt: Optional[str], path: Optional[str], stream: IO[str]) -> str:
    if fmt:
        f = fmt.lower()
        if f not in FORMATS:
            raise OptionError(f"invalid --format {fmt!r}: use one of {', '.join(FORMATS)}")
        return f
    if path is not None:
        return _EXTENSIONS.get(os.path.splitext(path)[1].lower(), "csv")
    isatty = getattr(stream, "isatty", None)
    return "table" if isatty is not None and isatty() else "csv"


def open_sink(
    target: Optional[str],
    fmt: Optional[str],
    columns: Sequence,
    *,
    table: str,
    mode: str = "truncate",
    stream: Optional[IO[str]] = None,
    base_dir: str = ".",
    max_table_rows: int = 100,
) -> Sink:
    """Open the sink for `--output target` (None or "-" = `stream`, default stdout; a file path; `sqlite:///`,
    `postgresql://`). `fmt` is table|csv|jsonl|json (None: by file extension, else table on a terminal, csv
    otherwise; ignored for databases). `columns` are `SinkColumn`s or AST `Column`s. Raises `OptionError` for a
    bad table name, mode or URL, `SinkError` when the target cannot be opened or its table has other columns."""
    cols = sink_columns(columns)
    out = parse_target(target, base_dir)
    if mode is not None and mode.lower() not in MODES:
        raise OptionError(f"invalid --mode {mode!r}: use one of {', '.join(MODES)}")
    if out.kind == "sqlite":
        from .sqlite import SqliteSink
        return SqliteSink(out.location, target, cols, table=table, mode=mode)
    if out.kind == "postgres":
        from .postgres import PostgresSink
        return PostgresSink(out.location, cols, table=table, mode=mode)
    stream = stream if stream is not None else sys.stdout
    f = _choose_format(fmt, out.location, stream)
    from .files import CsvSink, JsonLinesSink, JsonSink, Output
    output = Output(out.location, None if out.location else stream)
    if f == "table":
        from .terminal import TableSink
        return TableSink(cols, output, max_rows=max_table_rows)
    return {"csv": CsvSink, "jsonl": JsonLinesSink, "json": JsonSink}[f](cols, output)
