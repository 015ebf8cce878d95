"""Columnar targets end to end: Parquet files and DuckDB tables (issue #10), against the demo API.

- Every demo profile loaded into SQLite, Parquet and DuckDB gives the same rows and the same column types, read
  back with sqlite3, pyarrow and duckdb.
- Runs killed with SIGTERM or SIGKILL in the middle of paging leave the previous Parquet file byte for byte, and the
  previous DuckDB table row for row.
- DuckDB passes the load tests SQLite and PostgreSQL pass (modes, staging, `_rsd_runs`, failures): they are imported
  from test_loading.py and run here with a DuckDB `db`.
- A job step writes Parquet and DuckDB through the registry alone.
- Arrow batches: types, nulls, datetimes with and without an offset.
"""
from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import time

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

from rsd import api  # noqa: E402
from rsd.demo.run import PROFILES, samples_dir  # noqa: E402
from rsd.demo.server import DemoServer  # noqa: E402
from rsd.errors import OptionError  # noqa: E402
from rsd.reader import read_profile  # noqa: E402
from rsd.sinks import SinkColumn, open_sink, sink_columns  # noqa: E402
from rsd.sinks.arrow import BatchBuilder, page_writer  # noqa: E402

from cli_support import rsd_popen, rsd_process  # noqa: E402
from job_helpers import expected_rows, table_rows, write_profile  # noqa: E402
from sink_helpers.backends import DuckDbBackend  # noqa: E402

# The load tests of SQLite and PostgreSQL, run here against DuckDB (the `db` fixture below).
from test_loading import (  # noqa: E402,F401
    big_srv,
    srv,
    test_append_adds_rows,
    test_http_failure_mid_paging_leaves_previous_table,
    test_killed_mid_paging_leaves_previous_table_and_rerun_equals_clean_run,
    test_rerun_after_failure_equals_one_clean_run,
    test_truncate_keeps_table_definition_and_replaces_rows,
    test_truncate_with_changed_columns_fails_then_replace_recreates,
    test_upsert_updates_changed_rows_adds_new_ones_keeps_the_rest,
    test_upsert_without_key_columns_is_invalid_input,
)

UTC = dt.timezone.utc


@pytest.fixture
def db(tmp_path):
    """A DuckDB file: every test imported from test_loading.py runs against it."""
    return DuckDbBackend(tmp_path)


# -- the demo's profiles: SQLite, Parquet and DuckDB hold the same rows and types -------------------------------------
def _canonical(value, kind: str):
    """A value as read back from any of the three targets -> one Python value to compare."""
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)  # SQLite stores 0/1
    if kind == "date":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    if kind == "datetime":
        if isinstance(value, str):  # SQLite keeps the ISO text as the API wrote it; naive text is UTC
            value = dt.datetime.fromisoformat(value)
            value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


PYTHON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "date": dt.date,
                "datetime": dt.datetime}
PARQUET_TYPES = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool",
                 "date": "date32[day]", "datetime": "timestamp[us, tz=UTC]"}
DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN",
                "date": "DATE", "datetime": "TIMESTAMP WITH TIME ZONE"}


@pytest.mark.parametrize("profile_file, table", PROFILES)
def test_demo_profiles_give_the_same_rows_and_types_in_sqlite_parquet_and_duckdb(tmp_path, profile_file, table):
    profile = str(samples_dir() / profile_file)
    columns = sink_columns(read_profile(profile).info.columns)
    kinds = [c.type for c in columns]
    with DemoServer(require_auth=False) as demo:
        opts = [("BaseURL", demo.url)]
        sqlite_url, duck_url = f"sqlite:///{tmp_path}/t.db", f"duckdb:///{tmp_path}/t.duckdb"
        parquet = str(tmp_path / "t.parquet")
        summaries = [api.run(profile, options=opts, output=sqlite_url, table=table),
                     api.run(profile, options=opts, output=parquet, table=table),
                     api.run(profile, options=opts, output=duck_url, table=table)]
    assert len({s.rows for s in summaries}) == 1 and summaries[0].rows > 0

    conn = sqlite3.connect(tmp_path / "t.db")
    from_sqlite = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    conn.close()
    arrow_table = pq.read_table(parquet)
    from_parquet = [tuple(r.values()) for r in arrow_table.to_pylist()]
    dconn = duckdb.connect(str(tmp_path / "t.duckdb"))
    from_duckdb = dconn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
    duck_types = [r[1] for r in dconn.execute(f'DESCRIBE "{table}"').fetchall()]
    dconn.close()

    def canonical(rows):
        return [tuple(_canonical(v, k) for v, k in zip(row, kinds)) for row in rows]

    assert len(from_sqlite) == summaries[0].rows
    assert canonical(from_parquet) == canonical(from_sqlite)
    assert canonical(from_duckdb) == canonical(from_sqlite)
    # the types: each column's values are of its xs:type's Python type in every target
    for rows in (from_parquet, from_duckdb):
        for i, kind in enumerate(kinds):
            assert {type(r[i]) for r in rows if r[i] is not None} <= {PYTHON_TYPES[kind]}, columns[i]
    assert [str(f.type) for f in arrow_table.schema] == [PARQUET_TYPES[k] for k in kinds]
    assert arrow_table.schema.names == [c.name for c in columns]
    assert duck_types == [DUCKDB_TYPES[k] for k in kinds]


