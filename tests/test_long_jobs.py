"""Jobs that outlive their tokens (docs/jobs.md, "Long jobs"): a query step with `auth = "token"` uses the
credentials of the `oauth2` step named `token` and refreshes its access token before it expires and on a 401; a
step that sends the token as a plain `${access_token}` and gets a 401 says the token may have expired and how to
make the step refresh it. Against the demo API with short-lived tokens and latency, exact rows and exit codes.
"""
from __future__ import annotations

import json
import re

import pytest

from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer

from cli_support import rsd
from job_helpers import expected_rows, write_profile
from sink_helpers.backends import make_backend

SECRETS = {"TEST_CLIENT_SECRET": DEMO_CLIENT_SECRET, "TEST_REFRESH_TOKEN": DEMO_REFRESH_TOKEN}


def job_file(tmp_path, srv, db, *, per_page: int, auth: bool) -> str:
    write_profile(tmp_path / "Items.rsd")
    step_auth = 'auth = "token"\n' if auth else ""
    options = (f'{{ BaseURL = {json.dumps(srv.url)}, PerPage = "{per_page}" }}' if auth else
               f'{{ BaseURL = {json.dumps(srv.url)}, PerPage = "{per_page}", '
               f'CustomHeaders = "Authorization: Bearer ${{access_token}}" }}')
    path = tmp_path / "long.toml"
    path.write_text(f"""
[[steps]]
name = "token"
type = "oauth2"
token_url = {json.dumps(srv.token_url)}
client_id = "{DEMO_CLIENT_ID}"
client_secret = "${{env:TEST_CLIENT_SECRET}}"
refresh_token = "${{env:TEST_REFRESH_TOKEN}}"

[[steps]]
name = "accounts"
type = "query"
profile = "Items.rsd"
options = {options}
output = {json.dumps(db.url)}
table = "accounts"
{step_auth}""", encoding="utf-8")
    return str(path)


def rows(db):
    return [tuple(r) for r in db.query('SELECT "Id", "Name", "NumberOfEmployees" FROM "accounts" ORDER BY "Id"')]


@pytest.mark.slow
def test_a_60_second_query_step_with_5_second_tokens_finishes_with_every_row(tmp_path):
    # 60 pages of 4 accounts, 1 s each: the step runs about 60 s while each token lives 5 s (refreshed 2.5 s
    # before it expires, so about every 2.5 s: ~24 tokens; the margin allows for a slow machine)
    db = make_backend("sqlite", tmp_path)
    with DemoServer(token_lifetime=5, latency=1.0) as srv:
        p = rsd("job", "run", job_file(tmp_path, srv, db, per_page=4, auth=True), env=SECRETS, timeout=300)
        assert p.code == 0, p.stderr
        assert rows(db) == expected_rows(srv) and len(rows(db)) == 237
        assert srv.stats.requests["/api/accounts"] == 61  # 59 pages of 4, one of 1, then the empty page
        assert srv.stats.tokens_issued >= 12
        assert srv.stats.auth_failures == 0  # refreshed before expiry, never after


def test_a_query_step_with_auth_refreshes_the_token_of_the_oauth2_step(tmp_path):
    db = make_backend("sqlite", tmp_path)
    with DemoServer(token_lifetime=1, latency=0.25) as srv:  # 13 requests of 0.25 s: 3+ s with 1 s tokens
        p = rsd("job", "run", job_file(tmp_path, srv, db, per_page=20, auth=True), env=SECRETS, timeout=120)
        assert p.code == 0, p.stderr
        assert rows(db) == expected_rows(srv)
        assert srv.stats.tokens_issued >= 4
        # refreshed half a lifetime ahead of expiry; on a starved machine a request can still reach the server after
        # its token expired, and that 401 is refreshed and sent again (a few at the most, never a failed step)
        assert srv.stats.auth_failures <= 2
    assert "step accounts (query): ok (237 rows, 13 pages" in p.stderr


def test_a_401_after_the_token_of_an_earlier_step_expired_says_how_to_refresh_it(tmp_path):
    db = make_backend("sqlite", tmp_path)
    with DemoServer(token_lifetime=1, latency=0.25) as srv:
        p = rsd("job", "run", job_file(tmp_path, srv, db, per_page=20, auth=False), env=SECRETS, timeout=120)
    assert p.code == 1, p.stderr
    error = [line for line in p.stderr.splitlines() if line.startswith(("rsd: error:", "  hint:"))]
    assert re.fullmatch(
        r"rsd: error: job long\.toml, step 'accounts': GET http://127\.0\.0\.1:\d+/api/accounts\?page=\d+&per_page=20"
        r"( \(page \d+\))?: HTTP 401 Unauthorized: \{\"error\":\"invalid_token\",\"error_description\":\"the access "
        r"token expired\"\}", error[0]), error[0]
    assert re.fullmatch(
        r"  hint: the access token from step 'token' \(obtained \d+ s ago, valid for 1 s\) may have expired: add "
        r"auth = \"token\" to step 'accounts' so it uses that step's credentials and refreshes the token before it "
        r"expires and on a 401 \(docs/jobs\.md\)", error[1]), error[1]
    assert not db.exists("accounts")


def test_job_check_refuses_auth_naming_no_earlier_oauth2_step(tmp_path):
    db = make_backend("sqlite", tmp_path)
    with DemoServer() as srv:
        path = job_file(tmp_path, srv, db, per_page=20, auth=True)
    text = open(path).read().replace('auth = "token"', 'auth = "tokn"')
    open(path, "w").write(text)
    p = rsd("job", "check", path)
    assert p.code == 2
    assert [line.split(": ", 1)[1] for line in p.stdout.splitlines() if "JOB008" in line or "hint" in line] == [
        "error: [JOB008] step 'accounts': auth = 'tokn' names no oauth2 step before it",
        "auth names an earlier step of type oauth2: 'token'",
    ]
