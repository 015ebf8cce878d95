"""The one table of outputs: every file format, every database URL scheme and every load mode rsd knows.

Owns: `FORMATS` (format name -> its sink class, the file extensions that choose it, whether it can go to a
terminal), `DATABASES` (kind -> its sink class and URL schemes), `SCHEMES` (derived) and `MODES`. The command
line's `--format`/`--mode` choices, job files, `parse_target` and `open_sink` all read these. Must not: import a
sink module (classes are named as `module:Class` and imported when used, so `rsd --help` and `rsd check` load
no driver).

Adding an output touches its module, this table, a test and a sample:

    FORMATS["xlsx"] = Format("xlsx", "rsd.sinks.xlsx:XlsxSink", extensions=(".xlsx",), binary=True)

A file sink class is built as `Class(columns, output)` (`output` a `rsd.sinks.files.Output`, or for a binary
format the destination path, None for stdout); a database sink class as
`Class.open(target, columns, table=, mode=)` with `target` a `Target`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .base import Sink
    from .database import DatabaseSink

#: load modes of database targets (and of the file outputs that keep state, see docs/targets.md)
MODES = ("truncate", "append", "replace", "upsert")


@dataclass(frozen=True)
class Format:
    """A file format: `-f NAME`, or chosen by the extension of `--output`."""

    name: str
    sink: str  # "module:Class"
    extensions: tuple[str, ...] = ()
    binary: bool = False  # written to a path (never to a text stream)

    def load(self) -> Callable[..., Sink]:
        """The sink class: `Class(columns, output)` (`output` a `files.Output`; the table format also takes
        `max_rows=`), or for a binary format `Class(columns, path)`."""
        sink_class: Callable[..., Sink] = _load(self.sink)
        return sink_class


@dataclass(frozen=True)
class Database:
    """A database target: `--output SCHEME://...`."""

    kind: str
    sink: str  # "module:Class"
    schemes: tuple[str, ...]
    example: str  # shown in messages: sqlite:///file.db
    in_file: bool = True  # scheme:///relative/path or scheme:////absolute/path (else the URL goes to the driver)
    #: file names that are this database (`--output x.db` is refused, pointing to `sqlite:///x.db`)
    extensions: tuple[str, ...] = ()

    def load(self) -> type[DatabaseSink]:
        sink_class: type[DatabaseSink] = _load(self.sink)
        return sink_class


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("table", "rsd.sinks.terminal:TableSink", (".txt",)),
    Format("csv", "rsd.sinks.files:CsvSink", (".csv",)),
    Format("jsonl", "rsd.sinks.files:JsonLinesSink", (".jsonl", ".ndjson")),
    Format("json", "rsd.sinks.files:JsonSink", (".json",)),
    Format("parquet", "rsd.sinks.parquet:ParquetSink", (".parquet",), binary=True),
)}

DATABASES: dict[str, Database] = {d.kind: d for d in (
    Database("sqlite", "rsd.sinks.sqlite:SqliteSink", ("sqlite",), "sqlite:///file.db",
             extensions=(".db", ".sqlite", ".sqlite3")),
    Database("postgres", "rsd.sinks.postgres:PostgresSink", ("postgresql", "postgres"), "postgresql://user@host/db",
             in_file=False),
    Database("duckdb", "rsd.sinks.duckdb:DuckDbSink", ("duckdb",), "duckdb:///file.db",
             extensions=(".duckdb", ".ddb")),
)}

#: URL scheme (lower case) -> database kind
SCHEMES: dict[str, str] = {s: d.kind for d in DATABASES.values() for s in d.schemes}


def database_for_extension(path: str) -> Optional[Database]:
    """The file database (`in_file`) a file name asks for by its extension (`x.db`: SQLite), or None."""
    low = path.lower()
    for d in DATABASES.values():
        if d.in_file and any(low.endswith(ext) for ext in d.extensions):
            return d
    return None


def format_for_extension(path: str) -> Optional[Format]:
    """The format a file name asks for by its extension, or None."""
    low = path.lower()
    for f in FORMATS.values():
        if any(low.endswith(ext) for ext in f.extensions):
            return f
    return None


def _load(spec: str) -> Any:  # the class a "module:Class" names, whatever it is
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)
