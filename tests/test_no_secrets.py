"""Redaction by value, everywhere: every command, verbose and with tracebacks, against servers that succeed
and servers that fail in the worst ways (echoing credentials back), run as subprocesses.

For each scenario stdout, stderr and every file the run wrote (CSV, JSON, JSONL, SQLite rows including
`_rsd_runs`) are searched for every secret: client secrets, refresh tokens, passwords, API keys, every
access token the servers issued (taken from their records), as given, URL-encoded, base64 (and as the
base64 `user:password` of a Basic header) and JSON-escaped.

The scenarios run concurrently (each against its own copy of nothing: the servers are thread-safe) to keep
this file fast; each is then one test.
"""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PASSWORD, DEMO_REFRESH_TOKEN, DemoServer

try:
    from cli_support import (ACCOUNTS, IN_PROFILE, ITEMS_PROFILE, ITEMS_QUERY_KEY_PROFILE, SAMPLES, GuardedAPI,
                             assert_no_secret, basic_form, demo_oauth, in_profile, record_tokens, rsd)
    from servers import serve
    from servers.oauth_server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, OAuthServer
except ImportError:  # tests/ imported as a package
    from tests.cli_support import (ACCOUNTS, IN_PROFILE, ITEMS_PROFILE, ITEMS_QUERY_KEY_PROFILE, SAMPLES, GuardedAPI,
                                   assert_no_secret, basic_form, demo_oauth, in_profile, record_tokens, rsd)
    from tests.servers import serve
    from tests.servers.oauth_server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, OAuthServer

#: every scenario is a separate `rsd` process (they run concurrently): the slow, end-to-end audit
pytestmark = pytest.mark.slow

# secrets of the scenarios below (besides the demo's and the OAuth test server's)
API_KEY = "api-key-Hq72mZ0pL"
WRONG_API_KEY = "wrong-key-Vb61nT9s"  # a literal in CustomHeaders: secret by its header's name
GIVEN_TOKEN = "given-token-Xc83kQ1w"
BASIC_USER, BASIC_PASSWORD = "svc-user", "basic-pass-Jr55tY7u"
URL_TOKEN = "url-token-Pm48sD2f"  # a literal ?access_token= in CustomUrlParams
MISSPELT = "misspelt-secret-Kd29wE4r"
ECHO_REFRESH = "echoed-refresh-Lz17vB3n"
ECHO_SECRET = "echoed-secret-Wq36hN8c"

JOB = SAMPLES / "demo" / "job.toml"

ENV = {"CLIENT_ID": DEMO_CLIENT_ID, "CLIENT_SECRET": DEMO_CLIENT_SECRET, "REFRESH_TOKEN": DEMO_REFRESH_TOKEN,
       "API_KEY": API_KEY, "GIVEN_TOKEN": GIVEN_TOKEN, "BASIC_PASSWORD": BASIC_PASSWORD, "CS": CLIENT_SECRET,
       "RT": REFRESH_TOKEN, "ECHO_REFRESH": ECHO_REFRESH, "ECHO_SECRET": ECHO_SECRET,
       "RSD_DEMO_CLIENT_ID": DEMO_CLIENT_ID, "RSD_DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
       "RSD_DEMO_REFRESH_TOKEN": DEMO_REFRESH_TOKEN}

VERBOSE = ("--verbose", "--debug")


class EchoTokenEndpoint:
    """A token endpoint that refuses every grant with `invalid_grant`, echoing the whole request (form,
    query, headers) in `error_description`: the worst a token endpoint can do."""

    def __call__(self, environ, start_response):
        request = Request(environ)
        form = request.get_data(as_text=True)
        desc = (f"refresh token {request.form.get('refresh_token')} is expired for client "
                f"{request.form.get('client_id')}:{request.form.get('client_secret')}; you sent {form} "
                f"with {dict(request.headers)} to {request.url}")
        return Response(json.dumps({"error": "invalid_grant", "error_description": desc}), status=400,
                        content_type="application/json")(environ, start_response)


