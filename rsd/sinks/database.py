"""What the SQLite and PostgreSQL sinks share: load modes, the staging-table name, the column check, and the
steps of opening and committing a load in the SQL both dialects speak.

Owns: checking a load mode (`registry.MODES`) against the columns (upsert needs key columns), comparing an existing
table with the profile's columns (a different set of names, an incompatible type, or for upsert different key
columns is a `SinkError` that says to use `--mode replace`), column definitions from a dialect's type table, and the
order of a commit (replace drops, an absent table is created, truncate empties, then the staging table is merged).
Must not: know a driver: connecting, transactions, column types, reading a table's definition, emptying a table
and the merge statement are the dialect modules'.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence

from ..errors import OptionError, SinkError
from .base import Sink
from .columns import SinkColumn
from .registry import MODES
from .state import STATE_DDL, check_cursor, mark_text, state_upsert, utc_now
from .targets import STAGE_PREFIX, DatabaseTarget, quote_ident

BATCH_ROWS = 5000


class DbCursor(Protocol):
    """What the shared steps read of a query's result (sqlite3, psycopg and duckdb cursors are ones)."""

    def fetchone(self) -> Optional[Sequence[Any]]: ...  # a row of database values: any type


class DbConnection(Protocol):
    """What the shared steps ask of a dialect's connection; each dialect declares its driver's own class."""

    def execute(self, query: str, params: Sequence[Any] = ..., /) -> DbCursor: ...

    def close(self) -> None: ...


def check_mode(mode: str, columns: Sequence[SinkColumn], table: str) -> str:
    m = (mode or "truncate").lower()
    if m not in MODES:
        raise OptionError(f"invalid --mode {mode!r}: use one of {', '.join(MODES)}")
    if not columns:
        raise OptionError(f"table {table!r}: the profile has no columns to load")
    seen: dict[str, str] = {}
    for c in columns:
        k = c.name.lower()
        if k in seen:
            raise OptionError(f"table {table!r}: duplicate column name {c.name!r} (also {seen[k]!r})")
        seen[k] = c.name
    if m == "upsert" and not any(c.key for c in columns):
        raise OptionError(
            f"--mode upsert into {table!r} needs key columns: mark them key=\"true\" in api:info",
            hint="or use --mode truncate, append or replace",
        )
    return m


def stage_name(table: str) -> str:
    """`_rsd_stage_<table>_<random>`, short enough for PostgreSQL's 63-byte identifiers."""
    short = table.rsplit(".", 1)[-1][:40]
    return f"{STAGE_PREFIX}{short}_{os.urandom(4).hex()}"


def column_defs(columns: Sequence[SinkColumn], sql_types: Mapping[str, str], *, with_key: bool) -> str:
    """`"name" TYPE, ...` for CREATE TABLE, types from the dialect's `sql_types`; a PRIMARY KEY of the key columns
    when `with_key`."""
    defs = [f"{quote_ident(c.name)} {sql_types[c.type]}" for c in columns]
    keys = [quote_ident(c.name) for c in columns if c.key]
    if with_key and keys:
        defs.append(f"PRIMARY KEY ({', '.join(keys)})")
    return ", ".join(defs)


@dataclass(frozen=True, slots=True)
class ExistingColumn:
    name: str
    declared: str  # the type as the database reports it
    family: str  # what `declared` is compatible with: see the dialect's `family`
    key: bool


def compare_columns(
    table: str,
    mode: str,
    expected: Sequence[SinkColumn],
    existing: Sequence[ExistingColumn],
    accepts: Callable[[SinkColumn, ExistingColumn], bool],
    *,
    fold_case: bool,
) -> Optional[str]:
    """None when `existing` can take the rows as they are; otherwise a message naming the differences."""
    norm: Callable[[str], str] = (lambda s: s.lower()) if fold_case else (lambda s: s)
    have = {norm(c.name): c for c in existing}
    want = {norm(c.name): c for c in expected}
    missing = [c.name for k, c in want.items() if k not in have]
    extra = [c.name for k, c in have.items() if k not in want]
    changed = [
        f"{c.name} ({have[k].declared} -> {c.type})"
        for k, c in want.items()
        if k in have and not accepts(c, have[k])
    ]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("not in the profile " + ", ".join(extra))
    if changed:
        problems.append("type changed " + ", ".join(changed))
    if not problems and mode == "upsert":
        keys_want = sorted(norm(c.name) for c in expected if c.key)
        keys_have = sorted(norm(c.name) for c in existing if c.key)
        if keys_want != keys_have:
            problems.append(
                f"primary key is ({', '.join(c.name for c in existing if c.key) or 'none'}), "
                f"the profile's key columns are ({', '.join(c.name for c in expected if c.key)})"
            )
    if not problems:
        return None
    return (
        f"table {table} exists with different columns ({'; '.join(problems)}); "
        f"--mode {mode} keeps the table definition: use --mode replace to recreate it"
    )


