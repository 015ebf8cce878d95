"""Progress and `--summary-json` (issue #14): on a terminal, a bar with a total and an ETA once a page tells the total
(page count, total count), a spinner with pages and rows otherwise, nothing when stderr is not a terminal; the run's
summary as JSON for schedulers, also when the run fails or is interrupted. The CLI runs with its stderr on a real
pseudo-terminal (`pty`), against the demo API with latency so the display has time to draw.
"""
from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time

from rsd.demo.server import DemoServer
from rsd.paging import PageResult, build_pager
from rsd.mapping import compile_value_path, parse_document

from cli_support import ACCOUNTS, CLI, SAMPLES, rsd, rsd_popen, with_checkout
from job_helpers import write_profile
from sink_helpers.backends import make_backend

INVENTORY = str(SAMPLES / "demo" / "Inventory.rsd")  # page numbers, totalpagespath: 4 pages of 10
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(*args, cwd) -> tuple[int, str]:
    """`rsd ARGS` with stderr on a pseudo-terminal (stdout to /dev/null): exit code and everything drawn."""
    master, slave = pty.openpty()
    env = with_checkout(dict(os.environ, TERM="xterm-256color", COLUMNS="140"))
    proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.DEVNULL, stderr=slave,
                            stdin=subprocess.DEVNULL, env=env, cwd=cwd)
    os.close(slave)
    drawn = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end closed: rsd exited
                break
            if not chunk:
                break
            drawn += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=30), ANSI.sub("", drawn.decode("utf-8", errors="replace"))


def test_a_known_total_draws_a_bar_with_an_eta(tmp_path):
    # 4 pages of 0.4 s each: the display (10 frames a second) sees pages 1-3 arrive, with a speed to estimate from
    with DemoServer(require_auth=False, latency=0.4) as srv:
        code, drawn = on_a_terminal("run", INVENTORY, "-o", f"BaseURL={srv.url}", "--concurrency", "1",
                                    "--output", "inv.csv", cwd=tmp_path)
    assert code == 0, drawn
    assert "1/4 pages  10 rows" in drawn and "2/4 pages  20 rows" in drawn
    assert "━" in drawn  # the bar
    assert re.search(r"eta 0:00:0\d", drawn), drawn  # a number, once two pages gave a speed
    assert "Inventory: 34 rows from 4 pages in 4 requests" in drawn  # the summary after the display is gone


def test_offsets_and_a_total_count_make_a_page_count(tmp_path):
    profile = tmp_path / "Contacts.rsd"
    profile.write_text((SAMPLES / "demo" / "Contacts.rsd").read_text().replace('value="25"', 'value="40"'))
    with DemoServer(require_auth=False, latency=0.4) as srv:  # 123 contacts, totalcountpath $.total: 4 pages of 40
        code, drawn = on_a_terminal("run", profile, "-o", f"BaseURL={srv.url}", "--concurrency", "1",
                                    "--output", "c.csv", cwd=tmp_path)
    assert code == 0, drawn
    assert "1/4 pages  40 rows" in drawn and "2/4 pages  80 rows" in drawn


def test_a_total_count_alone_makes_the_bar_count_rows(tmp_path):
    # next URLs say nothing of the pages to come; the count of products does
    profile = tmp_path / "Products.rsd"
    profile.write_text((SAMPLES / "demo" / "Products.rsd").read_text().replace(
        '<api:set attr="nextpageurlpath" value="/json/next" />',
        '<api:set attr="nextpageurlpath" value="/json/next" />\n  <api:set attr="totalcountpath" value="$.count" />'))
    with DemoServer(require_auth=False, latency=0.4) as srv:  # 64 products, 25 a page
        code, drawn = on_a_terminal("run", profile, "-o", f"BaseURL={srv.url}", "--output", "p.csv", cwd=tmp_path)
    assert code == 0, drawn
    assert "25/64 rows  1 page" in drawn and "50/64 rows  2 pages" in drawn