def build_scenarios(tmp: Path, demo: DemoServer, demo_long: DemoServer, echo_key: str, echo_query: str,
                    echo_token: str, oauth_base: str, oauth: OAuthServer) -> dict:
    """name -> (argv, expected exit code, working folder)."""
    items = tmp / "Items.rsd"
    items.write_text(ITEMS_PROFILE)
    items_q = tmp / "ItemsQ.rsd"
    items_q.write_text(ITEMS_QUERY_KEY_PROFILE)
    (tmp / "literal.options").write_text(
        f"BaseURL={demo.url}\nAuthScheme=OAuth\nOAuthAccessTokenURL={demo.token_url}\nOAuthClientId=rsd-demo\n"
        f"OAuthClientSecret={DEMO_CLIENT_SECRET}\nOAuthRefreshToken=${{env:REFRESH_TOKEN}}\n"
        f"CustomHeaders=X-API-Key: {API_KEY}\nPassword={BASIC_PASSWORD}\n")
    (tmp / "ref.options").write_text(
        f"BaseURL={demo.url}\nAuthScheme=OAuth\nOAuthAccessTokenURL={demo.token_url}\n"
        "OAuthClientId=${env:CLIENT_ID}\nOAuthClientSecret=${env:CLIENT_SECRET}\n"
        "OAuthRefreshToken=${env:REFRESH_TOKEN}\n")
    job_dir = tmp / "job"
    job_dir.mkdir()
    for name in ("job.toml", "Accounts.rsd", "Orders.rsd"):
        shutil.copy(SAMPLES / "demo" / name, job_dir / name)
    bad_job = job_dir / "bad.toml"
    bad_job.write_text((job_dir / "job.toml").read_text().replace("${env:RSD_DEMO_REFRESH_TOKEN}",
                                                                  "${env:ECHO_REFRESH}"))
    s: dict = {}
    for fmt in ("table", "csv", "jsonl", "json"):
        s[f"run -f {fmt}, OAuth with 1 s tokens"] = (["run", ACCOUNTS, *demo_oauth(demo), "-f", fmt, *VERBOSE], 0)
    s["run to a CSV file"] = (["run", ACCOUNTS, *demo_oauth(demo), "--output", "out.csv", *VERBOSE], 0)
    s["run to SQLite"] = (["run", ACCOUNTS, *demo_oauth(demo), "--output", "sqlite:///out.db", *VERBOSE], 0)
    s["run with an options file of references"] = (
        ["run", ACCOUNTS, "--options-file", str(tmp / "ref.options"), "-f", "json", *VERBOSE], 0)
    s["run the in-profile token sample"] = (["run", IN_PROFILE, *in_profile(demo_long), "-f", "csv", *VERBOSE], 0)
    s["run with Basic auth"] = (
        ["run", str(items), "-o", f"BaseURL={oauth_base}", "-o", "AuthScheme=Basic", "-o", f"User={BASIC_USER}",
         "-o", "Password=${env:BASIC_PASSWORD}", "-f", "csv", *VERBOSE], 1)  # the OAuth server wants a bearer
    s["run with OAuth, Basic client auth"] = (
        ["run", str(items), "-o", f"BaseURL={oauth_base}", "-o", "AuthScheme=OAuth",
         "-o", f"OAuthAccessTokenURL={oauth_base}/oauth2/token", "-o", f"OAuthClientId={CLIENT_ID}",
         "-o", "OAuthClientSecret=${env:CS}", "-o", "OAuthRefreshToken=${env:RT}", "-o", "OAuthClientAuth=basic",
         "-f", "jsonl", *VERBOSE], 0)
    # failing servers
    s["401: a wrong given bearer token"] = (
        ["run", ACCOUNTS, "-o", f"BaseURL={demo.url}", "-o", "OAuthAccessToken=${env:GIVEN_TOKEN}", "-f", "csv",
         *VERBOSE], 1)
    s["403 echoing every header: literal X-API-Key in CustomHeaders, bearer token"] = (
        ["run", str(items), "-o", f"BaseURL={echo_key}", "-o", f"CustomHeaders=Accept: */*\\nX-API-Key: {WRONG_API_KEY}",
         "-o", "OAuthAccessToken=${env:GIVEN_TOKEN}", "-f", "csv", *VERBOSE], 1)
    s["403 echoing Basic credentials"] = (
        ["run", str(items), "-o", f"BaseURL={echo_key}", "-o", "AuthScheme=Basic", "-o", f"User={BASIC_USER}",
         "-o", "Password=${env:BASIC_PASSWORD}", "-f", "csv", *VERBOSE], 1)
    s["403 echoing the URL: api_key= from an option, literal access_token= in CustomUrlParams"] = (
        ["run", str(items_q), "-o", f"BaseURL={echo_query}", "-o", "ApiKey=${env:API_KEY}",
         "-o", f"CustomUrlParams=access_token={URL_TOKEN}", "-f", "json", *VERBOSE], 1)
    s["500 from the API"] = (["run", ACCOUNTS, *demo_oauth(demo, CustomUrlParams="status=500"), "-f", "csv",
                              *VERBOSE], 1)
    s["500 from the API into SQLite (_rsd_runs records the error)"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, CustomUrlParams="status=500"), "--output", "sqlite:///failed.db",
         *VERBOSE], 1)
    s["truncated bodies, retried"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, CustomUrlParams="truncate=1&fail_times=1"), "-f", "csv", *VERBOSE], 0)
    s["token endpoint invalid_grant echoing the request"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, OAuthAccessTokenURL=echo_token + "/token",
                                      OAuthClientSecret="${env:ECHO_SECRET}",
                                      OAuthRefreshToken="${env:ECHO_REFRESH}"), "-f", "csv", *VERBOSE], 2)
    s["token endpoint invalid_grant echoing the request, parameters in the query"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, OAuthAccessTokenURL=echo_token + "/token", OAuthParamsIn="query",
                                      OAuthClientSecret="${env:ECHO_SECRET}",
                                      OAuthRefreshToken="${env:ECHO_REFRESH}"), "-f", "csv", *VERBOSE], 2)
    s["wrong client secret (invalid_client)"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, OAuthClientSecret="${env:ECHO_SECRET}"), "-f", "csv", *VERBOSE], 2)
    s["misspelt auth option key"] = (
        ["run", ACCOUNTS, *demo_oauth(demo, OAuthClientSecret=None), "-o", f"OAuthClientScret={MISSPELT}",
         "-f", "csv", *VERBOSE], 2)
    s["in-profile token refused (invalid_grant)"] = (
        ["run", IN_PROFILE, *in_profile(demo_long)[:-2], "-o", "RefreshToken=${env:ECHO_REFRESH}", "-f", "csv",
         *VERBOSE], 1)
    s["403 echoing the token an in-profile token request obtained"] = (
        ["run", IN_PROFILE, "-o", f"BaseURL={echo_key}", *in_profile(demo_long)[2:], "-f", "csv", *VERBOSE,
         # the token comes from another origin than the API's: the API must be allowed to receive it
         "--allow-origin", echo_key], 1)
    # the other commands
    s["plan, text"] = (["plan", ACCOUNTS, *demo_oauth(demo), "-o", f"CustomHeaders=X-API-Key: {API_KEY}",
                        "-o", f"CustomUrlParams=access_token={URL_TOKEN}", *VERBOSE], 0)
    s["plan, json"] = (["plan", ACCOUNTS, *demo_oauth(demo), "-o", "CustomHeaders=X-API-Key: ${env:API_KEY}",
                        "-o", "OAuthAccessToken=${env:GIVEN_TOKEN}", "--format", "json", *VERBOSE], 0)
    s["plan of the in-profile sample"] = (["plan", IN_PROFILE, *in_profile(demo_long), *VERBOSE], 0)
    s["check with an options file of literal secrets"] = (
        ["check", ACCOUNTS, "--options-file", str(tmp / "literal.options"), "--debug"], 0)
    s["check with an options file, json"] = (
        ["check", ACCOUNTS, "--options-file", str(tmp / "literal.options"), "--format", "json"], 0)
    s["job run"] = (["job", "run", str(job_dir / "job.toml"), "--var", f"token_url={demo_long.token_url}",
                     "--var", "demo_db=job.db", *VERBOSE], 0)
    s["job run, token step refused"] = (["job", "run", str(bad_job), "--var", f"token_url={echo_token}/token",
                                         "--var", "demo_db=bad.db", *VERBOSE], 2)
    s["job check"] = (["job", "check", str(job_dir / "job.toml"), "--debug"], 0)
    s["demo"] = (["demo", "--db", "demo.db", *VERBOSE], 0)
    return s


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("no-secrets")
    with ExitStack() as stack:
        demo = stack.enter_context(DemoServer(token_lifetime=1.0, latency=0.05))
        demo_long = stack.enter_context(DemoServer(token_lifetime=60.0))
        issued = record_tokens(demo)
        issued_long = record_tokens(demo_long)
        echo_key = stack.enter_context(serve(GuardedAPI(header=("X-API-Key", API_KEY), status=403, echo=True)))
        echo_query = stack.enter_context(serve(GuardedAPI(query=("api_key", "never"), status=403, echo=True)))
        echo_token = stack.enter_context(serve(EchoTokenEndpoint()))
        oauth = OAuthServer(lifetime=60)
        oauth_base = stack.enter_context(serve(oauth))
        scenarios = build_scenarios(tmp, demo, demo_long, echo_key, echo_query, echo_token, oauth_base, oauth)

        def one(item):
            index, (name, (argv, expected)) = item
            work = tmp / f"s{index:02d}"
            work.mkdir()
            return name, (rsd(*argv, env=ENV, cwd=work, timeout=120), expected)

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = dict(pool.map(one, enumerate(scenarios.items())))
        secrets = [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DEMO_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, API_KEY,
                   WRONG_API_KEY, GIVEN_TOKEN, BASIC_PASSWORD, URL_TOKEN, MISSPELT, ECHO_REFRESH, ECHO_SECRET,
                   basic_form(BASIC_USER, BASIC_PASSWORD), basic_form(CLIENT_ID, CLIENT_SECRET),
                   *oauth.issued, *oauth.current_refresh_tokens, *issued, *issued_long]
        yield results, secrets, (issued, issued_long)


