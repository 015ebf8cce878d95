"""Loading database targets end to end: `rsd run ... --output sqlite:///... | postgresql://...` against the demo
API. Exact rows (computed from the server's own data), exact exit codes; runs killed with SIGTERM and SIGKILL in the
middle of paging leave the previous table exactly as it was, and a re-run gives the table of one clean run.

PostgreSQL cases are marked `postgres` and run when RSD_TEST_POSTGRES_URL is set (eval "$(bash .ci/start-postgres)").
"""
from __future__ import annotations

import copy
import signal
import time

import pytest

from rsd.demo.server import DemoServer

from cli_support import rsd_popen, rsd_process
from job_helpers import expected_rows, runs, table_rows, write_profile
from sink_helpers.backends import make_backend

COLS3 = ("Id", "Name", "NumberOfEmployees")


@pytest.fixture
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def load(srv, db, profile, *extra, table="items"):
    return rsd_process("run", profile, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", table, "-q", *extra)


def rename_all(srv, suffix):
    for a in srv.data["accounts"]:
        a["Name"] = a["Name"] + suffix


# -- killed in the middle of paging ---------------------------------------------------------------------------------
BIG = 3000  # accounts; the engine hands rows to the sink in batches of 1,000, so a kill after 8 pages of 200
PER_PAGE = 200  # comes after rows went into the staging table


@pytest.fixture
def big_srv():
    with DemoServer(require_auth=False, records={"accounts": BIG}) as s:
        yield s


@pytest.mark.slow  # kills a separate process
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_killed_mid_paging_leaves_previous_table_and_rerun_equals_clean_run(big_srv, db, tmp_path, sig):
    srv = big_srv
    profile = write_profile(tmp_path / "Items.rsd")
    paged = ("-o", f"PerPage={PER_PAGE}")
    p = load(srv, db, profile, *paged)
    assert p.returncode == 0, p.stderr
    before = table_rows(db, "items")
    assert before == expected_rows(srv) and len(before) == BIG

    # the server's data changes, and it becomes slow: 16 requests, 0.1 s each
    rename_all(srv, " v2")
    srv.latency = 0.1
    served_before = srv.stats.requests["/api/accounts"]
    proc = rsd_popen("run", profile, "-o", f"BaseURL={srv.url}", *paged, "--output", db.url, "--table", "items",
                     "-q")
    try:
        deadline = time.monotonic() + 20
        while srv.stats.requests["/api/accounts"] - served_before < 8:  # 1,600 rows: one batch is staged
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    pages_served = srv.stats.requests["/api/accounts"] - served_before
    assert pages_served < BIG // PER_PAGE, "the run was not killed in the middle of paging"
    if sig == "SIGTERM":
        assert proc.returncode == 143, err
        assert "terminated (SIGTERM); the load in progress was not committed" in err
    else:
        assert proc.returncode == -signal.SIGKILL

    assert table_rows(db, "items") == before  # exactly the previous table
    assert db.staging_tables() == []
    history = runs(db)
    if sig == "SIGTERM":  # unwound: rolled back and recorded
        assert [h[6] for h in history] == ["ok", "interrupted"]
        assert history[1][7] == "interrupted (Terminated); nothing was committed"
    else:  # no chance to record anything
        assert [h[6] for h in history] == ["ok"]

    srv.latency = 0.0
    p = load(srv, db, profile, *paged)
    assert p.returncode == 0, p.stderr
    after = table_rows(db, "items")

    (tmp_path / "clean").mkdir()
    clean = make_backend("sqlite", tmp_path / "clean")
    p = load(srv, clean, profile, *paged)
    assert p.returncode == 0, p.stderr
    assert after == table_rows(clean, "items") == expected_rows(srv)
    assert len(after) == BIG and after[0][1].endswith(" v2")


def test_http_failure_mid_paging_leaves_previous_table(srv, db, tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    assert load(srv, db, profile).returncode == 0
    before = table_rows(db, "items")
    rename_all(srv, " v2")
    p = load(srv, db, profile, "-o", "CustomUrlParams=fail_page=4")
    assert p.returncode == 1, p.stderr
    assert "500" in p.stderr and "Traceback" not in p.stderr
    assert table_rows(db, "items") == before
    assert db.staging_tables() == []
    history = runs(db)
    assert [(h[1], h[2], h[3], h[6]) for h in history] == [("", "items", 237, "ok"), ("", "items", 0, "failed")]
    assert "HTTP 500" in history[1][7]
    assert history[1][5] >= 4  # the requests made before the failure


# -- modes ----------------------------------------------------------------------------------------------------------
def test_upsert_updates_changed_rows_adds_new_ones_keeps_the_rest(srv, db, tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    assert load(srv, db, profile).returncode == 0
    original = expected_rows(srv)

    accounts = srv.data["accounts"]
    accounts[0]["Name"] = "Renamed zero"
    accounts[100]["NumberOfEmployees"] = 999999
    removed = accounts.pop(50)  # gone from the API: upsert keeps it
    for n in (900, 901):
        new = copy.deepcopy(accounts[1])
        new["Id"], new["Name"], new["NumberOfEmployees"] = f"001DM{n:010d}", f"New {n}", n
        accounts.append(new)

    p = load(srv, db, profile, "--mode", "upsert")
    assert p.returncode == 0, p.stderr
    want = {r[0]: r for r in original}
    want.update({r[0]: r for r in expected_rows(srv)})
    assert table_rows(db, "items") == sorted(want.values())
    got = dict((r[0], r) for r in table_rows(db, "items"))
    assert got[accounts[0]["Id"]][1] == "Renamed zero"
    assert got[accounts[99]["Id"]][2] == 999999  # index 100 before the pop
    assert got[removed["Id"]] == (removed["Id"], removed["Name"], removed["NumberOfEmployees"])
    assert got["001DM0000000900"] == ("001DM0000000900", "New 900", 900)
    assert len(got) == 239


def test_upsert_without_key_columns_is_invalid_input(srv, db, tmp_path):
    profile = write_profile(tmp_path / "Items.rsd", key=())
    p = load(srv, db, profile, "--mode", "upsert")
    assert p.returncode == 2
    assert 'needs key columns: mark them key="true" in api:info' in p.stderr
    assert not db.exists("items")


def test_append_adds_rows(srv, db, tmp_path):
    profile = write_profile(tmp_path / "Items.rsd", key=())
    assert load(srv, db, profile, "--mode", "append").returncode == 0
    assert load(srv, db, profile, "--mode", "append").returncode == 0
    assert table_rows(db, "items") == sorted(expected_rows(srv) * 2)


def test_truncate_with_changed_columns_fails_then_replace_recreates(srv, db, tmp_path):
    old = write_profile(tmp_path / "Old.rsd", ("Id", "Name"))
    assert load(srv, db, old).returncode == 0
    before = table_rows(db, "items", ("Id", "Name"))
    assert before == expected_rows(srv, ("Id", "Name"))

    new = write_profile(tmp_path / "New.rsd", ("Id", "Name", "NumberOfEmployees", "IsActive"))
    requests_before = srv.stats.total_requests
    p = load(srv, db, new)
    assert p.returncode == 1, p.stderr
    assert "missing NumberOfEmployees, IsActive" in p.stderr
    assert "use --mode replace to recreate it" in p.stderr
    assert srv.stats.total_requests == requests_before  # refused before any HTTP work
    assert db.column_names("items") == ["Id", "Name"]
    assert table_rows(db, "items", ("Id", "Name")) == before
    assert runs(db)[-1][6] == "failed"

    p = load(srv, db, new, "--mode", "replace")
    assert p.returncode == 0, p.stderr
    assert db.column_names("items") == ["Id", "Name", "NumberOfEmployees", "IsActive"]
    cols = ("Id", "Name", "NumberOfEmployees", "IsActive")
    assert table_rows(db, "items", cols) == expected_rows(srv, cols)

    # replace with the same columns is a plain reload
    rename_all(srv, " v3")
    assert load(srv, db, new, "--mode", "replace").returncode == 0
    assert table_rows(db, "items", cols) == expected_rows(srv, cols)


def test_truncate_keeps_table_definition_and_replaces_rows(srv, db, tmp_path):
    profile = write_profile(tmp_path / "Items.rsd")
    assert load(srv, db, profile).returncode == 0
    srv.data["accounts"][:] = srv.data["accounts"][:30]
    rename_all(srv, " v2")
    assert load(srv, db, profile).returncode == 0
    assert table_rows(db, "items") == expected_rows(srv)
    assert len(table_rows(db, "items")) == 30


def test_column_types_and_primary_key_from_the_profile(srv, db, tmp_path):
    cols = ("Id", "Name", "NumberOfEmployees", "AnnualRevenue", "IsActive")
    profile = write_profile(tmp_path / "Items.rsd", cols)
    assert load(srv, db, profile).returncode == 0
    if db.name == "sqlite":
        info = db.query('SELECT name, type, pk FROM pragma_table_info(\'items\') ORDER BY cid')
        assert info == [("Id", "TEXT", 1), ("Name", "TEXT", 0), ("NumberOfEmployees", "INTEGER", 0),
                        ("AnnualRevenue", "REAL", 0), ("IsActive", "BOOLEAN", 0)]
    else:
        info = db.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = 'items' ORDER BY ordinal_position", (db.schema,))
        assert info == [("Id", "text"), ("Name", "text"), ("NumberOfEmployees", "bigint"),
                        ("AnnualRevenue", "double precision"), ("IsActive", "boolean")]
        pk = db.query("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                      "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary",
                      (f'"{db.schema}"."items"',))
        assert pk == [("Id",)]
    got = table_rows(db, "items", cols)
    assert got == expected_rows(srv, cols)
    assert {type(r[4]) for r in got} <= ({int} if db.name == "sqlite" else {bool})


def test_rerun_after_failure_equals_one_clean_run(srv, db, tmp_path):
    """A failed first load into a new table leaves no table; the re-run gives what one clean run gives."""
    profile = write_profile(tmp_path / "Items.rsd")
    p = load(srv, db, profile, "-o", "CustomUrlParams=fail_page=2")
    assert p.returncode == 1
    assert not db.exists("items")
    p = load(srv, db, profile)
    assert p.returncode == 0, p.stderr
    assert table_rows(db, "items") == expected_rows(srv)
    assert [(h[3], h[6]) for h in runs(db)] == [(0, "failed"), (237, "ok")]