def test_no_total_draws_a_spinner_with_pages_and_rows(tmp_path):
    # the accounts sample pages itself (rows@next): nothing tells the total
    with DemoServer(require_auth=False, latency=0.3) as srv:
        code, drawn = on_a_terminal("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "--output", "a.csv", cwd=tmp_path)
    assert code == 0, drawn
    assert re.search(r"Accounts\.rsd: [2-5] pages, \d+ rows", drawn), drawn
    assert "eta" not in drawn and "━" not in drawn


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(tmp_path):
    with DemoServer(require_auth=False, latency=0.2) as srv:
        p = rsd("run", INVENTORY, "-o", f"BaseURL={srv.url}", "--output", "inv.csv", cwd=tmp_path)
    assert p.code == 0 and "\x1b[" not in p.stderr and "starting" not in p.stderr
    assert p.stderr.startswith("Inventory: 34 rows from 4 pages in 4 requests")


def test_retries_are_printed_above_the_bar(tmp_path):
    with DemoServer(require_auth=False, latency=0.2) as srv:
        code, drawn = on_a_terminal("run", INVENTORY, "-o", f"BaseURL={srv.url}", "--concurrency", "1",
                                    "-o", "CustomUrlParams=fail=503&fail_times=1&retry_after=0", "--output", "i.csv",
                                    cwd=tmp_path)
    assert code == 0, drawn
    assert re.search(r"rsd: GET http://127\.0\.0\.1:\d+/api/inventory\.xml\?\S+ \(page 1\): HTTP 503 Service "
                     r"Unavailable; retry 1 of 5 in 0\.0 s \(Retry-After\)", drawn), drawn


# -- the totals a page tells ------------------------------------------------------------------------------------------
def pager_totals(attrs: dict, body: bytes, headers=None):
    pager = build_pager({"enablepaging": "true", **attrs}, lambda p: compile_value_path(p, "json"))
    doc = parse_document(body, "json", source="test")
    return pager.totals(PageResult(url="http://x/?page=1", rows=10, doc=doc, headers=headers or {}, links={}))


def test_totals_from_page_count_total_count_and_headers():
    body = b'{"items": [], "total": 95, "pages": 7}'
    assert pager_totals({"pagenumberparam": "page", "totalpagespath": "$.pages"}, body) == (7, None)
    assert pager_totals({"pagenumberparam": "page", "totalcountpath": "$.total", "pagesize": "10",
                         "pagesizeparam": "n"}, body) == (10, 95)
    assert pager_totals({"nextpageurlpath": "$.next", "totalcountpath": "$.total"}, body) == (None, 95)
    assert pager_totals({"pagingtype": "LinkHeader"}, b"[]", {"X-Total-Count": "41"}) == (None, 41)
    assert pager_totals({"nextpageurlpath": "$.next"}, body) == (None, None)


# -- --summary-json ----------------------------------------------------------------------------------------------------
def read(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_summary_json_of_a_run(tmp_path):
    out = tmp_path / "summary.json"
    with DemoServer(require_auth=False) as srv:
        p = rsd("run", INVENTORY, "-o", f"BaseURL={srv.url}", "--output", "inv.csv", "--summary-json", str(out),
                cwd=tmp_path)
    assert p.code == 0, p.stderr
    doc = read(out)
    assert {k: doc[k] for k in ("status", "exit_code", "error", "committed", "rows", "pages", "requests", "retries",
                                "stop_reason", "warnings", "table", "target")} == {
        "status": "ok", "exit_code": 0, "error": None, "committed": True, "rows": 34, "pages": 4, "requests": 4,
        "retries": 0, "stop_reason": "pages fetched reached the total pages", "warnings": [], "table": "Inventory",
        "target": "inv.csv"}
    assert 0 < doc["seconds"] < 30 and doc["started"].endswith("Z") and doc["finished"] >= doc["started"]


def test_summary_json_of_a_failed_run_has_its_counts_and_error(tmp_path):
    out = tmp_path / "summary.json"
    with DemoServer(require_auth=False) as srv:
        p = rsd("run", INVENTORY, "-o", f"BaseURL={srv.url}", "-o", "CustomUrlParams=fail_page=3", "--retries", "0",
                "--concurrency", "1", "--output", "inv.csv", "--summary-json", str(out), cwd=tmp_path)
    assert p.code == 1
    doc = read(out)
    assert (doc["status"], doc["exit_code"], doc["committed"], doc["rows"], doc["pages"], doc["requests"]) == \
        ("failed", 1, False, 20, 2, 3)
    assert doc["error"] == p.stderr.removeprefix("rsd: error: ").rstrip("\n")


def test_summary_json_of_invalid_input_and_of_an_interrupted_run(tmp_path):
    out = tmp_path / "summary.json"
    p = rsd("run", INVENTORY, "--output", "inv.csv", "--summary-json", str(out), cwd=tmp_path)
    assert p.code == 2
    doc = read(out)
    assert (doc["status"], doc["exit_code"], doc["rows"], doc["requests"]) == ("failed", 2, 0, 0)
    assert doc["error"] == (f"{INVENTORY}:17:3: the profile requires the connection option 'BaseURL' (Set the "
                            f"BaseURL connection option, e.g. -o BaseURL=http://127.0.0.1:8765)")

    db = make_backend("sqlite", tmp_path)
    profile = write_profile(tmp_path / "Items.rsd")
    with DemoServer(require_auth=False, latency=0.2) as srv:
        # one request at a time, so that the server's third request means two pages are in (with the default
        # concurrency, pages 1-4 go out together and none may be in yet)
        proc = rsd_popen("run", profile, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", "items",
                         "--summary-json", str(out), "--concurrency", "1", cwd=tmp_path)
        deadline = time.monotonic() + 30
        while srv.stats.requests["/api/accounts"] < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 143
    doc = read(out)
    assert (doc["status"], doc["exit_code"], doc["committed"]) == ("interrupted", 143, False)
    assert doc["pages"] >= 2 and doc["rows"] == 20 * doc["pages"]


def test_summary_json_of_a_job(tmp_path):
    out = tmp_path / "job.json"
    db = make_backend("sqlite", tmp_path)
    write_profile(tmp_path / "Items.rsd")
    with DemoServer(require_auth=False) as srv:
        job = tmp_path / "job.toml"
        job.write_text(f'[[steps]]\nname = "items"\ntype = "query"\nprofile = "Items.rsd"\n'
                       f'options = {{ BaseURL = "{srv.url}" }}\noutput = "{db.url}"\ntable = "items"\n\n'
                       f'[[steps]]\nname = "broken"\ntype = "query"\nprofile = "Items.rsd"\n'
                       f'options = {{ BaseURL = "{srv.url}", CustomUrlParams = "status=404" }}\n'
                       f'output = "{db.url}"\ntable = "items"\n')
        p = rsd("job", "run", str(job), "--summary-json", str(out), cwd=tmp_path)
    assert p.code == 1
    doc = read(out)
    assert (doc["job"], doc["status"], doc["exit_code"]) == ("job.toml", "failed", 1)
    assert [(s["step"], s["status"], s["rows"]) for s in doc["steps"]] == [("items", "ok", 237),
                                                                           ("broken", "failed", 0)]
    assert "HTTP 404" in doc["error"]


def test_a_summary_that_cannot_be_written_is_a_warning(tmp_path):
    where = "nowhere/summary.json"
    with DemoServer(require_auth=False) as srv:
        p = rsd("run", INVENTORY, "-o", f"BaseURL={srv.url}", "--output", "inv.csv", "--summary-json", where,
                cwd=tmp_path)
    assert p.code == 0
    assert p.stderr.startswith(f"rsd: warning: --summary-json {where}: cannot write it (No such file or directory)")


def test_a_total_count_of_parents_is_no_row_total_when_rows_join_children(tmp_path):
    # Orders.rsd (FLATTENEDDOCUMENTS): the API's totalSize counts orders, the run writes a row per order line.
    # Read as a row total it drew a bar past 100 %; only DOCUMENT rows are what a total count counts
    from rsd import api

    text = (SAMPLES / "demo" / "Orders.rsd").read_text()
    counted = tmp_path / "Orders.rsd"
    count = '<api:set attr="totalcountpath" value="$.totalSize" />\n  '
    counted.write_text(text.replace('<api:set attr="EnablePaging"', count + '<api:set attr="EnablePaging"'))
    documents = tmp_path / "OrdersDocuments.rsd"
    orders_only = [line for line in counted.read_text().splitlines() if "/lines/" not in line]  # no line columns
    documents.write_text("\n".join(orders_only).replace('value="FLATTENEDDOCUMENTS"', 'value="DOCUMENT"')
                         .replace("$.records;$.records.lines", "$.records"))
    totals: dict[str, list] = {"flat": [], "doc": []}
    with DemoServer(require_auth=False) as srv:
        flat = api.run(str(counted), options=[("BaseURL", srv.url)], output=str(tmp_path / "f.csv"),
                       on_total=lambda pages, rows: totals["flat"].append((pages, rows)))
        doc = api.run(str(documents), options=[("BaseURL", srv.url)], output=str(tmp_path / "d.csv"),
                      on_total=lambda pages, rows: totals["doc"].append((pages, rows)))
    assert flat.rows > doc.rows > 0
    assert totals == {"flat": [], "doc": [(None, doc.rows)]}  # next-URL paging tells no page total