SCENARIO_NAMES = [
    *(f"run -f {fmt}, OAuth with 1 s tokens" for fmt in ("table", "csv", "jsonl", "json")),
    "run to a CSV file", "run to SQLite", "run with an options file of references", "run the in-profile token sample",
    "run with Basic auth", "run with OAuth, Basic client auth",
    "401: a wrong given bearer token", "403 echoing every header: literal X-API-Key in CustomHeaders, bearer token",
    "403 echoing Basic credentials",
    "403 echoing the URL: api_key= from an option, literal access_token= in CustomUrlParams",
    "500 from the API", "500 from the API into SQLite (_rsd_runs records the error)", "truncated bodies, retried",
    "token endpoint invalid_grant echoing the request",
    "token endpoint invalid_grant echoing the request, parameters in the query",
    "wrong client secret (invalid_client)", "misspelt auth option key",
    "403 echoing the token an in-profile token request obtained", "in-profile token refused (invalid_grant)",
    "plan, text", "plan, json", "plan of the in-profile sample",
    "check with an options file of literal secrets", "check with an options file, json",
    "job run", "job run, token step refused", "job check", "demo",
]


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_no_secret_in_any_output(outcomes, name):
    results, secrets, _ = outcomes
    result, expected = results[name]
    assert result.code == expected, f"exit {result.code}, expected {expected}\n{result.stderr}"
    if expected == 0 and name.startswith("run "):
        assert "rows from" in result.stderr
    if expected:
        assert "rsd: error:" in result.stderr and "internal error" not in result.stderr, result.stderr
    assert_no_secret(result.everything(), secrets, name)


