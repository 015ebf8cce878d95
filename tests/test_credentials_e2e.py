"""Credentials at run time, end to end: `rsd` run as a subprocess against real servers on 127.0.0.1.

The originating document's workflow as one command (OAuth 2 refresh-token grant, secrets from `${env:...}`,
several token expiries within one run), 401 mid-run, rotated refresh tokens written back, token-endpoint
refusals, the other grants and client authentications, `${...}` references of every kind (and their
errors), Basic auth, API keys, a given bearer token, the in-profile token pattern and `rsd check`'s
hard-coded-secret warnings. Every test also checks that no secret reached stdout, stderr or a file.
"""
from __future__ import annotations

import csv
import io
import stat
import sys
from pathlib import Path

import pytest

from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_REFRESH_TOKEN, DemoServer

try:
    from cli_support import (ACCOUNTS, IN_PROFILE, ITEMS_HEADER_KEY_PROFILE, ITEMS_PROFILE, ITEMS_QUERY_KEY_PROFILE,
                             GuardedAPI, assert_no_secret, basic_form, demo_oauth, in_profile, record_tokens, rsd,
                             summary_count, token_count)
    from servers import serve
    from servers.oauth_server import CLIENT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, USER, OAuthServer
except ImportError:  # tests/ imported as a package
    from tests.cli_support import (ACCOUNTS, IN_PROFILE, ITEMS_HEADER_KEY_PROFILE, ITEMS_PROFILE,
                                   ITEMS_QUERY_KEY_PROFILE, GuardedAPI, assert_no_secret, basic_form, demo_oauth,
                                   in_profile, record_tokens, rsd, summary_count, token_count)
    from tests.servers import serve
    from tests.servers.oauth_server import CLIENT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, USER, OAuthServer

DEMO_ENV = {"CLIENT_ID": DEMO_CLIENT_ID, "CLIENT_SECRET": DEMO_CLIENT_SECRET, "REFRESH_TOKEN": DEMO_REFRESH_TOKEN}
DEMO_SECRETS = [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_PASSWORD]


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def items_profile(tmp_path: Path, text: str = ITEMS_PROFILE, name: str = "Items.rsd") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def oauth_items(srv_url: str, **extra: str) -> list[str]:
    opts = {"BaseURL": srv_url, "AuthScheme": "OAuth", "OAuthGrantType": "REFRESH",
            "OAuthAccessTokenURL": srv_url + "/oauth2/token", "OAuthClientId": CLIENT_ID,
            "OAuthClientSecret": "${env:CS}", "OAuthRefreshToken": "${env:RT}"}
    opts.update(extra)
    return [a for k, v in opts.items() if v is not None for a in ("-o", f"{k}={v}")]


OAUTH_ENV = {"CS": CLIENT_SECRET, "RT": REFRESH_TOKEN, "PW": PASSWORD}


def oauth_secrets(server: OAuthServer) -> list[str]:
    return [CLIENT_SECRET, REFRESH_TOKEN, PASSWORD, *server.issued, *server.current_refresh_tokens]


# -- 7. the originating document's workflow as one command ---------------------------------------------------
def test_one_command_gets_every_page_across_several_token_expiries(tmp_path):
    with DemoServer(token_lifetime=1.0, latency=0.25) as srv:
        issued = record_tokens(srv)
        r = rsd("run", ACCOUNTS, *demo_oauth(srv), "-f", "csv", "--output", "accounts.csv", "--verbose",
                env=DEMO_ENV, cwd=tmp_path)
    assert r.code == 0, r.stderr
    rows = csv_rows((tmp_path / "accounts.csv").read_text())
    assert len(rows) == 237 and len({row["Id"] for row in rows}) == 237
    assert summary_count(r.stderr) == 237
    assert token_count(r.stderr) >= 3, r.stderr
    assert len(issued) == token_count(r.stderr) and srv.stats.auth_failures == 0
    assert_no_secret(r.everything(), DEMO_SECRETS + issued, "the run's output")