# -- killed in the middle of paging: the previous file or table stays ---------------------------------------------
BIG, PER_PAGE = 3000, 200  # 15 pages; the run is killed after 8


def _kill_mid_paging(demo, profile, output, sig):
    demo.latency = 0.1  # 16 requests of 0.1 s: the kill lands well inside the run
    served_before = demo.stats.requests["/api/accounts"]
    proc = rsd_popen("run", profile, "-o", f"BaseURL={demo.url}", "-o", f"PerPage={PER_PAGE}", "--output", output,
                     "--table", "items", "-q")
    try:
        deadline = time.monotonic() + 20
        while demo.stats.requests["/api/accounts"] - served_before < 8:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    demo.latency = 0.0
    assert demo.stats.requests["/api/accounts"] - served_before < BIG // PER_PAGE, "not killed mid-paging"
    assert proc.returncode == (143 if sig == "SIGTERM" else -signal.SIGKILL), err
    return err


def _rename_all(demo, suffix):
    for a in demo.data["accounts"]:
        a["Name"] += suffix


@pytest.mark.slow  # kills a separate process
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killed_parquet_run_leaves_the_previous_file_as_it_was(tmp_path, sig):
    profile = write_profile(tmp_path / "Items.rsd")
    out = tmp_path / "items.parquet"
    with DemoServer(require_auth=False, records={"accounts": BIG}) as demo:
        p = rsd_process("run", profile, "-o", f"BaseURL={demo.url}", "-o", f"PerPage={PER_PAGE}", "--output", out,
                        "-q")
        assert p.returncode == 0, p.stderr
        before = out.read_bytes()
        assert sorted(tuple(r.values()) for r in pq.read_table(out).to_pylist()) == expected_rows(demo)
        _rename_all(demo, " v2")
        _kill_mid_paging(demo, profile, out, sig)
        assert out.read_bytes() == before  # byte for byte
        leftovers = [f.name for f in tmp_path.iterdir() if f.name.endswith(".rsd-tmp")]
        # SIGTERM unwinds and deletes the temporary file; SIGKILL gives no chance to (a hidden .rsd-tmp stays)
        assert len(leftovers) == (0 if sig == "SIGTERM" else 1)
        p = rsd_process("run", profile, "-o", f"BaseURL={demo.url}", "-o", f"PerPage={PER_PAGE}", "--output", out,
                        "-q")
        assert p.returncode == 0, p.stderr
        got = sorted(tuple(r.values()) for r in pq.read_table(out).to_pylist())
        assert got == expected_rows(demo) and len(got) == BIG and got[0][1].endswith(" v2")
        # the next write of the same file removed the killed process's temporary file (rsd/atomic.py)
        assert [f.name for f in tmp_path.iterdir() if f.name.endswith(".rsd-tmp")] == []


@pytest.mark.slow  # kills a separate process
def test_killed_duckdb_run_leaves_the_previous_table_and_the_file_usable(tmp_path):
    """(test_killed_mid_paging_... above covers both signals with the full history checks; this one adds that the
    file opens right after a SIGKILL and that the in-memory staging left nothing in it.)"""
    profile = write_profile(tmp_path / "Items.rsd")
    db = DuckDbBackend(tmp_path)
    with DemoServer(require_auth=False, records={"accounts": BIG}) as demo:
        p = rsd_process("run", profile, "-o", f"BaseURL={demo.url}", "-o", f"PerPage={PER_PAGE}", "--output", db.url,
                        "--table", "items", "-q")
        assert p.returncode == 0, p.stderr
        before = table_rows(db, "items")
        _rename_all(demo, " v2")
        _kill_mid_paging(demo, profile, db.url, "SIGKILL")
        assert table_rows(db, "items") == before and not before[0][1].endswith(" v2")
        tables = sorted(r[0] for r in db.query("SELECT table_name FROM duckdb_tables()"))
        assert tables == ["_rsd_runs", "items"]
        assert [r[0] for r in db.query("SELECT status FROM _rsd_runs ORDER BY id")] == ["ok"]