class DatabaseSink(Sink):
    """Common shape of the database sinks: rows go to a private staging table, `close` merges them in one
    transaction, `abort` drops the staging table and leaves the target untouched.

    A dialect sets `conn`, `_target` and `_stage` (quoted names), `sql_types`, and implements `existing_columns`,
    `_accepts`, `_empty_target` and `_merge_sql`.

    Incremental loads (`track_cursor`) are the same for every dialect: the mark is `MAX(cursor)` of the target, and
    the new mark goes into `_rsd_state` inside the commit transaction, so rows and mark are committed together. A
    dialect whose driver does not take `?` placeholders sets `_param`; one that must serialise the creation of
    `_rsd_state` overrides `_lock_state`."""

    url_redacted: str = ""
    table: str = ""
    mode: str = "truncate"
    sql_types: Mapping[str, str] = {}
    _param = "?"
    cursor: Optional[SinkColumn] = None  # the incremental cursor column (`track_cursor`)
    mark: Optional[str] = None  # its mark when the load began, then (after `close`) the mark stored with the rows
    conn: DbConnection  # set by the dialect, with `_target` and `_stage` (quoted names)
    _target: str
    _stage: str

    def __init__(self, columns: Sequence[SinkColumn], *, table: str, mode: str):
        super().__init__(columns)
        self.mode = check_mode(mode, self.columns, table)
        self.table = table
        self.stage = stage_name(table)
        self._names = ", ".join(quote_ident(c.name) for c in self.columns)
        self._closed = False

    @classmethod
    def open(cls, target: DatabaseTarget, columns: Sequence[SinkColumn], *, table: str, mode: str) -> "DatabaseSink":
        """The sink for `target` (a database of this dialect), its staging table created."""
        raise NotImplementedError

    @classmethod
    def record(cls, target: DatabaseTarget, table: str, fields: Sequence[str], values: Sequence[object],
               added: Mapping[str, str] = {}) -> None:
        """Insert one row into the run-history table `table` (created when absent, see `runs.py`); an existing
        table without a column of `added` (name -> canonical type) gets it first."""
        raise NotImplementedError

    def _create_stage(self, driver_error: type[BaseException], extra: str = "") -> None:
        """Check an existing target (failing before any HTTP work is wasted; replace recreates it anyway), then
        create the staging table, with `extra` column definitions. On failure the connection is closed."""
        try:
            existing = self.existing_columns()
            if existing and self.mode != "replace":
                self.columns_changed(existing)
            defs = column_defs(self.columns, self.sql_types, with_key=False)
            self.conn.execute(f"CREATE TEMP TABLE {self._stage} ({defs}{extra})")
        except BaseException as exc:
            self.conn.close()
            if isinstance(exc, driver_error):
                raise self._error("opening", exc) from exc
            raise

    def _merge_into_target(self) -> None:
        """The body of the commit transaction: replace drops the target, an absent target is created (with the
        key columns as primary key), an existing one is checked and, for truncate, emptied; then the staging
        table is merged into it."""
        conn = self.conn
        existing = self.existing_columns()
        if self.mode == "replace" and existing:
            conn.execute(f"DROP TABLE {self._target}")
            existing = []
        if not existing:
            conn.execute(f"CREATE TABLE {self._target} ({column_defs(self.columns, self.sql_types, with_key=True)})")
        else:
            self.columns_changed(existing)
            if self.mode == "truncate":
                self._empty_target()
        conn.execute(self._merge_sql())
        if self.cursor is not None:
            self._store_mark(self.cursor)

    # -- incremental loads --------------------------------------------------------------------------------------
    def track_cursor(self, column: str) -> Optional[str]:
        """Make `column` the cursor of an incremental load; returns its high-water mark in the target as
        `[_input.NAME]` takes it (None when the table is absent or has no value in that column)."""
        self.cursor = cursor = check_cursor(self.columns, column)
        self.mark = self._max_cursor(cursor) if self.existing_columns() else None
        return self.mark

    def _max_cursor(self, cursor: SinkColumn) -> Optional[str]:
        row = self.conn.execute(f"SELECT MAX({quote_ident(cursor.name)}) FROM {self._target}").fetchone()
        return mark_text(row[0]) if row else None

    def _store_mark(self, cursor: SinkColumn) -> None:
        """Inside the commit transaction: the target's new mark into `_rsd_state`."""
        self.mark = self._max_cursor(cursor)
        self._lock_state()
        self.conn.execute(STATE_DDL)
        self.conn.execute(state_upsert(self._param), (self.table, cursor.name, self.mark, utc_now()))

    def _lock_state(self) -> None:
        """Serialise concurrent first creations of `_rsd_state` where the database needs it."""

    def columns_changed(self, existing: Sequence[ExistingColumn]) -> None:
        message = compare_columns(self.table, self.mode, self.columns, existing, self._accepts,
                                  fold_case=self._fold_case)
        if message:
            raise SinkError(f"{self.url_redacted}: {message}", hint="rsd run ... --mode replace")

    _fold_case = False

    def existing_columns(self) -> list[ExistingColumn]:
        raise NotImplementedError

    def _accepts(self, column: SinkColumn, existing: ExistingColumn) -> bool:
        raise NotImplementedError

    def _empty_target(self) -> None:
        raise NotImplementedError

    def _merge_sql(self) -> str:
        raise NotImplementedError
