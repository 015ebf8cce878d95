"""DuckDB target (`duckdb:///file.db`, duckdb imported lazily): pages arrive as Arrow batches into a staging table
of a private in-memory database, merged into the file's table in one transaction.

Owns: the DuckDB column types (VARCHAR, BIGINT, DOUBLE, BOOLEAN, DATE, TIMESTAMPTZ; see `SQL_TYPES`), the load
(each page's `RecordBatch` inserted with one `INSERT ... SELECT` from Arrow, no Python work per value), the merge per
mode (truncate: DELETE + INSERT; append: INSERT; upsert: INSERT ... ON CONFLICT DO UPDATE with the last row of a
repeated key winning; replace: DROP + CREATE + INSERT) and `_rsd_runs` with DuckDB's types. Must not: hold the
database file while rows are still arriving: DuckDB lets one process at a time open a file for writing, so the file
is attached only to check the target when the sink opens and again for the commit; the staging table lives in the
connection's own in-memory database, which vanishes with the process (a failed, interrupted or killed run leaves
the file exactly as it was; a kill during the commit is rolled back by DuckDB's write-ahead log).

The shape is SQLite's (`sqlite.py`): `open`, `record`, `existing_columns`, `_accepts`, `_empty_target`,
`_merge_sql`, and `_commit` running `DatabaseSink._merge_into_target` inside one transaction (with the file as the
default catalog, so the incremental mark in `_rsd_state` is stored there, with the rows).
"""
from __future__ import annotations

import os
import time
from types import ModuleType
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from ..errors import OptionError, SinkError
from .arrow import TakesArrow, import_pyarrow
from .columns import SinkColumn
from .database import DatabaseSink, ExistingColumn
from .targets import DatabaseTarget, quote_ident, validate_table_name

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP WITH TIME ZONE",
}
#: the name the target file is attached under, inside the sink's own connection
TARGET_CATALOG = "rsd_target"
#: how long to wait for another process that has the file open (DuckDB allows one writer process at a time)
LOCK_WAIT_S = 60.0
_RUNS_SEQ = "_rsd_runs_id"
_RUNS_DDL = ("CREATE TABLE IF NOT EXISTS {table} (id BIGINT PRIMARY KEY DEFAULT nextval('{seq}'), job VARCHAR, "
             "step VARCHAR, target_table VARCHAR, started TIMESTAMPTZ, finished TIMESTAMPTZ, rows BIGINT, "
             "pages BIGINT, requests BIGINT, status VARCHAR, error VARCHAR, warnings VARCHAR)")


def family(declared: str) -> str:
    """The canonical type a DuckDB column type can hold, or the type itself when it is none of them."""
    t = declared.upper()
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR"):
        return "string"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        return "integer"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "number"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    return t.lower()  # boolean, date, or something we do not load into


def import_duckdb() -> ModuleType:
    try:
        import duckdb
    except ImportError as exc:
        raise OptionError("DuckDB targets need duckdb and pyarrow, which are not installed",
                          hint="pip install 'rsd-profiles[duckdb]'") from exc
    module: ModuleType = duckdb  # untyped (see pyproject.toml): its attributes are Any
    return module


