"""The edges of an everyday run (issue #14), each with its exact message and exit code: output guards, visible
retries and their budget, hints for a 401 without credentials, a token URL that is not a token endpoint and an HTML
error page, the host of a URL kept in an environment variable, `CustomUrlParams` on every request, and a closed
stdout (`| head -1`). Real servers on 127.0.0.1 (the demo API, small WSGI apps); the CLI as a subprocess.
"""
from __future__ import annotations

import json
import subprocess

import pytest
from werkzeug.wrappers import Request, Response

from rsd.demo.server import DemoServer

from cli_support import ACCOUNTS, CLI, demo_oauth, rsd, with_checkout
from job_helpers import write_profile
from servers import free_port, serve
from sink_helpers.backends import make_backend

OAUTH_ENV = {"CLIENT_ID": "rsd-demo", "CLIENT_SECRET": "rsd-demo-secret", "REFRESH_TOKEN": "rsd-demo-refresh-token"}


@pytest.fixture
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


# -- output guards ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("output, message", [
    ("accounts.db", "rsd: error: --output accounts.db names a sqlite database file, which rsd would fill with CSV "
                    "text: to load a table into it, write --output sqlite:///accounts.db\n"
                    "  hint: sqlite:///relative.db is relative to the working directory, sqlite:////abs/path.db "
                    "absolute; for a CSV file, name it .csv\n"),
    ("/tmp/w.sqlite", "rsd: error: --output /tmp/w.sqlite names a sqlite database file, which rsd would fill with "
                      "CSV text: to load a table into it, write --output sqlite:////tmp/w.sqlite\n"
                      "  hint: sqlite:///relative.db is relative to the working directory, sqlite:////abs/path.db "
                      "absolute; for a CSV file, name it .csv\n"),
    ("w.duckdb", "rsd: error: --output w.duckdb names a duckdb database file, which rsd would fill with CSV text: "
                 "to load a table into it, write --output duckdb:///w.duckdb\n"
                 "  hint: duckdb:///relative.db is relative to the working directory, duckdb:////abs/path.db "
                 "absolute; for a CSV file, name it .csv\n"),
    ("sqlite:x.db", "rsd: error: --output 'sqlite:x.db' is not a database URL (no '//' after 'sqlite:'): write "
                    "--output sqlite:///x.db (relative to the working directory)\n"
                    "  hint: database URLs: sqlite:///file.db, postgresql://user@host/db, duckdb:///file.db\n"),
    ("sqlite:/data/x.db", "rsd: error: --output 'sqlite:/data/x.db' is not a database URL (no '//' after 'sqlite:'): "
                          "write --output sqlite:////data/x.db (absolute)\n"
                          "  hint: database URLs: sqlite:///file.db, postgresql://user@host/db, duckdb:///file.db\n"),
    ("postgresql:db.example.com/wh", "rsd: error: --output 'postgresql:db.example.com/wh' is not a database URL (no "
                                     "'//' after 'postgresql:'): write --output postgresql://db.example.com/wh (as "
                                     "libpq reads it)\n  hint: database URLs: sqlite:///file.db, "
                                     "postgresql://user@host/db, duckdb:///file.db\n"),
    ("sqlite://x.db", "rsd: error: --output 'sqlite://x.db': a sqlite URL is sqlite:///relative/path.db or "
                      "sqlite:////absolute/path.db: write --output sqlite:///x.db\n"),
])
def test_an_output_that_looks_like_a_database_is_refused(srv, tmp_path, output, message):
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "--output", output, cwd=tmp_path)
    assert (p.code, p.stderr) == (2, message)
    assert p.files == {} and srv.stats.total_requests == 0