def test_a_401_mid_run_refreshes_once_and_retries_the_request(tmp_path):
    with DemoServer(token_lifetime=60.0) as srv:
        issued = record_tokens(srv)
        check_bearer, calls = srv._check_bearer, []

        def revoke_before_page_3(authorization):  # the server revokes every token as page 3 comes in
            calls.append(authorization)
            if len(calls) == 3:
                srv.revoke_tokens()
            return check_bearer(authorization)

        srv._check_bearer = revoke_before_page_3
        r = rsd("run", ACCOUNTS, *demo_oauth(srv), "-f", "jsonl", "--verbose", env=DEMO_ENV, cwd=tmp_path)
        statuses = [(h.params.get("page"), h.status) for h in srv.history if h.path == "/api/accounts"]
    assert r.code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 237
    assert srv.stats.auth_failures == 1 and ("3", 401) in statuses and ("3", 200) in statuses
    assert len(issued) == 2 and token_count(r.stderr) == 2
    assert "token refreshed, sending again" in r.stderr
    assert_no_secret(r.everything(), DEMO_SECRETS + issued)


def test_rotated_refresh_token_is_written_back_to_its_file_and_works_next_run(tmp_path):
    server = OAuthServer(rotate=True, lifetime=60)
    token_file = tmp_path / "secrets" / "refresh_token"
    token_file.parent.mkdir()
    token_file.write_text(REFRESH_TOKEN + "\n")
    token_file.chmod(0o600)
    work = tmp_path / "work"  # output files are collected from here; the secret lives outside
    work.mkdir()
    profile = items_profile(tmp_path)
    with serve(server) as base:
        args = ("run", profile, *oauth_items(base, OAuthRefreshToken="${file:../secrets/refresh_token}"), "-f", "csv")
        first = rsd(*args, env=OAUTH_ENV, cwd=work)
        assert first.code == 0, first.stderr
        rotated = token_file.read_text()
        assert rotated.endswith("\n") and rotated.strip() != REFRESH_TOKEN
        assert rotated.strip() in server.current_refresh_tokens
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert [p.name for p in token_file.parent.iterdir()] == ["refresh_token"]  # no temp file left
        second = rsd(*args, env=OAUTH_ENV, cwd=work)  # the old token is dead: only the written one works
        assert second.code == 0, second.stderr
        assert len(csv_rows(second.stdout)) == 6
        assert_no_secret(first.everything() + second.everything(), oauth_secrets(server) + [rotated.strip()])


