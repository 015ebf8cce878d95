"""PostgreSQL specifics of rsd.sinks (the mode and kill tests shared with SQLite are in test_sinks.py).

Needs RSD_TEST_POSTGRES_URL (e.g. `eval "$(.ci/start-postgres)"`); skipped otherwise."""
from __future__ import annotations

import datetime as dt

import pytest

from rsd.errors import OptionError, SinkError
from rsd.sinks import SinkColumn, open_sink

from sink_helpers.backends import PostgresBackend, require_postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg():
    backend = PostgresBackend(require_postgres_url())
    yield backend
    backend.close()


ALL_TYPES = [
    SinkColumn("id", "integer", True), SinkColumn("name", "string"), SinkColumn("ok", "boolean"),
    SinkColumn("amount", "number"), SinkColumn("day", "date"), SinkColumn("at", "datetime"),
]


def test_postgres_types_and_values(pg):
    with open_sink(pg.url, None, ALL_TYPES, table="typed") as sink:
        sink.write([
            (1, "a", True, 1.5, "2024-02-29", "2024-01-31T10:00:00"),
            (2, None, False, 3, None, "2024-01-31T10:00:00+02:00"),
            (3, "tab\tnew\nline \\ back", None, None, None, None),
        ])
    types = pg.query("SELECT column_name, data_type FROM information_schema.columns "
                     "WHERE table_schema = %s AND table_name = 'typed' ORDER BY ordinal_position", (pg.schema,))
    assert types == [("id", "bigint"), ("name", "text"), ("ok", "boolean"), ("amount", "double precision"),
                     ("day", "date"), ("at", "timestamp with time zone")]
    rows = pg.rows("typed")
    utc = dt.timezone.utc
    assert rows[0][:5] == (1, "a", True, 1.5, dt.date(2024, 2, 29))
    assert rows[0][5] == dt.datetime(2024, 1, 31, 10, tzinfo=utc)  # no offset: read as UTC
    assert rows[1][5] == dt.datetime(2024, 1, 31, 8, tzinfo=utc)
    assert rows[2][1] == "tab\tnew\nline \\ back"
    assert pg.query("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                    "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                    (f'"{pg.schema}"."typed"',)) == [("id",)]


def test_postgres_bad_date_fails_and_keeps_previous(pg):
    with open_sink(pg.url, None, ALL_TYPES, table="typed") as sink:
        sink.write([(1, "a", True, 1.5, "2024-02-29", None)])
    with pytest.raises(SinkError, match="typed"):
        with open_sink(pg.url, None, ALL_TYPES, table="typed") as sink:
            sink.write([(2, "b", True, 1.5, "not a date", None)])
    assert [r[0] for r in pg.rows("typed")] == [1]


def test_postgres_schema_qualified_table(pg):
    cols = ALL_TYPES[:2]
    with open_sink(pg.url, None, cols, table=f"{pg.schema}.qualified", mode="replace") as sink:
        sink.write([(1, "x")])
    assert pg.rows("qualified") == [(1, "x")]


@pytest.mark.parametrize("bad", ["a.b.c", "a;b", "x" * 64, "s.", "_rsd_runs"])
def test_postgres_bad_table_names(pg, bad):
    with pytest.raises(OptionError):
        open_sink(pg.url, None, ALL_TYPES, table=bad)


def test_postgres_no_transaction_is_held_while_rows_arrive(pg):
    cols = ALL_TYPES[:2]
    sink = open_sink(pg.url, None, cols, table="idle")
    try:
        sink.write([(1, "x")])
        pid = sink.conn.info.backend_pid
        state = pg.query("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
        assert state == [("idle",)]
    finally:
        sink.close()
    assert pg.rows("idle") == [(1, "x")]


def test_postgres_truncate_falls_back_to_delete_under_foreign_keys(pg):
    cols = ALL_TYPES[:2]
    with open_sink(pg.url, None, cols, table="parent") as sink:
        sink.write([(1, "a"), (2, "b")])
    pg.execute("CREATE TABLE child (parent_id bigint REFERENCES parent (id))")
    with open_sink(pg.url, None, cols, table="parent") as sink:
        sink.write([(3, "c")])
    assert pg.rows("parent") == [(3, "c")]


def test_postgres_replace_refused_by_a_view_keeps_previous(pg):
    cols = ALL_TYPES[:2]
    with open_sink(pg.url, None, cols, table="viewed") as sink:
        sink.write([(1, "a")])
    pg.execute("CREATE VIEW v AS SELECT * FROM viewed")
    with pytest.raises(SinkError, match="depend"):
        with open_sink(pg.url, None, cols + [SinkColumn("extra")], table="viewed", mode="replace") as sink:
            sink.write([(2, "b", "c")])
    assert pg.rows("viewed") == [(1, "a")]
    assert pg.staging_tables() == []


def test_postgres_accepts_a_table_created_by_hand(pg):
    pg.execute("CREATE TABLE hand (id integer PRIMARY KEY, name varchar(20) NOT NULL)")
    cols = ALL_TYPES[:2]
    with open_sink(pg.url, None, cols, table="hand", mode="upsert") as sink:
        sink.write([(1, "a"), (1, "b")])
    assert pg.rows("hand") == [(1, "b")]


def test_postgres_password_never_shown(pg):
    url = "postgresql://someone:hunter2secret@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(SinkError) as e:
        open_sink(url, None, ALL_TYPES, table="t")
    assert "hunter2secret" not in str(e.value) and "***" in str(e.value)