def test_the_scenarios_did_what_they_claim(outcomes):
    results, _, (issued, issued_long) = outcomes
    assert set(results) == set(SCENARIO_NAMES)
    assert len(issued) >= 6 and issued_long  # tokens were issued (and are checked above)
    stderr = {name: r.stderr for name, (r, _) in results.items()}
    assert "> GET" in stderr["run -f csv, OAuth with 1 s tokens"]  # --verbose traced the requests
    assert "Traceback" in stderr["500 from the API"]  # --debug printed one, redacted
    assert "HTTP 403" in stderr["403 echoing every header: literal X-API-Key in CustomHeaders, bearer token"]
    assert "received" in stderr["403 echoing Basic credentials"]  # the echo is shown, redacted
    assert "invalid_grant" in stderr["token endpoint invalid_grant echoing the request"]
    assert "invalid_client" in stderr["wrong client secret (invalid_client)"]
    assert "body truncated" in stderr["truncated bodies, retried"]
    assert "OAuthClientScret" in stderr["misspelt auth option key"]  # named, with its value hidden
    assert "Bearer ***" in stderr["403 echoing the token an in-profile token request obtained"]
    assert "RSD605" in results["check with an options file of literal secrets"][0].stdout
    failed_db = next(t for p, t in results["500 from the API into SQLite (_rsd_runs records the error)"][0]
                     .files.items() if p.endswith("failed.db"))
    assert "HTTP 500" in failed_db  # the error was recorded, redacted


