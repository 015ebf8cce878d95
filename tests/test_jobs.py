"""`rsd job run` and `rsd job check` (docs/reference/contract.md §6, docs/jobs.md), end to end against the demo API.

The originating document's orchestration job: a Python Script step that POSTs a refresh-token grant with `requests`
and calls `context.updateVariable('access_token', ...)`, then an API Query step with
`CustomHeaders = Authorization: Bearer ${access_token}` loading a table. Exact rows, exact exit codes, `_rsd_runs`.
PostgreSQL cases are marked `postgres` and run when RSD_TEST_POSTGRES_URL is set.
"""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from rsd.cli import main as rsd_main
from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer

from cli_support import rsd_process
from job_helpers import expected_rows, runs, table_rows, write_profile
from sink_helpers.backends import make_backend

# The script of the originating document's Python Script component, as published (Salesforce token URL).
SEED_SCRIPT = """\
import requests
import json
# The URL for all Salesforce token services
url = 'https://um2.salesforce.com/services/oauth2/token'
# Construct a Python dict containing all the headers, using the job variables
pl = {
'grant_type': 'refresh_token',
'client_id': client_id,
'client_secret': client_secret,
'refresh_token': refresh_token
}
# POST the request and parse the response
resp = requests.post(url, data=pl)
j = json.loads(resp.text)
# Save the returned value into the private job variable named access_token
context.updateVariable('access_token', j['access_token'])
"""
SEED_URL_LINE = "url = 'https://um2.salesforce.com/services/oauth2/token'"
WRONG_SECRET = "wrong-secret-5f1e2d"


@pytest.fixture
def srv():
    with DemoServer(token_lifetime=300) as s:
        yield s


def toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def api_calls(srv):
    return sum(n for path, n in srv.stats.requests.items() if path.startswith("/api/"))


def oauth2_job(tmp_path, srv, db, *, secret_ref="${env:TEST_CLIENT_SECRET}", table="accounts"):
    write_profile(tmp_path / "Items.rsd")
    job = tmp_path / "job.toml"
    job.write_text(f"""\
[variables]
token_url = {toml_str(srv.token_url)}
client_id = "{DEMO_CLIENT_ID}"
out = {toml_str(db.url)}

[[steps]]
name = "token"
type = "oauth2"
token_url = "${{token_url}}"
grant_type = "refresh_token"
client_id = "${{client_id}}"
client_secret = "{secret_ref}"
refresh_token = "${{env:TEST_REFRESH_TOKEN}}"
set = {{ access_token = "$.access_token", instance_url = "$.instance_url" }}

[[steps]]
name = "accounts"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "${{instance_url}}", CustomHeaders = "Authorization: Bearer ${{access_token}}" }}
output = "${{out}}"
table = "{table}"
""")
    return job


def script_job(tmp_path, srv, db, script_text):
    write_profile(tmp_path / "Items.rsd")
    (tmp_path / "get_token.py").write_text(script_text)
    job = tmp_path / "job.toml"
    job.write_text(f"""\
# The originating document's job: job variables, a Python Script, an API Query into a table.
[variables]
client_id = "{DEMO_CLIENT_ID}"
client_secret = "${{env:TEST_CLIENT_SECRET}}"
refresh_token = "${{env:TEST_REFRESH_TOKEN}}"
access_token = ""
base_url = {toml_str(srv.url)}

[[steps]]
name = "get_token"
type = "python"
script = "get_token.py"

[[steps]]
name = "accounts"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "${{base_url}}", CustomHeaders = "Authorization: Bearer ${{access_token}}" }}
output = {toml_str(db.url)}
table = "accounts"
mode = "truncate"
""")
    return job


