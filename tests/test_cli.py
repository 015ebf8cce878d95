"""The command line as a user runs it: exact output, exit codes, no tracebacks without --debug."""
from __future__ import annotations

import sqlite3

import pytest

from rsd.demo.server import DemoServer

from cli_support import ROOT, rsd_process

SAMPLES = ROOT / "samples" / "demo"


@pytest.fixture(scope="module")
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def test_run_csv_exact(srv):
    p = rsd_process("run", SAMPLES / "Invoices.rsd", "-o", f"BaseURL={srv.url}", "-f", "csv", "--limit", "2")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    inv = srv.data["invoices"]
    assert lines[0] == "invoice_id,number,account_id,amount,currency,status,paid,due_date"
    i = inv[0]
    assert lines[1] == (f"{i['invoice_id']},{i['number']},{i['account_id']},{i['amount']},{i['currency']},"
                        f"{i['status']},{'true' if i['paid'] else 'false'},{i['due_date']}")
    assert len(lines) == 3
    assert "2 rows from 1 page in 1 request" in p.stderr
    assert "paging stopped: --limit reached" in p.stderr


def test_run_jsonl_and_sqlite(srv, tmp_path):
    out = tmp_path / "p.jsonl"
    p = rsd_process("run", SAMPLES / "Products.rsd", "-o", f"BaseURL={srv.url}", "--output", out)
    assert p.returncode == 0, p.stderr
    assert len(out.read_text().splitlines()) == 64
    db = tmp_path / "w.db"
    p = rsd_process("run", SAMPLES / "Products.rsd", "-o", f"BaseURL={srv.url}", "--output", f"sqlite:///{db}",
            "--table", "products")
    assert p.returncode == 0, p.stderr
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from products").fetchone() == (64,)
    assert con.execute("select status, rows, pages from _rsd_runs").fetchall() == [("ok", 64, 3)]


def test_profile_with_errors_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "Bad.rsd"
    bad.write_text('<api:script xmlns:api="http://apiscript.com/ns?v1">\n  <api:sett attr="x" value="1"/>\n'
                   '  <api:script method="GET"/>\n</api:script>\n')
    p = rsd_process("run", bad)
    assert p.returncode == 2
    assert f"{bad}:2:3: [RSD002] unknown keyword 'api:sett'" in p.stderr
    assert "did you mean 'api:set'?" in p.stderr
    assert "Traceback" not in p.stderr


def test_http_404_exits_1_and_debug_shows_traceback(srv, tmp_path):
    prof = tmp_path / "Nf.rsd"
    prof.write_text(f'''<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="x">
  <api:info title="Nf"><attr name="id" xs:type="string"/></api:info>
  <api:set attr="URI" value="{srv.url}/api/accounts?status=404"/>
  <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>
</api:script>''')
    p = rsd_process("run", prof, "-f", "csv")
    assert p.returncode == 1
    assert "404" in p.stderr and "/api/accounts" in p.stderr
    assert "Traceback" not in p.stderr
    p = rsd_process("run", prof, "-f", "csv", "--debug")
    assert p.returncode == 1
    assert "Traceback" in p.stderr


def test_missing_option_exits_2(srv):
    p = rsd_process("run", SAMPLES / "Accounts.rsd")
    assert p.returncode == 2
    assert "requires the connection option 'BaseURL'" in p.stderr


def test_unresolved_reference_exits_2(srv):
    p = rsd_process("run", SAMPLES / "Accounts.rsd", "-o", "BaseURL=${env:RSD_TEST_SURELY_UNSET}")
    assert p.returncode == 2
    assert "RSD_TEST_SURELY_UNSET" in p.stderr


def test_plan_sends_nothing(srv):
    before = srv.stats.total_requests
    p = rsd_process("plan", SAMPLES / "Contacts.rsd", "-o", f"BaseURL={srv.url}")
    assert p.returncode == 0, p.stderr
    assert f"GET {srv.url}/api/contacts?offset=0&limit=25" in p.stdout
    assert "paging:   offset: ?offset=N&limit=25" in p.stdout
    assert srv.stats.total_requests == before


def test_check_samples_is_clean():
    p = rsd_process("check", ROOT / "samples")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stderr.startswith("0 errors")


def test_help_teaches():
    p = rsd_process("run", "--help")
    assert p.returncode == 0
    assert "${env:NAME}" in p.stdout and "examples:" in p.stdout


@pytest.mark.slow  # the whole demo: a server, a job and seven profiles with 1 s tokens
def test_demo_runs_the_whole_workflow(tmp_path):
    db = tmp_path / "demo.db"
    p = rsd_process("demo", "--db", db, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "refreshed mid-run" in p.stderr
    con = sqlite3.connect(db)
    counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0]
              for t in ("accounts", "contacts", "events", "order_lines", "products", "invoices", "inventory")}
    assert counts == {"accounts": 237, "contacts": 123, "events": 53, "order_lines": 238, "products": 64,
                      "invoices": 41, "inventory": 34}
    runs = con.execute("select step, status from _rsd_runs where job != '' order by rowid").fetchall()
    assert ("accounts", "ok") in runs and ("orders", "ok") in runs
    # write-back: three tasks inserted (their created records pushed into tasks_created), one updated, one deleted
    created = con.execute('select id, title, notes, priority, done from "tasks_created" order by id').fetchall()
    # (the demo API starts with 5 tasks)
    assert created == [(6, 'Order "spare" parts, urgently', "Call Jürgen first", 2, 0),
                       (7, "Renew the TLS certificate", None, 1, 0), (8, "Tidy the wiki", "nice to have", None, 0)]
    assert con.execute('select id, priority, done from "tasks" where id > 5 order by id').fetchall() == [
        (6, 2, 0), (7, 1, 1)]
    assert con.execute('select count(*) from "tasks"').fetchone() == (7,)
    for line in ("3 rows sent (INSERT by the POST script): 3 succeeded, 0 failed",
                 "1 row sent (UPDATE by the MERGE script): 1 succeeded, 0 failed",
                 "1 row sent (DELETE by the DELETE script): 1 succeeded, 0 failed"):
        assert line in p.stderr