# -- job steps get the targets through the registry ---------------------------------------------------------------
def test_a_job_step_writes_parquet_and_duckdb(tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    job = tmp_path / "job.toml"
    with DemoServer(require_auth=False) as demo:
        job.write_text(f"""
[[steps]]
name = "to_parquet"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "{demo.url}" }}
output = "out/items.parquet"

[[steps]]
name = "to_duckdb"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "{demo.url}" }}
output = "duckdb:///out/warehouse.duckdb"
table = "items"
""", encoding="utf-8")
        (tmp_path / "out").mkdir()
        p = rsd_process("job", "check", job)
        assert p.returncode == 0, p.stdout + p.stderr
        p = rsd_process("job", "run", job)
        assert p.returncode == 0, p.stderr
        want = expected_rows(demo)
    assert profile.exists()
    assert sorted(tuple(r.values()) for r in pq.read_table(tmp_path / "out" / "items.parquet").to_pylist()) == want
    db = DuckDbBackend(tmp_path / "out")
    assert table_rows(db, "items") == want
    assert db.query("SELECT job, step, target_table, rows, status FROM _rsd_runs") == [
        ("job.toml", "to_duckdb", "items", 237, "ok")]


# -- the command line ------------------------------------------------------------------------------------------------
def test_parquet_to_stdout_is_invalid_input(tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    p = rsd_process("run", profile, "-o", "BaseURL=http://127.0.0.1:9", "-f", "parquet")
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == "rsd: error: -f parquet writes a file: give --output FILE.parquet"
    assert "Traceback" not in p.stderr


def test_the_parquet_extension_chooses_the_format_and_a_failed_run_leaves_no_file(tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    out = tmp_path / "items.parquet"
    with DemoServer(require_auth=False) as demo:
        p = rsd_process("run", profile, "-o", f"BaseURL={demo.url}", "-o", "CustomUrlParams=fail_page=3",
                        "--output", out)
    assert p.returncode == 1 and "HTTP 500" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "Items.rsd"]  # no file, no temporary file


# -- Arrow batches ---------------------------------------------------------------------------------------------------
COLS = [SinkColumn("id", "long", key=True), SinkColumn("name", "string"), SinkColumn("amount", "decimal"),
        SinkColumn("ok", "bool"), SinkColumn("day", "date"), SinkColumn("at", "datetime")]


def test_a_page_becomes_one_typed_record_batch():
    build = BatchBuilder(COLS)
    batch = build([
        (1, "a", 1.5, True, "2024-02-03", "2024-02-03T04:05:06Z"),
        (2, None, None, None, None, None),
        (3, "c", -2.0, False, "2024-12-31", "2024-02-03T04:05:06.000+0200"),
    ])
    assert batch.num_rows == 3
    assert [str(t) for t in batch.schema.types] == ["int64", "string", "double", "bool", "date32[day]",
                                                    "timestamp[us, tz=UTC]"]
    assert batch.column(4).to_pylist() == [dt.date(2024, 2, 3), None, dt.date(2024, 12, 31)]
    assert batch.column(5).to_pylist() == [dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC), None,
                                           dt.datetime(2024, 2, 3, 2, 5, 6, tzinfo=UTC)]
    assert build([]).num_rows == 0 and build([]).schema == batch.schema


def test_naive_datetimes_and_seven_digit_fractions_are_read_as_utc():
    build = BatchBuilder([SinkColumn("at", "datetime")])
    batch = build([("2024-02-03T04:05:06",), ("2024-02-03T04:05:06.1234567-01:00",), (None,)])
    assert batch.column(0).to_pylist() == [dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),
                                           dt.datetime(2024, 2, 3, 5, 5, 6, 123456, tzinfo=UTC), None]


def test_only_sinks_that_take_arrow_get_batches(tmp_path):
    got = []

    class Rows:
        takes_arrow = False
        columns = tuple(COLS)

        def write(self, rows):
            got.append(rows)

    class Batches(Rows):
        takes_arrow = True

    page = [(1, "a", 1.5, True, "2024-02-03", "2024-02-03T04:05:06Z")]
    page_writer(Rows())(page)
    page_writer(Batches())(page)
    assert got[0] is page
    assert isinstance(got[1], pa.RecordBatch) and got[1].to_pylist()[0]["name"] == "a"


