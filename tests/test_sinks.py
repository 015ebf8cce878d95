"""Tests of rsd.sinks: exact text formats, atomic files, SQLite (and, when RSD_TEST_POSTGRES_URL is set,
PostgreSQL) load modes through staging tables, and runs killed mid-load leaving the previous table intact."""
from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rsd.errors import EXIT_INVALID_INPUT, EXIT_RUN_FAILED, Loc, OptionError, SinkError
from rsd.reader.ast import Column
from rsd.sinks import SinkColumn, canonical_type, open_sink, record_run, redact_url, sink_columns
from rsd.sinks.targets import parse_target

from cli_support import with_checkout
from sink_helpers.backends import SqliteBackend

HELPER = Path(__file__).resolve().parent / "sink_helpers" / "slow_load.py"

COLS = [
    SinkColumn("id", "integer", True),
    SinkColumn("name", "string"),
    SinkColumn("ok", "boolean"),
    SinkColumn("amount", "number"),
    SinkColumn("day", "date"),
]
ROWS = [
    (1, "plain", True, 1.5, "2024-01-31"),
    (2, 'comma, "quote"', False, None, None),
    (3, None, None, -2.0, "2024-02-29"),
    (4, "line\nbreak é", True, 10, None),
]


def render(fmt, rows=ROWS, cols=COLS, pages=1, **kw):
    buf = io.StringIO()
    with open_sink(None, fmt, cols, table="t", stream=buf, **kw) as sink:
        if pages == 1:
            sink.write(iter(rows))
        else:
            for r in rows:
                sink.write([r])
    assert sink.rows_written == len(rows)
    return buf.getvalue()


# -- columns ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("written, canonical", [
    (None, "string"), ("string", "string"), ("int", "integer"), ("Integer", "integer"), ("long", "integer"),
    ("double", "number"), ("FLOAT", "number"), ("decimal", "number"), ("bool", "boolean"), ("boolean", "boolean"),
    ("date", "date"), ("datetime", "datetime"), ("xs:int", "integer"), ("uuid", "string"), ("", "string"),
])
def test_canonical_type(written, canonical):
    assert canonical_type(written) == canonical


def test_sink_columns_from_ast():
    loc = Loc("p.rsd", 1, 1)
    cols = sink_columns([Column("Id", loc, type="long", key=True), Column("Name", loc), Column("When", loc, "datetime")])
    assert cols == (SinkColumn("Id", "integer", True), SinkColumn("Name", "string"), SinkColumn("When", "datetime"))


# -- text formats ----------------------------------------------------------------------------------------------
def test_csv_exact():
    assert render("csv") == (
        "id,name,ok,amount,day\n"
        "1,plain,true,1.5,2024-01-31\n"
        '2,"comma, ""quote""",false,,\n'
        "3,,,-2.0,2024-02-29\n"
        '4,"line\nbreak é",true,10,\n'
    )


def test_csv_header_only_when_empty():
    assert render("csv", rows=[]) == "id,name,ok,amount,day\n"


def test_jsonl_exact():
    assert render("jsonl", pages=4) == (
        '{"id": 1, "name": "plain", "ok": true, "amount": 1.5, "day": "2024-01-31"}\n'
        '{"id": 2, "name": "comma, \\"quote\\"", "ok": false, "amount": null, "day": null}\n'
        '{"id": 3, "name": null, "ok": null, "amount": -2.0, "day": "2024-02-29"}\n'
        '{"id": 4, "name": "line\\nbreak é", "ok": true, "amount": 10, "day": null}\n'
    )


def test_json_exact_and_streamed_over_pages():
    text = render("json", pages=4)
    assert text == (
        "[\n"
        '{"id": 1, "name": "plain", "ok": true, "amount": 1.5, "day": "2024-01-31"},\n'
        '{"id": 2, "name": "comma, \\"quote\\"", "ok": false, "amount": null, "day": null},\n'
        '{"id": 3, "name": null, "ok": null, "amount": -2.0, "day": "2024-02-29"},\n'
        '{"id": 4, "name": "line\\nbreak é", "ok": true, "amount": 10, "day": null}\n'
        "]\n"
    )
    assert json.loads(text)[3]["name"] == "line\nbreak é"


def test_json_empty_is_an_empty_array():
    assert render("json", rows=[]) == "[]\n"
    assert render("jsonl", rows=[]) == ""


