"""Test helpers: the same questions asked of a SQLite file and of a PostgreSQL schema.

`BACKENDS` parametrizes a test over both (`db` in tests/conftest.py); `make_backend(name, tmp_path)` makes one,
skipping the test when no PostgreSQL is configured."""
from __future__ import annotations

import os
import secrets
import sqlite3
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

POSTGRES_ENV = "RSD_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class SqliteBackend:
    name = "sqlite"

    def __init__(self, tmp_path):
        self.path = str(tmp_path / "warehouse.db")
        self.url = "sqlite:///" + self.path  # an absolute path: sqlite:////tmp/...

    def query(self, sql, params=()):
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def execute(self, sql):
        conn = sqlite3.connect(self.path)
        try:
            conn.executescript(sql)
        finally:
            conn.close()

    def rows(self, table, order="1"):
        return self.query(f'SELECT * FROM "{table}" ORDER BY {order}')

    def column_names(self, table):
        return [r[1] for r in self.query(f"PRAGMA table_info(\"{table}\")")]

    def exists(self, table):
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)))

    def staging_tables(self):
        return [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE name LIKE '\\_rsd\\_stage%' ESCAPE '\\'")]

    def close(self):
        pass


class PostgresBackend:
    name = "postgres"

    def __init__(self, base_url):
        import psycopg

        self.psycopg = psycopg
        self.base_url = base_url
        self.schema = "t_" + secrets.token_hex(6)
        with psycopg.connect(base_url, autocommit=True) as c:
            c.execute(f'CREATE SCHEMA "{self.schema}"')
        sep = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{sep}options={quote('-csearch_path=' + self.schema)}"

    def query(self, sql, params=None):
        with self.psycopg.connect(self.url, autocommit=True) as c:
            return c.execute(sql, params).fetchall()

    def execute(self, sql):
        with self.psycopg.connect(self.url, autocommit=True) as c:
            c.execute(sql)

    def rows(self, table, order="1"):
        return self.query(f'SELECT * FROM "{table}" ORDER BY {order}')

    def column_names(self, table):
        return [r[0] for r in self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position", (self.schema, table))]

    def exists(self, table):
        return bool(self.query("SELECT to_regclass(%s)", (f'"{self.schema}"."{table}"',))[0][0])

    def staging_tables(self):
        return [r[0] for r in self.query("SELECT relname FROM pg_class WHERE relname LIKE '\\_rsd\\_stage%'")]

    def close(self):
        with self.psycopg.connect(self.base_url, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


class DuckDbBackend:
    """A DuckDB file (not in BACKENDS: tests/test_columnar.py runs the load tests against it)."""

    name = "duckdb"

    def __init__(self, tmp_path):
        self.path = str(tmp_path / "warehouse.duckdb")
        self.url = "duckdb:///" + self.path

    def _connect(self):
        import duckdb
        return duckdb.connect(self.path)

    def query(self, sql, params=None):
        conn = self._connect()
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def execute(self, sql):
        conn = self._connect()
        try:
            conn.execute(sql)
        finally:
            conn.close()

    def rows(self, table, order="1"):
        return self.query(f'SELECT * FROM "{table}" ORDER BY {order}')

    def column_names(self, table):
        return [r[0] for r in self.query(f'DESCRIBE "{table}"')]

    def exists(self, table):
        return bool(self.query("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [table]))

    def staging_tables(self):
        return [r[0] for r in self.query(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_rsd\\_stage%' ESCAPE '\\'")]

    def close(self):
        pass


def postgres_url():
    """RSD_TEST_POSTGRES_URL; under pytest-xdist (`-n N`), a database of the worker's own beside it (created once),
    so that what one worker's test asks of the whole database (its staging tables) sees no other worker's run."""
    url = os.environ.get(POSTGRES_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    return _worker_database(url, worker)


_WORKER_URLS: dict[str, str] = {}


def _worker_database(url: str, worker: str) -> str:
    if url not in _WORKER_URLS:
        import psycopg
        from psycopg import sql

        parts = urlsplit(url)
        name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"
        with psycopg.connect(url, autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        _WORKER_URLS[url] = urlunsplit(parts._replace(path="/" + name))
    return _WORKER_URLS[url]


def require_postgres_url() -> str:
    """The test database's URL; skips the test when RSD_TEST_POSTGRES_URL is not set."""
    url = postgres_url()
    if not url:
        pytest.skip("RSD_TEST_POSTGRES_URL is not set (start one with: eval \"$(bash .ci/start-postgres)\")")
    return url


def make_backend(name, tmp_path):
    """A SqliteBackend in `tmp_path`, or a PostgresBackend in a schema of its own."""
    if name == "sqlite":
        return SqliteBackend(tmp_path)
    return PostgresBackend(require_postgres_url())
