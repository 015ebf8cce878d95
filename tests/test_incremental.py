"""Incremental loads (docs/reference/contract.md §11, docs/targets.md "Incremental loads"): `--incremental COLUMN
--since-input NAME`, `--full-refresh`, and a job step's `incremental = { cursor = ..., input = ... }`, against the
demo API's contacts, whose records gain a later `updated_at` between runs (`DemoServer.touch`/`add`) and which
filters on `?updated_since=` (inclusive).

The issue's "done when": an incremental job run twice, the second run asking only for records at or after the mark,
every record exactly once in the table, and a SIGKILL during the second run leaving table and mark as the first run
left them: SQLite and PostgreSQL (marked `postgres`) here, DuckDB in tests/test_duckdb_incremental.py. File outputs
keep their mark in a state file beside them.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from rsd.demo.server import DemoServer
from rsd.sinks.state import FileState, state_path

from cli_support import SAMPLES, rsd_popen, rsd_process
from job_helpers import runs

PROFILE = SAMPLES / "demo" / "ContactsIncremental.rsd"
COLUMNS = ("id", "first_name", "last_name", "email", "score", "updated_at")
INCREMENTAL = ("--incremental", "updated_at", "--since-input", "updated_since")


@pytest.fixture
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def expected(srv) -> list[tuple]:
    return sorted(tuple(c[k] for k in COLUMNS) for c in srv.data["contacts"])


def table(db, name="contacts") -> list[tuple]:
    rows = db.query(f'SELECT {", ".join(chr(34) + c + chr(34) for c in COLUMNS)} FROM "{name}" ORDER BY "id"')
    return [tuple(r[:-1]) + (_iso(r[-1]),) for r in rows]


def _iso(value) -> str:
    """updated_at as the API writes it (PostgreSQL hands back a datetime)."""
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def state(db) -> list[tuple]:
    return [tuple(r) for r in db.query('SELECT target_table, cursor_column, mark FROM "_rsd_state" ORDER BY 1, 2')]


def contacts_requests(srv) -> list[dict]:
    return [r.params for r in srv.history if r.path == "/api/contacts"]


def latest(srv) -> str:
    return max(c["updated_at"] for c in srv.data["contacts"])


def write_job(tmp_path: Path, srv, db, **extra) -> Path:
    fields = "".join(f"{k} = {v}\n" for k, v in extra.items())
    job = tmp_path / "daily.toml"
    job.write_text(f"""