@pytest.fixture
def secrets_env(monkeypatch):
    monkeypatch.setenv("TEST_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    monkeypatch.setenv("TEST_REFRESH_TOKEN", DEMO_REFRESH_TOKEN)


# -- the originating document -----------------------------------------------------------------------------------------
def test_the_documents_python_script_runs_unchanged_and_feeds_the_query(srv, db, tmp_path, secrets_env):
    assert SEED_URL_LINE in SEED_SCRIPT
    script = SEED_SCRIPT.replace(SEED_URL_LINE, f"url = '{srv.token_url}'")
    job = script_job(tmp_path, srv, db, script)

    p = rsd_process("job", "run", job)
    assert p.returncode == 0, p.stderr
    assert table_rows(db, "accounts") == expected_rows(srv)
    assert srv.stats.tokens_issued == 1 and srv.stats.auth_failures == 0
    # the token the script obtained is the bearer token of every query request
    token_posts = [r for r in srv.history if r.path == "/services/oauth2/token"]
    assert len(token_posts) == 1 and token_posts[0].method == "POST"
    assert b"grant_type=refresh_token" in token_posts[0].body
    api = [r for r in srv.history if r.path == "/api/accounts"]
    assert len(api) == 13
    bearer = {r.header("Authorization") for r in api}
    assert len(bearer) == 1 and bearer.pop().startswith("Bearer ") and len(api[0].header("Authorization")) > 20
    token = api[0].header("Authorization")[len("Bearer "):]
    # the token is a secret: never printed
    assert token not in p.stderr and token not in p.stdout
    assert "step get_token (python): ok" in p.stderr and "set access_token" in p.stderr
    assert "step accounts (query): ok (237 rows, 13 pages, 13 requests" in p.stderr
    assert runs(db) == [("job.toml", "get_token", None, 0, 0, 0, "ok", None),
                        ("job.toml", "accounts", "accounts", 237, 13, 13, "ok", None)]


def test_update_variable_spellings_and_get_variable(srv, tmp_path, secrets_env):
    db = make_backend("sqlite", tmp_path)
    script = (
        "import json, requests\n"
        "r = requests.post(token_url, data={'grant_type': 'refresh_token', 'client_id': client_id,\n"
        "                  'client_secret': client_secret, 'refresh_token': refresh_token})\n"
        "context.update_variable('access_token', r.json()['access_token'])\n"
        "context.updateVariable('page_size', 50)\n"
        "assert context.getVariable('client_id') == client_id\n"
    )
    job = script_job(tmp_path, srv, db, script)
    text = job.read_text().replace('[variables]\n', f'[variables]\ntoken_url = {toml_str(srv.token_url)}\n')
    text = text.replace('options = { BaseURL = "${base_url}"', 'options = { PerPage = "${page_size}", '
                        'BaseURL = "${base_url}"')
    job.write_text(text)
    assert rsd_main(["job", "run", str(job), "-q"]) == 0
    assert table_rows(db, "accounts") == expected_rows(srv)
    assert {r.params["per_page"] for r in srv.history if r.path == "/api/accounts"} == {"50"}


# -- failures stop the job -------------------------------------------------------------------------------------------
def test_token_step_with_wrong_secret_exits_2_before_any_query(srv, db, tmp_path, monkeypatch, secrets_env):
    monkeypatch.setenv("TEST_CLIENT_SECRET", WRONG_SECRET)
    db.execute('CREATE TABLE accounts ("Id" text PRIMARY KEY, "Name" text, "NumberOfEmployees" bigint);'
               "INSERT INTO accounts VALUES ('keep-1', 'previous', 1), ('keep-2', 'rows', 2)")
    job = oauth2_job(tmp_path, srv, db)

    p = rsd_process("job", "run", job)
    assert p.returncode == 2, p.stderr
    assert "rsd: error: job job.toml, step 'token': OAuth token request (refresh_token grant)" in p.stderr
    assert "HTTP 401: invalid_client" in p.stderr
    assert WRONG_SECRET not in p.stderr + p.stdout
    assert "Traceback" not in p.stderr
    assert "accounts (query)" not in p.stderr  # the query step never started
    assert srv.stats.token_errors == 1
    assert api_calls(srv) == 0
    assert not [r for r in srv.history if r.path.startswith("/api/")]
    assert table_rows(db, "accounts") == [("keep-1", "previous", 1), ("keep-2", "rows", 2)]
    history = runs(db)
    assert [h[:7] for h in history] == [("job.toml", "token", None, 0, 0, 1, "failed")]
    assert "HTTP 401: invalid_client" in history[0][7] and WRONG_SECRET not in history[0][7]


def test_oauth2_job_loads_and_records(srv, db, tmp_path, secrets_env):
    job = oauth2_job(tmp_path, srv, db)
    p = rsd_process("job", "run", job)
    assert p.returncode == 0, p.stderr
    assert table_rows(db, "accounts") == expected_rows(srv)
    assert runs(db) == [("job.toml", "token", None, 0, 0, 1, "ok", None),
                        ("job.toml", "accounts", "accounts", 237, 13, 13, "ok", None)]
    assert "job job.toml: ok" in p.stderr and "total" in p.stderr


def test_failing_script_error_is_redacted_and_recorded(srv, tmp_path, secrets_env, monkeypatch):
    db = make_backend("sqlite", tmp_path)
    monkeypatch.setenv("TEST_CLIENT_SECRET", "s3cr3t-in-the-env")
    job = script_job(tmp_path, srv, db, "x = 1\nraise RuntimeError('refused: ' + client_secret)\n")
    p = rsd_process("job", "run", job)
    assert p.returncode == 1
    assert "get_token.py:2: the script failed: RuntimeError: refused: ***" in p.stderr
    assert "s3cr3t-in-the-env" not in p.stderr + p.stdout
    assert api_calls(srv) == 0
    assert not db.exists("accounts")
    history = runs(db)
    assert [h[:7] for h in history] == [("job.toml", "get_token", None, 0, 0, 0, "failed")]
    assert history[0][7].endswith("get_token.py:2: the script failed: RuntimeError: refused: ***")


def test_query_step_failure_stops_later_steps(srv, tmp_path, secrets_env):
    make_backend("sqlite", tmp_path)
    write_profile(tmp_path / "Items.rsd")
    job = tmp_path / "job.toml"
    job.write_text(f"""\
[variables]
out = "sqlite:///w.db"

[[steps]]
name = "token"
type = "oauth2"
token_url = {toml_str(srv.token_url)}
client_id = "{DEMO_CLIENT_ID}"
client_secret = "${{env:TEST_CLIENT_SECRET}}"
refresh_token = "${{env:TEST_REFRESH_TOKEN}}"

[[steps]]
name = "first"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = {toml_str(srv.url)}, CustomHeaders = "Authorization: Bearer ${{access_token}}", CustomUrlParams = "fail_page=3" }}
output = "${{out}}"
table = "first"

[[steps]]
name = "second"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = {toml_str(srv.url)}, CustomHeaders = "Authorization: Bearer ${{access_token}}" }}
output = "${{out}}"
table = "second"
""")
    # run from another folder: sqlite:///w.db is relative to the job file's folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = rsd_process("job", "run", job, cwd=elsewhere)
    assert p.returncode == 1, p.stderr
    assert "step 'first'" in p.stderr and "HTTP 500" in p.stderr
    assert not (elsewhere / "w.db").exists()
    con = sqlite3.connect(tmp_path / "w.db")
    history = con.execute("SELECT step, target_table, rows, pages, requests, status FROM _rsd_runs ORDER BY id")
    # the failed step loaded no rows, but what it sent is recorded: two pages in, the third request failed
    assert history.fetchall() == [("token", None, 0, 0, 1, "ok"), ("first", "first", 0, 2, 3, "failed")]
    assert "step first (query): FAILED (0 rows, 2 pages, 3 requests, " in p.stderr, p.stderr
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"_rsd_runs"}
    assert srv.stats.requests["/api/accounts"] == 3  # pages 1, 2 and the failing 3; nothing of "second"