@pytest.mark.parametrize("name, advice", [
    ("accounts.csv", "to write the rows to a file use --output accounts.csv"),
    ("accounts.jsonl", "to write the rows to a file use --output accounts.jsonl"),
    ("out/accounts.json", "to write the rows to a file use --output out/accounts.json"),
    ("accounts.parquet", "to write the rows to a file use --output accounts.parquet"),
    ("warehouse.db", "to load the rows into a database use --output sqlite:///warehouse.db"),
    ("warehouse.duckdb", "to load the rows into a database use --output duckdb:///warehouse.duckdb"),
])
def test_dash_o_with_a_file_name_points_to_output(srv, tmp_path, name, advice):
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-o", name, cwd=tmp_path)
    assert p.code == 2
    assert last_line(p.stderr) == (f"rsd run: error: argument -o/--option: -o {name}: -o sets a connection option "
                                   f"(NAME=VALUE); {advice}")
    assert srv.stats.total_requests == 0


# -- retries: visible, budgeted --------------------------------------------------------------------------------------
def test_every_retry_is_shown_without_verbose(srv, tmp_path):
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-o", "CustomUrlParams=fail=503&fail_times=2&retry_after=0",
            "--max-pages", "1", "-f", "csv", cwd=tmp_path)
    assert p.code == 0, p.stderr
    url = f"{srv.url}/api/accounts?page=1&per_page=50&fail=503&fail_times=2&retry_after=0"
    assert p.stderr.splitlines()[:2] == [
        f"rsd: GET {url} (page 1): HTTP 503 Service Unavailable; retry 1 of 5 in 0.0 s (Retry-After)",
        f"rsd: GET {url} (page 1): HTTP 503 Service Unavailable; retry 2 of 5 in 0.0 s (Retry-After)",
    ]
    assert "50 rows from 1 page in 3 requests (2 retries)" in p.stderr


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_failed_page_is_named_by_its_number_in_the_run(srv, tmp_path, concurrency):
    # Accounts.rsd pages with rows@next: every page is an execution of its own, whose first page the message named
    # "page 1" whatever page of the run it was. Sent ahead (--concurrency 4), its number is not known when it is
    # sent: the message names the request only (its URL says which page)
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-o", "CustomUrlParams=fail_page=3", "-f", "csv",
            "--concurrency", concurrency, cwd=tmp_path)
    url = f"{srv.url}/api/accounts?page=3&per_page=50&fail_page=3"
    named = f"GET {url} (page 3): HTTP 500" if concurrency == "1" else f"GET {url}: HTTP 500"
    assert p.code == 1 and f"rsd: error: {named} Internal Server Error" in p.stderr, p.stderr
    assert "(page 1)" not in p.stderr


def test_retries_and_retry_max_wait_bound_the_waits(srv, tmp_path):
    # Retry-After asks for 30 s; --retry-max-wait 0.2 caps it; --retries 1 gives up after one retry
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-o", "CustomUrlParams=fail=429&fail_times=all&retry_after=30",
            "--retries", "1", "--retry-max-wait", "0.2", cwd=tmp_path, timeout=20)
    url = f"{srv.url}/api/accounts?page=1&per_page=50&fail=429&fail_times=all&retry_after=30"
    assert p.code == 1
    assert p.stderr == (f"rsd: GET {url} (page 1): HTTP 429 Too Many Requests; retry 1 of 1 in 0.2 s (Retry-After)\n"
                        f"rsd: error: GET {url} (page 1): HTTP 429 Too Many Requests after 2 attempts: "
                        '{"error":"rate_limited","message":"injected failure 429 (fail=429)"}\n')