def test_json_non_finite_numbers_become_null():
    cols = [SinkColumn("x", "number")]
    assert render("jsonl", rows=[(float("nan"),), (float("inf"),), (1.0,)], cols=cols) == (
        '{"x": null}\n{"x": null}\n{"x": 1.0}\n')


def test_table_format_aligns_numbers_and_dims_null():
    text = render("table")
    lines = text.splitlines()
    header = next(l for l in lines if "amount" in l)
    row1 = next(l for l in lines if "plain" in l)
    # right-aligned: the value ends where the header ends
    assert row1.index("1.5") + 3 == header.index("amount") + len("amount")
    assert "null" in text and "true" in text and "false" in text


def test_table_format_dims_null_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    buf = Tty()
    with open_sink(None, None, COLS, table="t", stream=buf) as sink:  # format defaults to table on a terminal
        sink.write(ROWS)
    assert "\x1b[2mnull" in buf.getvalue()


def test_table_format_shows_first_rows_and_counts_the_rest():
    cols = [SinkColumn("n", "integer")]
    text = render("table", rows=[(i,) for i in range(250)], cols=cols, max_table_rows=10)
    assert "… 240 more rows not shown" in text
    assert "│ 9 │" in text and "│ 10 │" not in text


def test_table_format_keeps_markup_literal():
    text = render("table", rows=[("[bold]x[/bold]",)], cols=[SinkColumn("s")])
    assert "[bold]x[/bold]" in text


def test_default_format_is_csv_when_not_a_terminal():
    assert render(None).startswith("id,name,ok,amount,day\n")


def test_bad_format_and_mode():
    with pytest.raises(OptionError):
        open_sink(None, "xml", COLS, table="t", stream=io.StringIO())
    with pytest.raises(OptionError) as e:
        open_sink(None, "csv", COLS, table="t", mode="merge", stream=io.StringIO())
    assert e.value.exit_code == EXIT_INVALID_INPUT


# -- files -----------------------------------------------------------------------------------------------------
def test_file_output_by_extension_relative_to_base_dir(tmp_path):
    with open_sink("out.jsonl", None, COLS, table="t", base_dir=str(tmp_path)) as sink:
        sink.write(ROWS[:1])
    assert (tmp_path / "out.jsonl").read_text().startswith('{"id": 1')


def test_file_output_is_atomic_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError):
        with open_sink(str(target), "csv", COLS, table="t") as sink:
            sink.write(ROWS)
            sink.write(ROWS)
            raise RuntimeError("the API failed on page 3")
    assert target.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]  # no temp file left


def test_file_output_replaces_on_success_and_keeps_mode(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    os.chmod(target, 0o640)
    with open_sink(str(target), "csv", COLS, table="t") as sink:
        assert target.read_text() == "previous\n"  # nothing visible until close
        sink.write(ROWS)
    assert target.read_text().startswith("id,name")
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]


def test_file_in_missing_folder_is_a_sink_error(tmp_path):
    with pytest.raises(SinkError, match="No such file"):
        open_sink(str(tmp_path / "nope" / "out.csv"), "csv", COLS, table="t")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_disk_full_is_a_clear_sink_error(fmt):
    many = [(i, "x" * 100, True, 1.0, None) for i in range(50_000)]
    with pytest.raises(SinkError) as e:
        with open_sink("/dev/full", fmt, COLS, table="t") as sink:
            sink.write(many)
    assert "No space left on device" in str(e.value) and "/dev/full" in str(e.value)
    assert e.value.exit_code == EXIT_RUN_FAILED
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")  # a device is written, never replaced


def test_disk_full_on_a_stream_is_a_sink_error():
    with open("/dev/full", "w") as stream:
        with pytest.raises(SinkError, match="No space left on device"):
            with open_sink(None, "csv", COLS, table="t", stream=stream) as sink:
                sink.write([(i, "x" * 100, True, 1.0, None) for i in range(50_000)])


def test_write_after_close_is_refused():
    sink = open_sink(None, "csv", COLS, table="t", stream=io.StringIO())
    sink.close()
    sink.close()  # idempotent
    sink.abort()  # no-op after close
    with pytest.raises(SinkError):
        sink.write(ROWS)


# -- targets and names -----------------------------------------------------------------------------------------
def test_sqlite_urls(tmp_path):
    assert parse_target("sqlite:///rel/x.db", "/base").location == "/base/rel/x.db"
    assert parse_target("sqlite:////abs/x.db", "/base").location == "/abs/x.db"
    assert parse_target("-").kind == "stdout" and parse_target(None).kind == "stdout"
    with pytest.raises(OptionError):
        parse_target("sqlite://x.db")
    with pytest.raises(OptionError):
        parse_target("mysql://u:secret@h/db")