[[steps]]
name = "contacts"
type = "query"
profile = {json.dumps(str(PROFILE))}
options = {{ BaseURL = {json.dumps(srv.url)}, MaxConcurrency = "1" }}
output = {json.dumps(db.url)}
table = "contacts"
incremental = {{ cursor = "updated_at", input = "updated_since" }}
{fields}""", encoding="utf-8")
    return job


# -- the "done when" ---------------------------------------------------------------------------------------
@pytest.mark.slow  # kills a separate process
def test_job_run_twice_loads_changes_only_and_a_kill_in_between_leaves_table_and_mark(srv, db, tmp_path):
    job = write_job(tmp_path, srv, db)
    first = rsd_process("job", "run", job, "-q")
    assert first.returncode == 0, first.stderr
    assert [r.get("updated_since") for r in contacts_requests(srv)] == [None] * 5  # no mark yet: everything
    after_first = table(db)
    assert after_first == expected(srv) and len(after_first) == 123
    mark1 = latest(srv)
    assert state(db) == [("contacts", "updated_at", mark1)]

    # the API's records change: 60 gain a later updated_at (and a new score), 10 are new
    touched = list(range(0, 120, 2))
    stamp = srv.touch("contacts", touched, score=99.5)
    srv.add("contacts", 10)
    assert stamp > mark1

    # the second run is killed (SIGKILL: no chance to clean up) after its first page (one page at a time:
    # MaxConcurrency=1 in the job, else the pages would all be on their way at once)
    srv.history.clear()
    srv.latency = 0.5
    proc = rsd_popen("job", "run", job, "-q")
    try:
        deadline = time.monotonic() + 30
        while not contacts_requests(srv):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the second run sent no request"
            time.sleep(0.01)
        time.sleep(0.6)  # the first page (25 of the 71 changed records) is mapped and staged
        proc.kill()
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert len(contacts_requests(srv)) < 3, "the run was not killed in the middle of paging"
    assert table(db) == after_first  # the table as the first run left it
    assert state(db) == [("contacts", "updated_at", mark1)]  # and its mark
    assert db.staging_tables() == []

    # run again: only the records at or after the mark are asked for, and loaded on their key
    srv.latency = 0.0
    srv.history.clear()
    second = rsd_process("job", "run", job)
    assert second.returncode == 0, second.stderr
    sent = contacts_requests(srv)
    assert sent and all(r["updated_since"] == mark1 for r in sent)
    changed = [c for c in srv.data["contacts"] if c["updated_at"] >= mark1]
    assert len(changed) == 71  # 60 touched, 10 added, and the one record whose updated_at was the mark itself
    assert "71 rows" in second.stderr and f"since {mark1}" in second.stderr
    final = table(db)
    assert final == expected(srv) and len(final) == 133
    assert len({r[0] for r in final}) == 133  # every record exactly once
    assert {r[0]: r[4] for r in final}[1] == 99.5  # the touched record 0 (id 1) has its new score
    assert state(db) == [("contacts", "updated_at", latest(srv))]
    assert [(h[1], h[3], h[6]) for h in runs(db)] == [("contacts", 123, "ok"), ("contacts", 71, "ok")]


# -- rsd run ---------------------------------------------------------------------------------------------------------
def run(srv, *extra, output):
    return rsd_process("run", PROFILE, "-o", f"BaseURL={srv.url}", "--output", output, "--table", "contacts",
                       *extra)


def test_run_incremental_then_full_refresh(srv, db):
    p = run(srv, *INCREMENTAL, output=db.url)
    assert p.returncode == 0, p.stderr
    assert "incremental on updated_at: no mark yet: everything; mark now " + latest(srv) in p.stderr
    mark = latest(srv)
    srv.touch("contacts", [5], first_name="Changed")
    srv.history.clear()
    p = run(srv, *INCREMENTAL, output=db.url)
    assert p.returncode == 0, p.stderr
    assert f"incremental on updated_at: updated_since={mark}; mark now {latest(srv)}" in p.stderr
    assert "2 rows from 1 page" in p.stderr
    assert table(db) == expected(srv)

    srv.history.clear()
    p = run(srv, *INCREMENTAL, "--full-refresh", output=db.url)
    assert p.returncode == 0, p.stderr
    assert [r.get("updated_since") for r in contacts_requests(srv)] == [None] * 5
    assert "123 rows" in p.stderr and "no mark sent (--full-refresh)" in p.stderr
    assert table(db) == expected(srv)
    assert state(db) == [("contacts", "updated_at", latest(srv))]


def test_incremental_with_a_numeric_cursor_sends_a_number(srv, db):
    p = run(srv, "--incremental", "id", "--since-input", "updated_since", output=db.url, )
    assert p.returncode == 0, p.stderr
    assert state(db) == [("contacts", "id", "123")]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_file_output_keeps_its_mark_beside_it_and_merges_on_the_key(srv, tmp_path, fmt):
    out = tmp_path / f"contacts.{fmt}"
    p = run(srv, *INCREMENTAL, output=str(out))
    assert p.returncode == 0, p.stderr
    mark1 = latest(srv)
    assert FileState(str(out), "updated_at").read() == mark1
    doc = json.loads(Path(state_path(str(out))).read_text())
    assert doc["cursors"]["updated_at"]["mark"] == mark1 and "pending" not in doc["cursors"]["updated_at"]

    srv.touch("contacts", [0, 1, 2], first_name="Changed")
    srv.add("contacts", 2)
    srv.history.clear()
    p = run(srv, *INCREMENTAL, output=str(out))
    assert p.returncode == 0, p.stderr
    assert [r["updated_since"] for r in contacts_requests(srv)] == [mark1]
    rows = read_rows(out, fmt)
    assert sorted(rows) == expected(srv) and len(rows) == 125
    assert rows[0][1] == "Changed"  # the changed records come first, then the previous file's others
    assert FileState(str(out), "updated_at").read() == latest(srv)


def read_rows(path: Path, fmt: str) -> list[tuple]:
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        import csv
        records = list(csv.reader(text.splitlines()))
        assert records[0] == list(COLUMNS)
        return [(int(r[0]), r[1], r[2], r[3], float(r[4]), r[5]) for r in records[1:]]
    objects = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else json.loads(text)
    return [tuple(o[k] for k in COLUMNS) for o in objects]


def test_file_state_survives_a_kill_on_either_side_of_the_rename(tmp_path):
    out = tmp_path / "c.csv"
    out.write_text("old\n")
    st = FileState(str(out), "updated_at")
    st.commit("2024-01-01T00:00:00Z")
    new = tmp_path / ".c.csv.tmp"
    new.write_text("new rows\n")
    st.prepare("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", str(new))
    # killed before the rename: the old file is in place, so is its mark
    assert st.read() == "2024-01-01T00:00:00Z"
    os.replace(new, out)
    # killed after the rename, before the state's last write: the new file is in place, so is its mark
    assert st.read() == "2024-02-01T00:00:00Z"
    st.commit("2024-02-01T00:00:00Z")
    assert st.read() == "2024-02-01T00:00:00Z"


def test_a_failed_second_run_leaves_file_and_mark(srv, tmp_path):
    out = tmp_path / "contacts.jsonl"
    assert run(srv, *INCREMENTAL, output=str(out)).returncode == 0
    before, state_before = out.read_bytes(), Path(state_path(str(out))).read_bytes()
    srv.touch("contacts", range(60), score=1.0)
    p = run(srv, *INCREMENTAL, "-o", "CustomUrlParams=fail_page=2", output=str(out))
    assert p.returncode == 1, p.stderr
    assert out.read_bytes() == before and Path(state_path(str(out))).read_bytes() == state_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.jsonl", "contacts.jsonl.rsd-state.json"]


# -- what is refused (exit 2, one paragraph, before any request) ----------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (("--incremental", "updated_at"),
     "rsd: error: --incremental COLUMN needs --since-input NAME (the input the profile reads the mark from)"),
    (("--since-input", "updated_since"), "rsd: error: --since-input needs --incremental COLUMN (the cursor column)"),
    (("--full-refresh",),
     "rsd: error: --full-refresh needs --incremental COLUMN --since-input NAME (it ignores their mark)"),
    (("--incremental", "nope", "--since-input", "updated_since"),
     "rsd: error: --incremental nope: the profile has no column 'nope'\n"
     "  hint: columns: id, first_name, last_name, email, score, updated_at"),
    ((*INCREMENTAL, "--mode", "truncate"),
     "rsd: error: --incremental loads only the records changed since the mark; --mode truncate would drop every "
     "other row\n  hint: use --mode upsert (the default with --incremental) or append, or add --full-refresh to "
     "reload everything"),
    ((*INCREMENTAL, "-i", "updated_since=2020-01-01"),
     "rsd: error: the input updated_since is given with -i and is also --since-input: rsd sends the target's mark "
     "there\n  hint: drop -i, or add --full-refresh to load everything"),
])
def test_refused(srv, tmp_path, extra, message):
    p = run(srv, *extra, output=f"sqlite:///{tmp_path}/w.db")
    assert (p.returncode, p.stderr) == (2, message + "\n")
    assert srv.stats.requests["/api/contacts"] == 0


def test_refused_to_stdout_and_for_a_boolean_cursor(srv, tmp_path):
    p = rsd_process("run", PROFILE, "-o", f"BaseURL={srv.url}", *INCREMENTAL)
    assert (p.returncode, p.stderr) == (2, "rsd: error: --incremental needs an output that keeps its mark: a database "
                                           "URL or a file, not stdout\n")
    prof = tmp_path / "Flag.rsd"
    prof.write_text(PROFILE.read_text().replace('name="score"      xs:type="double"', 'name="score" xs:type="bool"'))
    p = rsd_process("run", prof, "-o", f"BaseURL={srv.url}", "--incremental", "score", "--since-input", "x",
                    "--output", f"sqlite:///{tmp_path}/w.db")
    assert (p.returncode, p.stderr) == (2, "rsd: error: --incremental score: the column is boolean; a cursor column "
                                           "must be a datetime, date, number or text that grows as records change "
                                           "(such as updated_at)\n")
    assert srv.stats.requests["/api/contacts"] == 0


def test_job_check_reports_a_bad_incremental_field(tmp_path, srv, db):
    job = write_job(tmp_path, srv, db, mode='"truncate"')
    text = job.read_text().replace('input = "updated_since"', 'inptu = "updated_since"')
    job.write_text(text)
    p = rsd_process("job", "check", job)
    assert p.returncode == 2
    lines = [line for line in p.stdout.splitlines() if "JOB008" in line]
    assert [line.split(": ", 1)[1] for line in lines] == [
        "error: [JOB008] step 'contacts': incremental needs input = \"...\"",
        "error: [JOB008] step 'contacts': incremental has no field 'inptu'",
        "error: [JOB008] step 'contacts': mode 'truncate' would drop every row an incremental load does not reload",
    ]