def test_a_wrong_host_says_each_retry_and_retries_0_fails_at_once(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/accounts?page=1&per_page=50"
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL=http://127.0.0.1:{port}", "--retries", "0", cwd=tmp_path)
    assert (p.code, p.stderr) == (1, f"rsd: error: GET {url} (page 1): connection refused\n")
    p = rsd("run", ACCOUNTS, "-o", f"BaseURL=http://127.0.0.1:{port}", "--retries", "2", "--retry-max-wait", "0",
            cwd=tmp_path)
    assert (p.code, p.stderr) == (1, f"rsd: GET {url} (page 1): connection refused; retry 1 of 2 in 0.0 s\n"
                                     f"rsd: GET {url} (page 1): connection refused; retry 2 of 2 in 0.0 s\n"
                                     f"rsd: error: GET {url} (page 1): connection refused after 3 attempts\n")


@pytest.mark.parametrize("args, message", [
    (("--retries", "-1"), "argument --retries: expected 0 or more, got -1"),
    (("--retries", "many"), "argument --retries: expected a whole number, got 'many'"),
    (("--retry-max-wait", "soon"), "argument --retry-max-wait: expected a number of seconds, got 'soon'"),
])
def test_a_bad_retry_budget_is_invalid_input(tmp_path, args, message):
    p = rsd("run", ACCOUNTS, "-o", "BaseURL=http://127.0.0.1:9", *args, cwd=tmp_path)
    assert (p.code, last_line(p.stderr)) == (2, f"rsd run: error: {message}")


# -- hints -----------------------------------------------------------------------------------------------------------
def test_a_401_without_credentials_says_how_to_give_them(tmp_path):
    with DemoServer() as srv:
        p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", cwd=tmp_path)
    assert p.code == 1
    assert p.stderr == (
        f"rsd: error: GET {srv.url}/api/accounts?page=1&per_page=50 (page 1): HTTP 401 Unauthorized: "
        '{"error":"invalid_token","error_description":"missing bearer token"}\n'
        "  hint: the API wants credentials and this request carried none: give them as options, e.g. "
        "-o 'CustomHeaders=Authorization: Bearer ${env:API_TOKEN}', -o AuthScheme=OAuth with the OAuth options, or "
        "-o AuthScheme=Basic -o User=... -o 'Password=${env:API_PASSWORD}' (docs/credentials.md)\n")


def test_a_401_with_credentials_has_no_such_hint(tmp_path):
    with DemoServer() as srv:
        p = rsd("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-o", "CustomHeaders=Authorization: Bearer wrong-token",
                cwd=tmp_path)
    assert p.code == 1 and "HTTP 401" in p.stderr and "hint" not in p.stderr


def test_a_404_from_the_token_url_says_to_check_it(tmp_path):
    with DemoServer() as srv:
        p = rsd("run", ACCOUNTS, *demo_oauth(srv, OAuthAccessTokenURL=f"{srv.url}/oauth2/token"), env=OAUTH_ENV,
                cwd=tmp_path)
    assert p.code == 2
    assert p.stderr == (
        f"rsd: error: OAuth token request (refresh_token grant) to {srv.url}/oauth2/token failed: HTTP 404: "
        "not_found\n"
        "  hint: check OAuthAccessTokenURL (a job's token_url): nothing at that address takes token requests; it is "
        "the provider's token endpoint, such as https://login.salesforce.com/services/oauth2/token\n")


SIGN_IN = b"<!DOCTYPE html><html><head><title>Sign in | Example</title></head><body><form>...</form></body></html>"


def html_app(environ, start_response):
    request = Request(environ)
    if request.path == "/login":
        return Response(SIGN_IN, content_type="text/html; charset=utf-8")(environ, start_response)
    return Response(b"<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>", status=502,
                    content_type="text/html")(environ, start_response)


def test_an_html_page_from_the_token_url_says_it_is_a_web_page(tmp_path):
    with serve(html_app) as base:
        p = rsd("run", ACCOUNTS, "-o", f"BaseURL={base}", "-o", "AuthScheme=OAuth", "-o", "OAuthGrantType=CLIENT",
                "-o", f"OAuthAccessTokenURL={base}/login", "-o", "OAuthClientId=x", cwd=tmp_path)
    assert p.code == 2
    assert p.stderr == (
        f"rsd: error: OAuth token request (client_credentials grant) to {base}/login: HTTP 200 without an "
        "access_token in the response (the response is an HTML page ('Sign in | Example'))\n"
        "  hint: OAuthAccessTokenURL (a job's token_url) points at a web page, not at a token endpoint: use the "
        "provider's token endpoint, such as https://login.salesforce.com/services/oauth2/token\n")


def test_an_html_error_page_is_named_not_dumped(tmp_path):
    with serve(html_app) as base:
        p = rsd("run", ACCOUNTS, "-o", f"BaseURL={base}", "--retries", "0", cwd=tmp_path)
    assert p.code == 1
    assert p.stderr == (
        f"rsd: error: GET {base}/api/accounts?page=1&per_page=50 (page 1): HTTP 502 BAD GATEWAY: an HTML page "
        "('502 Bad Gateway nginx')\n"
        "  hint: the server answered with a web page, not the API's data: check BaseURL and the URI (a web site, a "
        "sign-in page or a proxy's error page answers there)\n")


# -- a URL kept in the environment: its host shows, its credentials do not -------------------------------------------
URI_PROFILE = ACCOUNTS  # builds [_connection.BaseURL]/api/accounts?page=...


def test_a_base_url_from_the_environment_shows_its_host_not_its_secrets(tmp_path):
    port = free_port()
    env = {"API_BASE": f"http://svc:pa55-w0rd-9x@127.0.0.1:{port}"}
    p = rsd("run", URI_PROFILE, "-o", "BaseURL=${env:API_BASE}", "--retries", "0", env=env, cwd=tmp_path)
    assert (p.code, p.stderr) == (1, f"rsd: error: GET http://svc:***@127.0.0.1:{port}/api/accounts?page=1"
                                     f"&per_page=50 (page 1): connection refused\n")
    assert "pa55-w0rd-9x" not in p.everything()


def test_query_values_of_a_url_from_the_environment_are_hidden(tmp_path):
    port = free_port()
    profile = tmp_path / "Plain.rsd"
    profile.write_text(ACCOUNTS_URI_ONLY, encoding="utf-8")
    env = {"API_URL": f"http://127.0.0.1:{port}/v2/items?format=json&sv=2024-01-01&sig=Zm9vYmFyYmF6cXV4"}
    p = rsd("run", str(profile), "-o", "URL=${env:API_URL}", "--retries", "0", env=env, cwd=tmp_path)
    assert (p.code, p.stderr) == (1, f"rsd: error: GET http://127.0.0.1:{port}/v2/items?format=json&sv=***&sig=*** "
                                     f"(page 1): connection refused\n")


ACCOUNTS_URI_ONLY = """<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Plain" desc="one call to the URL option">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id" xmlns:other="http://apiscript.com/ns?v1" />
  </api:info>
  <api:set attr="URI" value="[_connection.URL]" />
  <api:set attr="JSONPath" value="$.items" />
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push /></api:call>
  </api:script>
</api:script>
"""


# -- CustomUrlParams on every request --------------------------------------------------------------------------------
class NextUrlAPI:
    """Three pages of two items; page N links to page N+1 as a bare URL (no query of the request kept): absolute in
    the body (`next_abs`), relative in the body (`next_rel`), and in a `Link` header."""

    def __init__(self):
        self.queries: list[dict] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.queries.append(dict(request.args))
        page = int(request.args.get("page", "1"))
        items = [{"id": (page - 1) * 2 + i + 1} for i in range(2)] if page <= 3 else []
        nxt = page + 1 if page < 3 else None
        doc = {"items": items, "next_abs": f"{request.host_url}items?page={nxt}" if nxt else None,
               "next_rel": f"/items?page={nxt}" if nxt else None}
        headers = {"Link": f'<{request.host_url}items?page={nxt}>; rel="next"'} if nxt else {}
        return Response(json.dumps(doc), content_type="application/json", headers=headers)(environ, start_response)


PAGING = {
    "absolute next URL": '<api:set attr="nextpageurlpath" value="$.next_abs" />',
    "relative next URL": '<api:set attr="nextpageurlpath" value="$.next_rel" />',
    "Link header": '<api:set attr="pagingtype" value="LinkHeader" />',
}


@pytest.mark.parametrize("style", PAGING)
def test_custom_url_params_go_on_every_page(tmp_path, style):
    profile = tmp_path / "Paged.rsd"
    profile.write_text(ACCOUNTS_URI_ONLY.replace(
        '<api:set attr="JSONPath" value="$.items" />',
        '<api:set attr="JSONPath" value="$.items" />\n  <api:set attr="EnablePaging" value="true" />\n  '
        + PAGING[style]), encoding="utf-8")
    api = NextUrlAPI()
    with serve(api) as base:
        p = rsd("run", str(profile), "-o", f"URL={base}/items?page=1", "-o", "CustomUrlParams=tenant=acme&v=2",
                "-f", "csv", cwd=tmp_path)
    assert p.code == 0, p.stderr
    assert p.stdout == "id\n1\n2\n3\n4\n5\n6\n"
    assert api.queries == [{"page": str(n), "tenant": "acme", "v": "2"} for n in (1, 2, 3)]


# -- a closed stdout -------------------------------------------------------------------------------------------------
def head_1(*args, cwd, lines: int = 1) -> tuple[str, int, str]:
    """`rsd ARGS | head -1` (`lines=0`: `| true`, a reader that reads nothing): the first line, rsd's exit code and
    its stderr."""
    proc = subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=with_checkout({"PATH": "/usr/bin:/bin"}))
    first = proc.stdout.readline().decode() if lines else ""
    proc.stdout.close()  # head exits
    err = proc.stderr.read().decode()
    return first, proc.wait(timeout=60), err


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_head_1_ends_the_run_quietly(tmp_path, fmt):
    # 3,000 rows: far more than the pipe holds, so rsd is still writing when the reader goes
    with DemoServer(require_auth=False, records={"accounts": 3000}, latency=0.02) as srv:
        first, code, err = head_1("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-f", fmt, "-q", cwd=tmp_path)
        served = srv.stats.requests["/api/accounts"]
    assert first.strip() and (code, err) == (0, "")
    assert served < 61  # it stopped asking for pages when its reader went