def test_var_overrides_variables_and_later_variables_see_it(srv, tmp_path, secrets_env):
    job = oauth2_job(tmp_path, srv, make_backend("sqlite", tmp_path))
    text = job.read_text().replace('out = ', 'db_file = "first.db"\nout_unused = ')
    text = text.replace('output = "${out}"', 'output = "sqlite:///${db_file}"')
    job.write_text(text)
    assert rsd_main(["job", "run", str(job), "--var", "db_file=second.db", "-q"]) == 0
    assert not (tmp_path / "first.db").exists()
    con = sqlite3.connect(tmp_path / "second.db")
    assert con.execute("SELECT count(*) FROM accounts").fetchone() == (237,)


def test_python_step_timeout(srv, tmp_path, secrets_env):
    db = make_backend("sqlite", tmp_path)
    job = script_job(tmp_path, srv, db, "import time\ntime.sleep(30)\n")
    job.write_text(job.read_text().replace('script = "get_token.py"', 'script = "get_token.py"\ntimeout = 0.3'))
    p = rsd_process("job", "run", job)
    assert p.returncode == 1
    assert "the script did not finish within its timeout of 0.3 s" in p.stderr
    assert runs(db)[0][6] == "failed"


# -- rsd job check ---------------------------------------------------------------------------------------------------
def check(job):
    p = rsd_process("job", "check", job, "--format", "json")
    return p.returncode, [(d["code"], d["severity"], d["line"]) for d in json.loads(p.stdout)]