def test_redact_url():
    assert redact_url("postgresql://u:s3cr3t@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("postgresql://h/db?user=u&password=s3cr3t") == "postgresql://h/db?user=u&password=***"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("bad", ["a;drop table x", "a b", "", "s.t", '"t"', "_rsd_runs", "_rsd_stage_x"])
def test_bad_table_names_sqlite(tmp_path, bad):
    with pytest.raises(OptionError):
        open_sink(f"sqlite:///{tmp_path}/x.db", None, COLS, table=bad)


def test_postgres_without_psycopg_suggests_the_extra(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_psycopg(name, *a, **kw):
        if name == "psycopg":
            raise ImportError("no psycopg")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    with pytest.raises(OptionError) as e:
        open_sink("postgresql://u:pw@127.0.0.1:1/db", None, COLS, table="t")
    assert "rsd-profiles[postgres]" in (e.value.hint or "")


# -- databases (`db`: SQLite always, PostgreSQL when RSD_TEST_POSTGRES_URL is set) -------------------------------
SIMPLE = [SinkColumn("id", "integer", True), SinkColumn("name"), SinkColumn("amount", "number")]


def load(db, rows, mode="truncate", cols=SIMPLE, table="items", pages=1):
    with open_sink(db.url, None, cols, table=table, mode=mode) as sink:
        for p in range(pages):
            sink.write(r for i, r in enumerate(rows) if i % pages == p)
    return sink


def test_db_truncate_creates_then_replaces_rows(db):
    sink = load(db, [(1, "a", 1.0), (2, "b", None)])
    assert sink.rows_written == 2
    assert db.rows("items") == [(1, "a", 1.0), (2, "b", None)]
    load(db, [(3, "c", 3.5)], pages=1)
    assert db.rows("items") == [(3, "c", 3.5)]
    assert db.staging_tables() == []


def test_db_truncate_keeps_the_table_definition(db):
    load(db, [(1, "a", 1.0)])
    db.execute('CREATE INDEX items_name ON items (name)')
    load(db, [(2, "b", 2.0)])
    assert db.rows("items") == [(2, "b", 2.0)]
    if db.name == "sqlite":
        assert db.query("SELECT name FROM sqlite_master WHERE type='index' AND name='items_name'")
    else:
        assert db.query("SELECT 1 FROM pg_indexes WHERE indexname = 'items_name'")


def test_db_append(db):
    load(db, [(1, "a", 1.0)])
    load(db, [(2, "b", 2.0), (3, "c", 3.0)], mode="append", pages=2)
    assert db.rows("items") == [(1, "a", 1.0), (2, "b", 2.0), (3, "c", 3.0)]


def test_db_upsert_updates_inserts_and_last_row_wins(db):
    load(db, [(1, "a", 1.0), (2, "b", 2.0)])
    sink = load(db, [(2, "B", 20.0), (3, "c", 3.0), (3, "C", 30.0)], mode="upsert")
    assert sink.rows_written == 3
    assert db.rows("items") == [(1, "a", 1.0), (2, "B", 20.0), (3, "C", 30.0)]


def test_db_upsert_into_new_table_and_all_key_columns(db):
    cols = [SinkColumn("a", "integer", True), SinkColumn("b", "string", True)]
    load(db, [(1, "x"), (1, "x"), (2, "y")], mode="upsert", cols=cols, table="pairs")
    load(db, [(2, "y"), (3, "z")], mode="upsert", cols=cols, table="pairs")
    assert db.rows("pairs", "1, 2") == [(1, "x"), (2, "y"), (3, "z")]


def test_db_upsert_needs_key_columns(db):
    with pytest.raises(OptionError, match="key"):
        open_sink(db.url, None, [SinkColumn("a"), SinkColumn("b")], table="nokey", mode="upsert")


def test_db_upsert_needs_the_same_primary_key(db):
    load(db, [(1, "a", 1.0)], cols=[SinkColumn("id", "integer"), SinkColumn("name"), SinkColumn("amount", "number")])
    with pytest.raises(SinkError, match="--mode replace"):
        open_sink(db.url, None, SIMPLE, table="items", mode="upsert")


def test_db_columns_changed_is_an_error_naming_replace(db):
    load(db, [(1, "a", 1.0)])
    changed = [SinkColumn("id", "integer", True), SinkColumn("name"), SinkColumn("email")]
    for mode in ("truncate", "append", "upsert"):
        with pytest.raises(SinkError) as e:
            open_sink(db.url, None, changed, table="items", mode=mode)
        assert "--mode replace" in str(e.value) and "email" in str(e.value) and "amount" in str(e.value)
        assert e.value.exit_code == EXIT_RUN_FAILED
    retyped = [SinkColumn("id", "integer", True), SinkColumn("name", "integer"), SinkColumn("amount", "number")]
    with pytest.raises(SinkError, match="type changed name"):
        open_sink(db.url, None, retyped, table="items")
    assert db.rows("items") == [(1, "a", 1.0)]


def test_db_replace_recreates_with_changed_columns(db):
    load(db, [(1, "a", 1.0)])
    changed = [SinkColumn("id", "integer", True), SinkColumn("email")]
    load(db, [(7, "x@example.com")], mode="replace", cols=changed)
    assert db.column_names("items") == ["id", "email"]
    assert db.rows("items") == [(7, "x@example.com")]


def test_db_abort_and_exception_leave_the_previous_table(db):
    load(db, [(1, "a", 1.0)])
    for mode in ("truncate", "append", "upsert", "replace"):
        sink = open_sink(db.url, None, SIMPLE, table="items", mode=mode)
        sink.write([(2, "b", 2.0)])
        sink.abort()
        with pytest.raises(KeyboardInterrupt):
            with open_sink(db.url, None, SIMPLE, table="items", mode=mode) as sink:
                sink.write([(3, "c", 3.0)])
                raise KeyboardInterrupt
    assert db.rows("items") == [(1, "a", 1.0)]
    assert db.staging_tables() == []


def test_db_failed_merge_leaves_the_previous_table(db):
    load(db, [(1, "a", 1.0)])
    with pytest.raises(SinkError, match="(?i)unique|duplicate"):
        load(db, [(5, "x", 1.0), (5, "y", 2.0)])  # truncate, but the key repeats
    assert db.rows("items") == [(1, "a", 1.0)]
    with pytest.raises(SinkError):
        load(db, [(1, "dup", 1.0)], mode="append")
    assert db.rows("items") == [(1, "a", 1.0)]


def test_db_bad_value_fails_cleanly(db):
    load(db, [(1, "a", 1.0)])
    with pytest.raises(SinkError):
        load(db, [(2, "b")])  # a short row
    assert db.rows("items") == [(1, "a", 1.0)]


def test_db_odd_identifiers_are_quoted(db):
    cols = [SinkColumn('we"ird name', "string"), SinkColumn("select", "integer"), SinkColumn("Mixed%Case", "string")]
    load(db, [("x", 1, "%s")], cols=cols, table="Order")
    assert db.column_names("Order") == ['we"ird name', "select", "Mixed%Case"]
    assert db.rows("Order") == [("x", 1, "%s")]


def test_db_duplicate_column_names_are_refused(db):
    with pytest.raises(OptionError, match="duplicate"):
        open_sink(db.url, None, [SinkColumn("a"), SinkColumn("A")], table="dups")


def test_db_sink_exposes_redacted_url(db):
    sink = open_sink(db.url, None, SIMPLE, table="items")
    sink.abort()
    assert sink.url_redacted


def test_record_run(db):
    record_run(db.url, job="nightly", step="accounts", started=0, finished=90.5, rows=10, pages=2, requests=3,
               status="ok", error=None, table="accounts")
    record_run(db.url, job="nightly", step="accounts", started="2024-01-01T00:00:00+00:00",
               finished="2024-01-01T00:01:00+00:00", rows=0, pages=0, requests=1, status="failed",
               error="HTTP 500 from https://api.example.com/x?token=***")
    got = db.query('SELECT job, step, target_table, rows, pages, requests, status, error FROM "_rsd_runs" ORDER BY id')
    assert got == [
        ("nightly", "accounts", "accounts", 10, 2, 3, "ok", None),
        ("nightly", "accounts", None, 0, 0, 1, "failed", "HTTP 500 from https://api.example.com/x?token=***"),
    ]


# -- SQLite specifics ------------------------------------------------------------------------------------------
def test_sqlite_types(tmp_path):
    db = SqliteBackend(tmp_path)
    cols = COLS + [SinkColumn("at", "datetime")]
    with open_sink(db.url, None, cols, table="typed") as sink:
        sink.write([r + ("2024-01-31T10:00:00Z",) for r in ROWS])
    assert db.query("SELECT name, type, pk FROM pragma_table_info('typed')") == [
        ("id", "INTEGER", 1), ("name", "TEXT", 0), ("ok", "BOOLEAN", 0), ("amount", "REAL", 0),
        ("day", "TEXT", 0), ("at", "TEXT", 0),
    ]
    assert db.query("SELECT typeof(id), typeof(name), typeof(ok), ok, typeof(amount), typeof(day) FROM typed "
                    "WHERE id = 1") == [("integer", "text", "integer", 1, "real", "text")]
    assert db.query("SELECT amount FROM typed WHERE id = 4") == [(10.0,)]


def test_sqlite_relative_url_uses_base_dir(tmp_path):
    with open_sink("sqlite:///sub.db", None, SIMPLE, table="items", base_dir=str(tmp_path)) as sink:
        sink.write([(1, "a", 1.0)])
    assert sqlite3.connect(tmp_path / "sub.db").execute("SELECT count(*) FROM items").fetchone() == (1,)


def test_sqlite_accepts_a_table_created_by_hand(tmp_path):
    db = SqliteBackend(tmp_path)
    db.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount NUMERIC)")
    load(db, [(1, "a", 1.5)])
    load(db, [(1, "b", 2.5)], mode="upsert")
    assert db.rows("items") == [(1, "b", 2.5)]


def test_sqlite_does_not_hold_the_write_lock_while_loading(tmp_path):
    db = SqliteBackend(tmp_path)
    load(db, [(1, "a", 1.0)])
    with open_sink(db.url, None, SIMPLE, table="items") as sink:
        sink.write([(2, "b", 2.0)])
        other = sqlite3.connect(db.path, timeout=0.1)
        other.execute("INSERT INTO items VALUES (9, 'other writer', 0)")  # would raise 'database is locked'
        other.commit()
        assert other.execute("SELECT count(*) FROM items").fetchone() == (2,)  # nor a reader's lock
        other.close()
        sink.write([(3, "c", 3.0)])  # the load's own transaction (the staging table's) goes on
    assert db.rows("items") == [(2, "b", 2.0), (3, "c", 3.0)]


def test_sqlite_missing_folder(tmp_path):
    with pytest.raises(SinkError, match="does not exist"):
        open_sink(f"sqlite:///{tmp_path}/no/such.db", None, SIMPLE, table="items")


# -- killed runs -----------------------------------------------------------------------------------------------
def run_helper(url, table, *args, progress=None, wait=True):
    cmd = [sys.executable, str(HELPER), url, table, *args]
    if progress:
        cmd += ["--progress", str(progress)]
    proc = subprocess.Popen(cmd, env=with_checkout(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    return proc


def wait_for_pages(proc, progress, pages, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress.exists() and len(progress.read_text().split()) >= pages:
            return
        if proc.poll() is not None:
            raise AssertionError(f"helper exited early: {proc.stderr.read().decode()}")
        time.sleep(0.02)
    raise AssertionError("helper made no progress")


@pytest.mark.slow  # kills a separate process
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGTERM-handled"])
def test_killed_run_leaves_previous_table_and_next_run_succeeds(db, tmp_path, how):
    table = "killed"
    run_helper(db.url, table, "--pages", "2", "--page-rows", "50", "--tag", "old")
    before = db.rows(table)
    assert len(before) == 100

    progress = tmp_path / "progress.txt"
    extra = ["--raise-on-term"] if how == "SIGTERM-handled" else []
    proc = run_helper(db.url, table, "--pages", "1000", "--page-rows", "200", "--delay", "0.05", *extra,
                      progress=progress, wait=False)
    try:
        wait_for_pages(proc, progress, 3)
        proc.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode != 0

    assert db.rows(table) == before
    assert db.staging_tables() == []

    run_helper(db.url, table, "--pages", "3", "--page-rows", "100")
    after = db.rows(table)
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean_db = SqliteBackend(clean_dir)
    run_helper(clean_db.url, table, "--pages", "3", "--page-rows", "100")
    expected = clean_db.rows(table)
    if db.name == "postgres":  # compare across backends on what both store the same way
        after = [(r[0], r[1], r[2]) for r in after]
        expected = [(r[0], r[1], r[2]) for r in expected]
    assert after == expected and len(after) == 300