def test_a_table_into_a_closed_pipe_ends_quietly(tmp_path):
    # the terminal table is printed at the end, all at once (rich exits the process on a broken pipe by itself)
    with DemoServer(require_auth=False) as srv:
        first, code, err = head_1("run", ACCOUNTS, "-o", f"BaseURL={srv.url}", "-f", "table", "-q", cwd=tmp_path,
                                  lines=0)
    assert (first, code, err) == ("", 0, "")


def test_a_closed_stdout_stops_a_job_before_it_loads_a_database(tmp_path):
    db = make_backend("sqlite", tmp_path)
    write_profile(tmp_path / "Items.rsd")
    with DemoServer(require_auth=False, records={"accounts": 3000}, latency=0.02) as srv:
        job = tmp_path / "job.toml"
        job.write_text(f"""
[[steps]]
name = "preview"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "{srv.url}", PerPage = "200" }}
format = "csv"

[[steps]]
name = "load"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "{srv.url}", PerPage = "200" }}
output = "{db.url}"
table = "items"
""")
        first, code, err = head_1("job", "run", job, "-q", cwd=tmp_path)
    assert first == "Id,Name,NumberOfEmployees\n"
    assert code == 0 and "rsd: error" not in err
    assert not db.exists("items")  # the step after it never ran


def test_the_library_raises_output_closed_for_a_pipe_nobody_reads(srv):
    import os

    from rsd import api
    from rsd.errors import OutputClosed

    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = os.fdopen(write_end, "w", buffering=1)
    try:
        with pytest.raises(OutputClosed) as e:
            api.run(ACCOUNTS, options=[("BaseURL", srv.url)], fmt="csv", stream=stream)
    finally:
        try:
            stream.close()
        except BrokenPipeError:  # what was left in its buffer has nowhere to go either
            pass
    assert str(e.value) == f"writing {stream.name}: the reader closed the pipe"