def test_check_good_jobs(srv, tmp_path):
    db = make_backend("sqlite", tmp_path)
    assert check(oauth2_job(tmp_path, srv, db)) == (0, [])
    script = SEED_SCRIPT.replace(SEED_URL_LINE, f"url = '{srv.token_url}'")
    assert check(script_job(tmp_path, srv, db, script)) == (0, [])
    p = rsd_process("job", "check", tmp_path / "job.toml")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "0 errors, 0 warnings\n")
    assert srv.stats.total_requests == 0  # offline


def test_check_the_sample_job():
    p = rsd_process("job", "check", "samples/demo/job.toml")
    assert (p.returncode, p.stdout) == (0, "")


GOOD_QUERY = '[[steps]]\nname = "q"\ntype = "query"\nprofile = "Items.rsd"\n'


@pytest.mark.parametrize("body, expected", [
    ("", (2, [("JOB001", "error", 1)])),
    ('[[steps]]\nname = "t"\ntype = "oauth"\ntoken_url = "x"\n', (2, [("JOB002", "error", 3)])),
    ('[[steps]]\nname = "t"\ntoken_url = "x"\n', (2, [("JOB003", "error", 1)])),
    ('[[steps]]\nname = "t"\ntype = "oauth2"\n', (2, [("JOB003", "error", 1)])),
    (GOOD_QUERY + 'tabel = "x"\n', (0, [("JOB004", "warning", 5)])),
    (GOOD_QUERY + 'output = "sqlite:///${db}"\n', (2, [("JOB005", "error", 5)])),
    ('[variables]\na = "${b}"\nb = "1"\n' + GOOD_QUERY, (2, [("JOB005", "error", 2)])),
    ('[[steps]]\nname = "s"\ntype = "python"\nscript = "missing.py"\n', (2, [("JOB006", "error", 4)])),
    ('[[steps]]\nname = "q"\ntype = "query"\nprofile = "Missing.rsd"\n', (2, [("JOB007", "error", 4)])),
    (GOOD_QUERY + 'mode = "merge"\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'options = "BaseURL=x"\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'limit = -1\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'retries = 0\nretry_max_wait = 0.5\nconcurrency = 2\nrate = 20\n', (0, [])),
    (GOOD_QUERY + 'retries = -1\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'retries = 1.5\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'concurrency = 0\n', (2, [("JOB008", "error", 5)])),
    (GOOD_QUERY + 'output = "${secret:x}"\n', (2, [("JOB008", "error", 5)])),
    ('[[steps]]\nname = "s"\ntype = "python"\nscript = "broken.py"\n', (2, [("JOB009", "error", 4)])),
    ('[[steps]]\nname = "s"\ntype = "python"\nscript = "reads.py"\n', (0, [("JOB010", "warning", 4)])),
    (GOOD_QUERY + GOOD_QUERY, (0, [("JOB011", "warning", 5)])),
    # a variable set by a python step is known to the steps after it
    ('[[steps]]\nname = "s"\ntype = "python"\nscript = "sets.py"\n' + GOOD_QUERY
     + 'options = { CustomHeaders = "Authorization: Bearer ${access_token}" }\n', (0, [])),
    # ...but not to the steps before it
    (GOOD_QUERY + 'options = { CustomHeaders = "Authorization: Bearer ${access_token}" }\n'
     + '[[steps]]\nname = "s"\ntype = "python"\nscript = "sets.py"\n', (2, [("JOB005", "error", 5)])),
    # env, file and cmd references are not read by a check
    (GOOD_QUERY + 'options = { Password = "${env:RSD_SURELY_UNSET_VARIABLE}" }\n', (0, [])),
    ('[[steps]]\nname = "q"\ntype = "query"\nprofile = "Bad.rsd"\n', (2, [("RSD002", "error", 2)])),
])
def test_check_bad_jobs_exact_codes(tmp_path, body, expected):
    write_profile(tmp_path / "Items.rsd")
    (tmp_path / "Bad.rsd").write_text('<api:script xmlns:api="http://apiscript.com/ns?v1">\n'
                                      '  <api:sett attr="x" value="1"/>\n</api:script>\n')
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "reads.py").write_text("import json\nx = json.dumps(undefined_name)\n")
    (tmp_path / "sets.py").write_text("context.updateVariable('access_token', 'abc')\n")
    job = tmp_path / "job.toml"
    job.write_text(body)
    assert check(job) == expected