def _connect_file(driver: ModuleType, path: str) -> duckdb.DuckDBPyConnection:
    """A connection to the database file, waiting up to LOCK_WAIT_S while another process holds it."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            conn: duckdb.DuckDBPyConnection = driver.connect(path)
            return conn
        except driver.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


class DuckDbSink(TakesArrow, DatabaseSink):
    _fold_case = True  # DuckDB resolves identifiers case-insensitively, quoted or not
    sql_types = SQL_TYPES
    conn: duckdb.DuckDBPyConnection

    def __init__(self, path: str, url: str, columns: Sequence[SinkColumn], *, table: str, mode: str):
        validate_table_name(table, allow_schema=False)
        super().__init__(columns, table=table, mode=mode)
        self.duckdb = import_duckdb()
        import_pyarrow()  # pages arrive as Arrow batches: pyarrow is part of the `duckdb` extra
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise SinkError(f"duckdb: the folder {directory} does not exist")
        self.path = path
        self.url_redacted = url
        self.description = f"{url} table {table}"
        self._target = f"{TARGET_CATALOG}.main.{quote_ident(table)}"
        self._stage = "temp.main." + quote_ident(self.stage)  # the connection's own, whatever `USE` says
        try:
            self.conn = self.duckdb.connect(":memory:")
        except self.duckdb.Error as exc:
            raise self._error("opening", exc) from exc
        try:
            self._attach()
        except self.duckdb.Error as exc:
            self.conn.close()
            raise self._error("opening", exc) from exc
        self._create_stage(self.duckdb.Error)  # checks the target's columns, then creates the staging table
        self._detach()
        self._insert = f"INSERT INTO {self._stage} ({self._names}) SELECT * FROM rsd_batch"

    @classmethod
    def open(cls, target: DatabaseTarget, columns: Sequence[SinkColumn], *, table: str, mode: str) -> "DuckDbSink":
        return cls(target.location, target.url, columns, table=table, mode=mode)

    @classmethod
    def record(cls, target: DatabaseTarget, table: str, fields: Sequence[str], values: Sequence[object],
               added: Mapping[str, str] = {}) -> None:
        driver = import_duckdb()
        names = ", ".join(quote_ident(f) for f in fields)
        try:
            conn = _connect_file(driver, target.location)
        except driver.Error as exc:
            raise SinkError(f"recording the run in {target.url}: {exc}") from exc
        try:
            conn.execute("BEGIN")
            conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {_RUNS_SEQ}")
            conn.execute(_RUNS_DDL.format(table=quote_ident(table), seq=_RUNS_SEQ))
            have = {row[0].lower() for row in conn.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND "
                "schema_name = 'main' AND table_name = ?", [table]).fetchall()}
            for name, kind in added.items():  # columns added to the run history since it was created
                if name.lower() not in have:
                    conn.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(name)} {SQL_TYPES[kind]}")
            conn.execute(f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({', '.join('?' * len(fields))})",
                         list(values))
            conn.execute("COMMIT")
        except Exception as exc:
            raise SinkError(f"recording the run in {target.url}: {exc}") from exc
        finally:
            conn.close()

    # -- the file is attached only while it is needed ----------------------------------------------------
    def _attach(self) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        path = self.path.replace("'", "''")
        while True:
            try:
                self.conn.execute(f"ATTACH '{path}' AS {TARGET_CATALOG}")
                return
            except self.duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _detach(self) -> None:
        self.conn.execute(f"DETACH {TARGET_CATALOG}")

    def track_cursor(self, column: str) -> Optional[str]:
        """Incremental loads (`DatabaseSink.track_cursor`): the mark is read with the file attached."""
        self._attach()
        try:
            return super().track_cursor(column)
        finally:
            self._detach()

    def existing_columns(self) -> list[ExistingColumn]:
        rows = self.conn.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
            "AND lower(table_name) = lower(?) ORDER BY column_index", [TARGET_CATALOG, self.table]).fetchall()
        keys = self.conn.execute(
            "SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = ? AND "
            "schema_name = 'main' AND lower(table_name) = lower(?) AND constraint_type = 'PRIMARY KEY'",
            [TARGET_CATALOG, self.table]).fetchall()
        key_names = {k.lower() for row in keys for k in row[0]}
        return [ExistingColumn(n, t, family(t), n.lower() in key_names) for n, t in rows]

    def _accepts(self, column: SinkColumn, existing: ExistingColumn) -> bool:
        return existing.family == column.type

    # -- load and commit -----------------------------------------------------------------------------
    def _write(self, batch: "pa.RecordBatch") -> int:
        batch = self.as_batch(batch)
        if not batch.num_rows:
            return 0
        conn = self.conn
        conn.register("rsd_batch", batch)
        try:
            conn.execute(self._insert)
        finally:
            conn.unregister("rsd_batch")
        n: int = batch.num_rows
        return n

    def _commit(self) -> None:
        conn = self.conn
        try:
            self._attach()
            # unqualified names (`_rsd_state`, written once for every dialect in state.py) are the file's
            conn.execute(f"USE {TARGET_CATALOG}")
            conn.execute("BEGIN")
            try:
                self._merge_into_target()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            self._close()

    def _empty_target(self) -> None:
        self.conn.execute(f"DELETE FROM {self._target}")

    def _merge_sql(self) -> str:
        select = f"SELECT {self._names} FROM {self._stage}"
        if self.mode != "upsert":
            return f"INSERT INTO {self._target} ({self._names}) {select} ORDER BY rowid"
        keys = ", ".join(quote_ident(c.name) for c in self.columns if c.key)
        others = [quote_ident(c.name) for c in self.columns if not c.key]
        action = ("DO UPDATE SET " + ", ".join(f"{q} = excluded.{q}" for q in others)) if others else "DO NOTHING"
        # One row per key, the last loaded: ON CONFLICT DO UPDATE may not touch a row twice in one statement.
        return (f"INSERT INTO {self._target} ({self._names}) {select} "
                f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY rowid DESC) = 1 "
                f"ON CONFLICT ({keys}) {action}")

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.conn.close()  # the in-memory staging database goes with it; the file is detached

    def _rollback(self) -> None:
        self._close()