# -- the fixes, in isolation -----------------------------------------------------------------------------------
def test_the_client_learns_every_credential_it_sends():
    from rsd.http.client import HttpClient
    from rsd.http.redact import Redactor

    app = GuardedAPI(header=("X-API-Key", "never"), status=403, echo=True)
    with serve(app) as base:
        client = HttpClient(redactor=Redactor(), max_retries=0)
        resp = client.request("POST", base + "/api/items?token=tok-in-url-1234&page=1",
                              headers={"X-Custom-Auth": "Token custom-cred-5678", "Authorization": "Bearer brr-9012",
                                       "Content-Type": "application/x-www-form-urlencoded"},
                              data="client_secret=form-secret-3456&x=1", raise_for_status=False)
    shown = client.redactor.redact(resp.text)
    for secret in ("tok-in-url-1234", "custom-cred-5678", "brr-9012", "form-secret-3456"):
        assert secret in resp.text and secret not in shown
    assert client.redactor.redact("Authorization: Bearer brr-9012") == "Authorization: Bearer ***"


def test_a_misspelt_credential_option_is_a_secret_and_named_with_the_option_meant():
    from rsd.errors import OptionError
    from rsd.options import auth_from_options
    from rsd.http.redact import Redactor
    from rsd.options import build_options

    redactor = Redactor()
    opts = build_options(options=[("AuthScheme", "OAuth"), ("OAuthAccessTokenURL", "http://127.0.0.1:9/token"),
                                  ("OAuthRefreshTokn", "typo-token-2345"), ("Pasword", "typo-pass-6789")],
                         secrets=redactor)
    assert "typo-token-2345" in redactor and "typo-pass-6789" in redactor
    assert "http://127.0.0.1:9/token" not in redactor  # OAuthAccessTokenURL is not a misspelt OAuthAccessToken
    with pytest.raises(OptionError) as e:
        auth_from_options(opts, redactor=redactor)
    assert "did you mean OAuthRefreshToken?" in str(e.value) and "did you mean Password?" in str(e.value)
    assert "typo-" not in str(e.value)