def test_check_text_output_and_hint(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text('[[steps]]\nname = "t"\ntype = "pyhton"\nscript = "x.py"\n')
    p = rsd_process("job", "check", job)
    assert p.returncode == 2
    assert p.stdout == (f"{job}:3:1: error: [JOB002] step 't': unknown type 'pyhton'\n"
                        f"    hint: did you mean 'python'?\n")
    assert p.stderr == "1 error, 0 warnings\n"


def test_invalid_toml_and_missing_file_exit_2(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text("[[steps]\nname = 1\n")
    p = rsd_process("job", "check", job)
    assert p.returncode == 2 and "not valid TOML" in p.stderr and "Traceback" not in p.stderr
    p = rsd_process("job", "run", tmp_path / "nope.toml")
    assert p.returncode == 2 and "no such job file" in p.stderr


def test_query_steps_take_retries_and_the_retry_wait(srv, tmp_path, secrets_env):
    # the first page fails with 503 twice: with retries = 1 the step fails after 2 attempts (the default, 5 retries,
    # would have loaded it); retry_max_wait bounds the wait the server asks for (Retry-After: 30) to 0.1 s
    make_backend("sqlite", tmp_path)
    write_profile(tmp_path / "Items.rsd")
    job = tmp_path / "job.toml"
    job.write_text(f"""\
[[steps]]
name = "items"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = {toml_str(srv.url)}, OAuthAccessToken = {toml_str(srv.issue_token())}, CustomUrlParams = "fail=503&fail_times=2&retry_after=30" }}
output = "sqlite:///w.db"
retries = 1
retry_max_wait = 0.1
concurrency = 1
""")
    p = rsd_process("job", "run", job, cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert "HTTP 503" in p.stderr and "after 2 attempts" in p.stderr
    assert "HTTP 503 Service Unavailable; retry 1 of 1 in 0.1 s (Retry-After)" in p.stderr  # shown to 0.1 s
    assert srv.stats.requests["/api/accounts"] == 2