def test_duckdb_and_parquet_sinks_also_take_rows(tmp_path):
    rows = [(1, "a", 1.5, True, "2024-02-03", "2024-02-03T04:05:06Z")]
    with open_sink(str(tmp_path / "x.parquet"), None, COLS, table="x") as sink:
        assert sink.write(rows) == 1
    with open_sink(f"duckdb:///{tmp_path}/x.duckdb", None, COLS, table="x") as sink:
        assert sink.write(rows) == 1
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 1
    assert DuckDbBackend(tmp_path).path.endswith("warehouse.duckdb")
    conn = duckdb.connect(str(tmp_path / "x.duckdb"))
    assert conn.execute("SELECT id, name, ok, day FROM x").fetchall() == [(1, "a", True, dt.date(2024, 2, 3))]
    conn.close()


def test_parquet_row_groups_are_written_as_pages_arrive(tmp_path, monkeypatch):
    from rsd.sinks import parquet

    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 1000)
    cols = [SinkColumn("id", "int")]
    out = tmp_path / "x.parquet"
    sink = open_sink(str(out), None, cols, table="x")
    write = page_writer(sink)
    for start in range(0, 5000, 500):
        write([(i,) for i in range(start, start + 500)])
    assert sink._pending_rows == 0  # every 1,000 rows went out as a row group: nothing accumulates
    assert len([f for f in tmp_path.iterdir() if f.name.endswith(".rsd-tmp")]) == 1
    assert not out.exists()
    sink.close()
    meta = pq.ParquetFile(out).metadata
    assert (meta.num_row_groups, meta.num_rows) == (5, 5000)
    assert pq.read_table(out).column("id").to_pylist() == list(range(5000))
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".rsd-tmp")]


def test_duckdb_target_folder_must_exist(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        open_sink(f"duckdb:///{tmp_path}/nope/x.duckdb", None, COLS, table="x")


@pytest.mark.slow  # a second process holds the file
def test_duckdb_commit_waits_for_another_process_holding_the_file(tmp_path):
    """DuckDB lets one process at a time open a file: the sink attaches it only to check and to commit, and waits
    for another process that holds it (here for 1.5 s, well under the sink's 60 s wait)."""
    import subprocess
    import sys

    path = tmp_path / "x.duckdb"
    url = f"duckdb:///{path}"
    with open_sink(url, None, COLS, table="x") as sink:
        sink.write([(1, "a", 1.5, True, "2024-02-03", None)])
    sink = open_sink(url, None, COLS, table="x")
    sink.write([(2, "b", 1.5, True, "2024-02-03", None)])
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(1.5); c.close()", str(path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started >= 0.5  # it waited for the holder
    assert holder.wait(timeout=30) == 0
    conn = duckdb.connect(str(path))
    assert conn.execute("SELECT id FROM x").fetchall() == [(2,)]
    conn.close()


def test_missing_extra_is_invalid_input_naming_it(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *args, **kw):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(OptionError) as err:
        BatchBuilder(COLS)
    assert err.value.hint == "pip install 'rsd-profiles[parquet]' (or 'rsd-profiles[duckdb]')"


def test_duckdb_run_history_gains_the_warnings_column_in_place(tmp_path):
    from rsd.sinks import record_run

    path = tmp_path / "h.duckdb"
    conn = duckdb.connect(str(path))  # `_rsd_runs` as rsd created it before the warnings column
    conn.execute("CREATE SEQUENCE _rsd_runs_id; CREATE TABLE _rsd_runs (id BIGINT PRIMARY KEY DEFAULT "
                 "nextval('_rsd_runs_id'), job VARCHAR, step VARCHAR, target_table VARCHAR, started TIMESTAMPTZ, "
                 "finished TIMESTAMPTZ, rows BIGINT, pages BIGINT, requests BIGINT, status VARCHAR, error VARCHAR)")
    conn.close()
    for warnings in (["a path matched nothing"], []):
        record_run(f"duckdb:///{path}", job="j", step="s", started=0, finished=1, rows=1, pages=1, requests=1,
                   status="ok", error=None, table="t", warnings=warnings)
    conn = duckdb.connect(str(path))
    assert conn.execute("SELECT id, warnings FROM _rsd_runs ORDER BY id").fetchall() == [
        (1, '["a path matched nothing"]'), (2, None)]
    conn.close()