def test_rotation_from_an_env_reference_warns_that_it_cannot_be_saved(tmp_path):
    server = OAuthServer(rotate=True, lifetime=60)
    with serve(server) as base:
        r = rsd("run", items_profile(tmp_path), *oauth_items(base), "-f", "csv", env=OAUTH_ENV, cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert "rotated" in r.stderr and "${file:PATH}" in r.stderr
    assert_no_secret(r.everything(), oauth_secrets(server))


def test_wrong_client_secret_ends_the_run_with_exit_2_and_the_servers_error(tmp_path):
    wrong = "not-the-client-secret-42"
    with DemoServer() as srv:
        r = rsd("run", ACCOUNTS, *demo_oauth(srv), "-f", "csv", "--verbose", "--debug",
                env={**DEMO_ENV, "CLIENT_SECRET": wrong}, cwd=tmp_path)
    assert r.code == 2, r.stderr
    assert "invalid_client" in r.stderr and "invalid client credentials" in r.stderr
    assert "OAuthClientSecret" in r.stderr  # the hint
    assert r.stdout == ""
    assert_no_secret(r.everything(), DEMO_SECRETS + [wrong])


def test_revoked_refresh_token_ends_the_run_with_exit_2(tmp_path):
    server = OAuthServer()
    server.revoke(REFRESH_TOKEN)
    with serve(server) as base:
        r = rsd("run", items_profile(tmp_path), *oauth_items(base), "-f", "csv", "--debug", env=OAUTH_ENV,
                cwd=tmp_path)
    assert r.code == 2, r.stderr
    assert "invalid_grant" in r.stderr and "expired access/refresh token" in r.stderr
    assert "revoked" in r.stderr  # the hint
    assert "Traceback" in r.stderr  # --debug, still redacted
    assert_no_secret(r.everything(), oauth_secrets(server))


# -- 2. grants, client authentication, token response styles -------------------------------------------------
@pytest.mark.parametrize("name, server_kw, extra", [
    ("client grant, client auth in the body", {}, {"OAuthGrantType": "CLIENT", "OAuthRefreshToken": None}),
    ("client grant, Basic client auth", {}, {"OAuthGrantType": "CLIENT", "OAuthRefreshToken": None,
                                            "OAuthClientAuth": "basic"}),
    ("password grant", {}, {"OAuthGrantType": "PASSWORD", "OAuthRefreshToken": None, "User": USER,
                            "Password": "${env:PW}"}),
    ("refresh grant, Basic client auth", {}, {"OAuthClientAuth": "basic"}),
    ("Salesforce: no expires_in, parameters in the token URL's query",
     {"salesforce": True, "accept_query": True}, {"OAuthParamsIn": "query"}),
])
def test_grants_and_client_authentication_through_rsd_run(tmp_path, name, server_kw, extra):
    server = OAuthServer(lifetime=60, **server_kw)
    with serve(server) as base:
        r = rsd("run", items_profile(tmp_path), *oauth_items(base, **extra), "-f", "csv", "--verbose",
                env=OAUTH_ENV, cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert [row["id"] for row in csv_rows(r.stdout)] == ["1", "2", "3", "4", "5", "6"]
    entry = server.token_log[0]
    assert entry["outcome"] == "ok"
    assert entry["client_auth"] == ("basic" if extra.get("OAuthClientAuth") == "basic" else "body")
    assert entry["grant_type"] == {"CLIENT": "client_credentials", "PASSWORD": "password"}.get(
        extra.get("OAuthGrantType"), "refresh_token")
    assert entry["query"] == (extra.get("OAuthParamsIn") == "query")
    assert_no_secret(r.everything(), oauth_secrets(server) + [basic_form(CLIENT_ID, CLIENT_SECRET)])


def test_salesforce_style_token_without_expires_in_is_refreshed_on_a_401(tmp_path):
    server = OAuthServer(salesforce=True, accept_query=True, lifetime=60, pages=3)

    def app(environ, start_response):  # the tokens are revoked as page 2 comes in
        if environ["PATH_INFO"] == "/api/items" and "page=2" in environ.get("QUERY_STRING", "") \
                and not any(page == 2 for page, _ in server.api_log):
            server.revoke_access_tokens()
        return server(environ, start_response)

    with serve(app) as base:
        r = rsd("run", items_profile(tmp_path), *oauth_items(base, OAuthParamsIn="query"), "-f", "csv",
                env=OAUTH_ENV, cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert len(csv_rows(r.stdout)) == 6
    assert 401 in [s for _, s in server.api_log] and len(server.issued) == 2
    assert_no_secret(r.everything(), oauth_secrets(server))


# -- 4. Basic auth, API keys, a given bearer token -------------------------------------------------------------
@pytest.mark.parametrize("name, app_kw, profile_text, options", [
    ("Basic", {"basic": ("svc-user", "basic-pass-7731")}, ITEMS_PROFILE,
     ["-o", "AuthScheme=Basic", "-o", "User=svc-user", "-o", "Password=${env:SECRET}"]),
    ("API key in CustomHeaders", {"header": ("X-API-Key", "api-key-5512")}, ITEMS_PROFILE,
     ["-o", "CustomHeaders=Accept: application/json\\nX-API-Key: ${env:SECRET}"]),
    ("API key through Header:Name#1 from a connection option", {"header": ("X-API-Key", "api-key-5512")},
     ITEMS_HEADER_KEY_PROFILE, ["-o", "ApiKey=${env:SECRET}"]),
    ("API key in the query string", {"query": ("api_key", "api-key-5512")}, ITEMS_QUERY_KEY_PROFILE,
     ["-o", "ApiKey=${env:SECRET}"]),
    ("a given bearer token", {"bearer": "given-bearer-0099"}, ITEMS_PROFILE,
     ["-o", "OAuthAccessToken=${env:SECRET}"]),
])
def test_basic_api_keys_and_given_bearer_token(tmp_path, name, app_kw, profile_text, options):
    secret = next(v for v in (app_kw.get("bearer"), *(app_kw.get(k, (None, None))[1]
                                                     for k in ("basic", "header", "query"))) if v)
    app = GuardedAPI(**app_kw)
    with serve(app) as base:
        ok = rsd("run", items_profile(tmp_path, profile_text), "-o", f"BaseURL={base}", *options, "-f", "csv",
                 "--verbose", env={"SECRET": secret}, cwd=tmp_path)
        bad = rsd("run", items_profile(tmp_path, profile_text), "-o", f"BaseURL={base}", *options, "-f", "csv",
                  "--verbose", env={"SECRET": secret + "-wrong"}, cwd=tmp_path)
    assert ok.code == 0, ok.stderr
    assert len(csv_rows(ok.stdout)) == 6
    assert bad.code == 1 and "HTTP 401" in bad.stderr
    forms = [secret, secret + "-wrong"]
    if "basic" in app_kw:
        forms += [basic_form("svc-user", secret), basic_form("svc-user", secret + "-wrong")]
    assert_no_secret(ok.everything() + bad.everything(), forms)


# -- 1. references in every option value and options file ------------------------------------------------------
def test_every_reference_kind_through_the_cli(tmp_path):
    server = OAuthServer(lifetime=60)
    (tmp_path / "rt.txt").write_text(REFRESH_TOKEN + "\n")
    (tmp_path / "conn.options").write_text(
        "# options file: references resolve against this file's folder\n"
        "AuthScheme=OAuth\nOAuthGrantType=${grant}\nOAuthRefreshToken=${file:rt.txt}\n")
    keyring_stub = tmp_path / "stub"
    keyring_stub.mkdir()
    (keyring_stub / "keyring.py").write_text(
        "import os\n"
        "def get_password(service, user):\n"
        "    return os.environ.get('STUB_KEYRING_' + service + '_' + user)\n")
    with serve(server) as base:
        r = rsd("run", items_profile(tmp_path), "--options-file", "conn.options",
                "-o", f"BaseURL={base}", "-o", f"OAuthAccessTokenURL={base}/oauth2/token",
                "-o", "OAuthClientId=${cmd:" + sys.executable + " -c \"print('" + CLIENT_ID + "')\"}",
                "-o", "OAuthClientSecret=${keyring:rsdtest/client}", "--var", "grant=REFRESH", "-f", "json",
                env={"PYTHONPATH": str(keyring_stub), "STUB_KEYRING_rsdtest_client": CLIENT_SECRET}, cwd=tmp_path,
                fresh=True)  # a new interpreter, which imports the stub keyring from PYTHONPATH
    assert r.code == 0, r.stderr
    assert r.stdout.count('"id"') == 6
    assert_no_secret(r.everything(), oauth_secrets(server))


@pytest.mark.parametrize("option, needle", [
    ("OAuthClientSecret=${env:RSD_TEST_NOT_SET}", "${env:RSD_TEST_NOT_SET}"),
    ("OAuthClientSecret=${file:missing/secret.txt}", "${file:missing/secret.txt}"),
    ("OAuthClientSecret=${cmd:" + sys.executable + " -c \"print('leaked' + '-output-1234'); raise SystemExit(3)\"}",
     "exit status 3"),
    ("OAuthClientSecret=${cmd:no-such-command-rsd}", "command not found: no-such-command-rsd"),
    ("OAuthClientSecret=${nosuchvar}", "--var nosuchvar=VALUE"),
    ("OAuthClientSecret=${keyring:svc/user}", "${keyring:svc/user}"),
    ("OAuthClientSecret=${vault:x}", "unknown reference kind in ${vault:x}"),
    ("OAuthClientSecret=abc${env:HOME", "unterminated reference"),
])
def test_an_unresolved_reference_is_exit_2_naming_it(tmp_path, option, needle):
    for run in (["run", items_profile(tmp_path), "-o", option, "-o", "BaseURL=http://127.0.0.1:9"],
                ["plan", items_profile(tmp_path), "-o", option, "-o", "BaseURL=http://127.0.0.1:9"]):
        r = rsd(*run, env={"PYTHONPATH": str(tmp_path / "nothing")}, cwd=tmp_path)
        assert r.code == 2, r.stderr
        assert needle in r.stderr and "option OAuthClientSecret" in r.stderr
        assert "leaked-output-1234" not in r.everything()


def test_an_unresolved_reference_in_an_options_file_names_the_file_and_line(tmp_path):
    (tmp_path / "o.txt").write_text("BaseURL=http://127.0.0.1:9\n\nPassword=${env:RSD_TEST_NOT_SET}\n")
    r = rsd("run", items_profile(tmp_path), "--options-file", "o.txt", cwd=tmp_path)
    assert r.code == 2 and "o.txt:3" in r.stderr and "${env:RSD_TEST_NOT_SET}" in r.stderr


# -- 3. the in-profile token pattern -----------------------------------------------------------------------------
def test_in_profile_token_sample_gets_every_account(tmp_path):
    with DemoServer(token_lifetime=60.0) as srv:
        issued = record_tokens(srv)
        r = rsd("run", IN_PROFILE, *in_profile(srv), "-f", "csv", "--verbose", env=DEMO_ENV, cwd=tmp_path)
        token_posts = [h for h in srv.history if h.path == "/services/oauth2/token"]
        data_auth = {h.header("Authorization") for h in srv.history if h.path == "/api/accounts"}
    assert r.code == 0, r.stderr
    rows = csv_rows(r.stdout)
    assert len(rows) == 237 and len({row["Id"] for row in rows}) == 237
    assert len(token_posts) == 1 and token_posts[0].method == "POST"  # first page only
    assert data_auth == {f"Bearer {issued[0]}"}  # carried across pages in rows@next
    assert_no_secret(r.everything(), DEMO_SECRETS + issued)


def test_in_profile_token_refused_is_a_failed_run_without_the_secret(tmp_path):
    with DemoServer() as srv:
        r = rsd("run", IN_PROFILE, *in_profile(srv), "-f", "csv", "--verbose", "--debug",
                env={**DEMO_ENV, "REFRESH_TOKEN": "revoked-refresh-token-77"}, cwd=tmp_path)
    assert r.code == 1, r.stderr
    assert "HTTP 400" in r.stderr and "invalid_grant" in r.stderr
    assert_no_secret(r.everything(), DEMO_SECRETS + ["revoked-refresh-token-77"])


# -- 6. rsd check warns about hard-coded secrets ----------------------------------------------------------------
HARD_CODED = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="T" desc="hard-coded secrets" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="string" other:xPath="/json/items/id" />
  </api:info>
  <api:set attr="CustomHeaders" value="Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.literal" />
  <api:set attr="URI" value="https://api.example.com/items?access_token=LiteralTokenValue1" />
  <api:set attr="Header:Name#1" value="X-API-Key" />
  <api:set attr="Header:Value#1" value="LiteralHeaderKey22" />
  <api:set attr="ClientSecret" value="LiteralAttrSecret3" />
  <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>
</api:script>
"""


def test_check_warns_about_hard_coded_secrets_and_suggests_references(tmp_path):
    (tmp_path / "Bad.rsd").write_text(HARD_CODED)
    (tmp_path / "prod.options").write_text("BaseURL=https://api.example.com\nOAuthClientSecret=LiteralOptSecret4\n"
                                          "OAuthRefreshToken=${env:REFRESH_TOKEN}\n")
    r = rsd("check", "Bad.rsd", "--options-file", "prod.options", cwd=tmp_path)
    assert r.code == 0, r.stdout + r.stderr  # warnings only
    for code in ("RSD601", "RSD602", "RSD603", "RSD604", "RSD605"):
        assert f"[{code}]" in r.stdout, code
    assert "${env:" in r.stdout
    assert "prod.options:2:" in r.stdout and "prod.options:3:" not in r.stdout
    strict = rsd("check", "Bad.rsd", "--options-file", "prod.options", "--strict", cwd=tmp_path)
    assert strict.code == 2
    for out in (r, strict):
        assert_no_secret(out.stdout + out.stderr, ["eyJhbGciOiJIUzI1NiJ9.literal", "LiteralTokenValue1",
                                                   "LiteralHeaderKey22", "LiteralAttrSecret3", "LiteralOptSecret4"])
