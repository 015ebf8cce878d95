"""PostgreSQL target (psycopg 3, imported lazily): COPY into a TEMP staging table, merge in one transaction.

Owns: the PostgreSQL column types (text, bigint, double precision, boolean, date, timestamptz; ISO text is cast
by the server; a datetime without an offset is read as UTC), the COPY load, and the merge per mode (truncate:
TRUNCATE, or DELETE when foreign keys forbid it, + INSERT; append: INSERT; upsert: INSERT ... ON CONFLICT with
the last row of a repeated key winning; replace: DROP + CREATE + INSERT). Must not: touch the target before
`close()`, or keep a transaction open while rows are still arriving (the connection is in autocommit; each page
is one COPY). The staging table is a temp table: the server drops it when the session ends, killed client or not.
"""
from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..errors import OptionError, SinkError
from ..mapping.types import Row
from .columns import SinkColumn
from .database import DatabaseSink, ExistingColumn
from .targets import DatabaseTarget, quote_ident, quote_qualified, redact_url, url_password, validate_table_name

if TYPE_CHECKING:
    import psycopg

SQL_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamp with time zone",
}
_SEQ = "_rsd_seq"
_RUNS_DDL = ("CREATE TABLE IF NOT EXISTS {table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text, "
             "step text, target_table text, started timestamptz, finished timestamptz, rows bigint, pages bigint, "
             "requests bigint, status text, error text, warnings text)")


def family(declared: str) -> str:
    t = declared.lower()
    if t in ("text", "citext") or t.startswith(("character", "varchar", "char")):
        return "string"
    if t in ("smallint", "integer", "bigint"):
        return "integer"
    if t in ("double precision", "real") or t.startswith("numeric"):
        return "number"
    if t.startswith("timestamp"):
        return "datetime"
    return t  # boolean, date, or something we do not load into


def import_psycopg() -> ModuleType:
    try:
        import psycopg
    except ImportError as exc:
        raise OptionError(
            "PostgreSQL targets need psycopg 3, which is not installed",
            hint="pip install 'rsd-profiles[postgres]'",
        ) from exc
    return psycopg


def connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    driver = import_psycopg()
    try:
        conn: psycopg.Connection[tuple[Any, ...]] = driver.connect(url, autocommit=True)
        conn.execute("SET TIME ZONE 'UTC'")
    except driver.Error as exc:
        raise SinkError(scrub(f"cannot connect to {redact_url(url)}: {exc}".strip(), url)) from exc
    return conn


def scrub(text: str, url: str) -> str:
    password = url_password(url)
    return text.replace(password, "***") if password else text


_DESCRIBE = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), COALESCE(a.attnum = ANY(i.indkey::int2[]), false)
FROM pg_attribute a
LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


class PostgresSink(DatabaseSink):
    sql_types = SQL_TYPES
    _param = "%s"
    conn: psycopg.Connection[tuple[Any, ...]]

    def __init__(self, url: str, columns: Sequence[SinkColumn], *, table: str, mode: str):
        parts = validate_table_name(table, allow_schema=True)
        super().__init__(columns, table=table, mode=mode)
        self._url = url
        self.url_redacted = redact_url(url)
        self.description = f"{self.url_redacted} table {table}"
        self._target = quote_qualified(parts)
        self._regclass = self._target
        self._stage = "pg_temp." + quote_ident(self.stage)
        self.psycopg = import_psycopg()
        self.conn = connect(url)
        seq = f", {_SEQ} bigint GENERATED ALWAYS AS IDENTITY" if self.mode == "upsert" else ""
        self._create_stage(self.psycopg.Error, seq)
        self._copy = f"COPY {self._stage} ({self._names}) FROM STDIN"

    @classmethod
    def open(cls, target: DatabaseTarget, columns: Sequence[SinkColumn], *, table: str, mode: str) -> "PostgresSink":
        return cls(target.location, columns, table=table, mode=mode)

    @classmethod
    def record(cls, target: DatabaseTarget, table: str, fields: Sequence[str], values: Sequence[object],
               added: Mapping[str, str] = {}) -> None:
        driver = import_psycopg()
        conn = connect(target.location)
        names = ", ".join(quote_ident(f) for f in fields)
        try:
            with conn.transaction():
                # Serialise concurrent first runs: CREATE TABLE IF NOT EXISTS can race on the catalog.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('rsd._rsd_runs'))")
                conn.execute(_RUNS_DDL.format(table=quote_ident(table)))
                have = {row[0].lower() for row in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
                    "AND NOT attisdropped", (quote_ident(table),))}
                for name, kind in added.items():
                    if name.lower() not in have:
                        conn.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(name)} "
                                     f"{SQL_TYPES[kind]}")
                conn.execute(f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({', '.join(['%s'] * len(fields))})",
                             values)
        except driver.Error as exc:
            raise SinkError(scrub(f"recording the run in {redact_url(target.location)}: {exc}", target.location)) \
                from exc
        finally:
            conn.close()

    def _scrub(self, text: str) -> str:
        return scrub(text, self._url)

    def _lock_state(self) -> None:
        # CREATE TABLE IF NOT EXISTS can race on the catalog when two first loads commit at once
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('rsd._rsd_state'))")

    def existing_columns(self) -> list[ExistingColumn]:
        rows = self.conn.execute(_DESCRIBE, (self._regclass,)).fetchall()
        return [ExistingColumn(n, t, family(t), bool(k)) for n, t, k in rows]

    def _accepts(self, column: SinkColumn, existing: ExistingColumn) -> bool:
        return existing.family == column.type

    def _write(self, rows: Iterable[Row]) -> int:
        n = 0
        with self.conn.cursor() as cur:
            with cur.copy(self._copy) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
                    n += 1
        return n

    def _commit(self) -> None:
        conn = self.conn
        try:
            with conn.transaction():
                self._merge_into_target()
        finally:
            self._drop_stage()

    def _empty_target(self) -> None:
        try:
            with self.conn.transaction():  # a savepoint: TRUNCATE is refused when foreign keys point here
                self.conn.execute(f"TRUNCATE {self._target}")
        except self.psycopg.errors.FeatureNotSupported:
            self.conn.execute(f"DELETE FROM {self._target}")

    def _merge_sql(self) -> str:
        if self.mode != "upsert":
            return f"INSERT INTO {self._target} ({self._names}) SELECT {self._names} FROM {self._stage}"
        keys = ", ".join(quote_ident(c.name) for c in self.columns if c.key)
        others = [quote_ident(c.name) for c in self.columns if not c.key]
        action = ("DO UPDATE SET " + ", ".join(f"{q} = EXCLUDED.{q}" for q in others)) if others else "DO NOTHING"
        # One row per key (the last loaded): ON CONFLICT DO UPDATE may not touch a row twice in one statement.
        return (
            f"INSERT INTO {self._target} ({self._names}) "
            f"SELECT DISTINCT ON ({keys}) {self._names} FROM {self._stage} ORDER BY {keys}, {_SEQ} DESC "
            f"ON CONFLICT ({keys}) {action}"
        )

    def _drop_stage(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if not self.conn.closed and self.conn.info.transaction_status == 0:  # idle
                self.conn.execute(f"DROP TABLE IF EXISTS {self._stage}")
        finally:
            self.conn.close()

    def _rollback(self) -> None:
        if self._closed:
            return
        try:
            if not self.conn.closed and self.conn.info.transaction_status != 0:
                self.conn.rollback()
        finally:
            self._drop_stage()
