"""Authentication against a real RFC 6749 token endpoint on 127.0.0.1 (tests/servers/oauth_server.py)."""
from __future__ import annotations

import base64
import os
import stat
import threading
import time

import pytest

from rsd.errors import EXIT_INVALID_INPUT, AuthError, HttpError, OptionError
from rsd.http.auth import BasicAuth, BearerAuth, OAuth2Auth, request_token, write_secret_file
from rsd.options import auth_from_options
from rsd.http.client import HttpClient
from rsd.http.redact import Redactor
from rsd.options import build_options

try:
    from servers import Scripted, serve
    from servers.oauth_server import CLIENT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, USER, OAuthServer
except ImportError:  # tests/ imported as a package
    from tests.servers import Scripted, serve
    from tests.servers.oauth_server import CLIENT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, USER, OAuthServer


def oauth_options(base: str, **extra) -> list[tuple[str, str]]:
    opts = {"AuthScheme": "OAuth", "OAuthGrantType": "REFRESH", "OAuthAccessTokenURL": base + "/oauth2/token",
            "OAuthClientId": CLIENT_ID, "OAuthClientSecret": CLIENT_SECRET, "OAuthRefreshToken": REFRESH_TOKEN}
    opts.update(extra)
    return [(k, v) for k, v in opts.items() if v is not None]


def run_client(options, *, base_dir=".", variables=None, **client_kw):
    redactor = Redactor()
    lines: list[str] = []
    opts = build_options(options=options, secrets=redactor, base_dir=base_dir, variables=variables)
    client = HttpClient(redactor=redactor, trace=lines.append, backoff=0.01, **client_kw)
    client.auth = auth_from_options(opts, client=client, redactor=redactor)
    return client, redactor, lines


def all_secrets(server: OAuthServer) -> list[str]:
    return [CLIENT_SECRET, REFRESH_TOKEN, PASSWORD, *server.issued, *server.current_refresh_tokens]


def assert_nothing_secret(server: OAuthServer, *texts: str) -> None:
    for text in texts:
        for secret in all_secrets(server):
            assert secret not in text, f"{secret!r} leaked"


# -- the refresh grant over a run longer than a token's life --------------------------------------
def test_one_second_tokens_are_refreshed_ahead_of_expiry_across_a_loop():
    server = OAuthServer(lifetime=1, pages=1000)
    with serve(server) as base:
        client, redactor, lines = run_client(oauth_options(base))
        started = time.monotonic()
        page = 0
        while time.monotonic() - started < 2.6:
            page += 1
            resp = client.request("GET", base + "/api/items", params={"page": str(page)}, page=page)
            assert resp.json()["page"] == page
            time.sleep(0.05)
    assert client.auth.refreshes >= 4  # a new token every half lifetime
    assert server.token_requests == client.auth.refreshes
    # refreshed ahead of expiry, not after a 401 (one 401 tolerated for a request stalled by a loaded machine)
    assert sum(status == 401 for _, status in server.api_log) <= 1
    assert all(e["grant_type"] == "refresh_token" and e["client_auth"] == "body" for e in server.token_log)
    assert_nothing_secret(server, *lines)
    assert any("/oauth2/token -> 200" in line for line in lines)


def test_salesforce_style_query_params_and_a_401_mid_run_refresh_and_retry():
    server = OAuthServer(salesforce=True, accept_query=True, lifetime=60)
    with serve(server) as base:
        client, redactor, lines = run_client(oauth_options(base, OAuthParamsIn="query",
                                                           OAuthAccessTokenURL=base + "/services/oauth2/token"))
        assert client.request("GET", base + "/api/items?page=1").status_code == 200
        assert client.auth.expires_at is None  # no expires_in: valid until a 401
        assert client.auth.instance_url == "https://example.my.salesforce.com"
        server.revoke_access_tokens()
        resp = client.request("GET", base + "/api/items?page=2", page=2)
        assert resp.json()["page"] == 2
    assert [status for _, status in server.api_log] == [200, 401, 200]
    assert client.auth.refreshes == 2 and server.token_requests == 2
    assert all(e["query"] for e in server.token_log)
    assert client.requests == 5 and client.retries == 1  # 2 token requests + 3 API requests
    assert any("token refreshed, sending again" in line for line in lines)
    assert_nothing_secret(server, *lines)
    assert any("client_secret=***" in line and "refresh_token=***" in line for line in lines)


def test_a_401_that_persists_after_the_refresh_is_an_http_error():
    server = OAuthServer(lifetime=60)
    app_401 = Scripted((401, {}, b'{"error": "insufficient scope"}'))
    with serve(server) as base, serve(app_401) as api:
        client, _, _ = run_client(oauth_options(base))
        with pytest.raises(HttpError) as e:
            client.request("GET", api + "/x", page=1)
    assert e.value.status == 401 and "(page 1): HTTP 401" in str(e.value)
    assert len(app_401.requests) == 2 and client.auth.refreshes == 2  # refreshed once, sent once more


def test_rotated_refresh_token_is_written_back_to_its_file(tmp_path):
    token_file = tmp_path / "sf_refresh_token"
    token_file.write_text(REFRESH_TOKEN + "\n")
    os.chmod(token_file, 0o600)
    server = OAuthServer(lifetime=1, rotate=True)
    with serve(server) as base:
        options = oauth_options(base, OAuthRefreshToken="${file:sf_refresh_token}")
        client, redactor, lines = run_client(options, base_dir=tmp_path)
        assert isinstance(client.auth, OAuth2Auth) and client.auth.refresh_token_file == token_file
        for page in (1, 2, 3):
            client.request("GET", base + f"/api/items?page={page}")
            time.sleep(0.6)
    current = server.current_refresh_tokens
    assert len(current) == 1 and current[0] != REFRESH_TOKEN
    assert token_file.read_text() == current[0] + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert client.auth.rotations == client.auth.refreshes >= 2 and not client.auth.warnings
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert_nothing_secret(server, *lines)
    # the next run starts from the rewritten file
    with serve(server) as base:
        client2, _, _ = run_client(oauth_options(base, OAuthRefreshToken="${file:sf_refresh_token}"), base_dir=tmp_path)
        assert client2.request("GET", base + "/api/items?page=1").status_code == 200


def test_rotation_without_a_file_is_kept_for_the_run_and_warned(monkeypatch):
    monkeypatch.setenv("RSD_T_REFRESH", REFRESH_TOKEN)
    server = OAuthServer(lifetime=1, rotate=True)
    with serve(server) as base:
        client, _, lines = run_client(oauth_options(base, OAuthRefreshToken="${env:RSD_T_REFRESH}"))
        client.request("GET", base + "/api/items?page=1")
        time.sleep(0.6)
        client.request("GET", base + "/api/items?page=2")
    assert client.auth.refreshes == 2 and client.auth.refresh_token == server.current_refresh_tokens[0]
    assert len(client.auth.warnings) == 1 and "this run only" in client.auth.warnings[0]
    assert any(line.startswith("warning: ") for line in lines)


def test_write_secret_file_keeps_newline_style_and_follows_symlinks(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old\r\n")
    os.chmod(real, 0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_secret_file(link, "new-token")
    assert link.is_symlink() and real.read_bytes() == b"new-token\r\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


# -- token endpoint refusals -------------------------------------------------------------------------
def test_wrong_client_secret_is_an_auth_error_without_the_secret():
    server = OAuthServer()
    with serve(server) as base:
        client, _, lines = run_client(oauth_options(base, OAuthClientSecret="wrong-secret-Kq9"))
        with pytest.raises(AuthError) as e:
            client.request("GET", base + "/api/items?page=1")
    assert e.value.exit_code == EXIT_INVALID_INPUT == 2
    message = str(e.value)
    assert "HTTP 401: invalid_client: client authentication failed" in message
    assert f"{base}/oauth2/token" in message and "OAuthClientSecret" in e.value.hint
    assert "wrong-secret-Kq9" not in message + " ".join(lines)
    assert server.token_requests == 1 and server.api_log == []  # not retried, API never called


def test_revoked_refresh_token_is_an_auth_error():
    server = OAuthServer(lifetime=60)
    with serve(server) as base:
        client, _, _ = run_client(oauth_options(base))
        client.request("GET", base + "/api/items?page=1")
        server.revoke(REFRESH_TOKEN)
        server.revoke_access_tokens()
        with pytest.raises(AuthError) as e:
            client.request("GET", base + "/api/items?page=2", page=2)
    assert "invalid_grant: expired access/refresh token" in str(e.value)
    assert "revoked" in e.value.hint
    assert REFRESH_TOKEN not in str(e.value)


def test_token_endpoint_5xx_is_retried_but_4xx_is_not():
    ok = '{"access_token": "at-from-scripted-1", "token_type": "bearer", "expires_in": 3600}'
    token_app = Scripted((503, {}, b"busy"), (200, {"Content-Type": "application/json"}, ok))
    api = Scripted((200, {}, b"[]"))
    with serve(token_app) as tok, serve(api) as base:
        client, redactor, _ = run_client(oauth_options(tok, OAuthAccessTokenURL=tok + "/token"))
        client.request("GET", base + "/")
    assert len(token_app.requests) == 2
    assert api.requests[0][3]["Authorization"] == "Bearer at-from-scripted-1"
    assert redactor.redact("at-from-scripted-1") == "***"

    token_429 = Scripted((429, {"Retry-After": "0"}, b"slow"))
    with serve(token_429) as tok:
        client, _, _ = run_client(oauth_options(tok, OAuthAccessTokenURL=tok + "/token"))
        with pytest.raises(HttpError) as e:
            client.request("GET", tok + "/api")
    assert len(token_429.requests) == 1 and e.value.exit_code == 1


def test_token_response_without_access_token():
    token_app = Scripted((200, {"Content-Type": "application/json"}, b'{"token_type": "bearer"}'))
    with serve(token_app) as tok:
        client, _, _ = run_client(oauth_options(tok, OAuthAccessTokenURL=tok + "/token"))
        with pytest.raises(AuthError, match="without an access_token"):
            client.request("GET", tok + "/api")


# -- other grants and client authentication ------------------------------------------------------
def test_client_credentials_with_basic_client_auth_scope_params_and_token_headers():
    server = OAuthServer(lifetime=60, api_key_header=("X-Token-Key", "token-endpoint-key-1"))
    with serve(server) as base:
        client, redactor, lines = run_client(oauth_options(
            base, OAuthGrantType="CLIENT", OAuthRefreshToken=None, OAuthClientAuth="basic", Scope="read write",
            OAuthParams="audience=https://api,resource=items", OAuthTokenHeaders="X-Token-Key: token-endpoint-key-1"))
        assert client.request("GET", base + "/api/items?page=1").status_code == 200
    (entry,) = server.token_log
    assert entry["grant_type"] == "client_credentials" and entry["client_auth"] == "basic"
    assert entry["scope"] == "read write" and entry["extra"] == {"audience": "https://api", "resource": "items"}
    assert redactor.redact("token-endpoint-key-1") == "***"


def test_password_grant_then_refresh_with_the_issued_refresh_token():
    server = OAuthServer(lifetime=1)
    with serve(server) as base:
        client, _, lines = run_client(oauth_options(base, OAuthGrantType="PASSWORD", OAuthRefreshToken=None,
                                                    User=USER, Password=PASSWORD))
        client.request("GET", base + "/api/items?page=1")
        time.sleep(0.6)
        client.request("GET", base + "/api/items?page=2")
    assert [e["grant_type"] for e in server.token_log] == ["password", "refresh_token"]
    assert client.auth.rotations == 0 and not client.auth.warnings
    assert_nothing_secret(server, *lines)


def test_wrong_password_is_an_auth_error():
    server = OAuthServer()
    with serve(server) as base:
        client, _, _ = run_client(oauth_options(base, OAuthGrantType="PASSWORD", OAuthRefreshToken=None,
                                                User=USER, Password="not-the-password"))
        with pytest.raises(AuthError) as e:
            client.request("GET", base + "/api/items")
    assert "invalid_grant" in str(e.value) and "not-the-password" not in str(e.value)
    assert e.value.hint == "check User and Password"


def test_concurrent_requests_share_one_refresh():
    server = OAuthServer(lifetime=1, pages=10_000)
    errors = []
    with serve(server) as base:
        client, _, _ = run_client(oauth_options(base))

        def worker(n):
            try:
                for i in range(8):
                    client.request("GET", base + f"/api/items?page={n * 100 + i}")
                    time.sleep(0.1)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert sum(status == 401 for _, status in server.api_log) <= 1
    assert 2 <= client.auth.refreshes <= 5  # ~0.9 s of work, a refresh every 0.5 s: not one per thread


# -- static bearer and Basic ---------------------------------------------------------------------------
def test_static_bearer_token_is_sent_and_not_refreshed():
    api = Scripted((200, {}, b"[]"), (401, {}, b"expired"))
    with serve(api) as base:
        client, redactor, lines = run_client([("OAuthAccessToken", "static-token-123")])
        assert isinstance(client.auth, BearerAuth)
        client.request("GET", base + "/")
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/")
    assert api.requests[0][3]["Authorization"] == "Bearer static-token-123"
    assert len(api.requests) == 2 and e.value.status == 401
    assert redactor.redact("static-token-123") == "***"


def test_basic_auth():
    api = Scripted((200, {}, b"[]"))
    with serve(api) as base:
        client, redactor, lines = run_client([("AuthScheme", "Basic"), ("User", "bob"), ("Password", "b0b-pass")])
        assert isinstance(client.auth, BasicAuth)
        client.request("GET", base + "/")
    expected = base64.b64encode(b"bob:b0b-pass").decode()
    assert api.requests[0][3]["Authorization"] == f"Basic {expected}"
    assert redactor.redact(f"Basic {expected} b0b-pass") == "Basic *** ***"


# -- reading the options ---------------------------------------------------------------------------------
def test_auth_from_options_choices_and_errors():
    r = Redactor()
    assert auth_from_options({}, redactor=r) is None
    assert auth_from_options({"AuthScheme": "None"}, redactor=r) is None
    assert auth_from_options({"AuthScheme": "APIKey", "APIKey": "k"}, redactor=r) is None  # the profile's business
    assert isinstance(auth_from_options({"authscheme": "OAuth", "OAuthAccessToken": "tok-1"}, redactor=r), BearerAuth)
    with pytest.raises(OptionError, match="OAuthAccessTokenURL"):
        auth_from_options({"AuthScheme": "OAuth2"}, redactor=r)
    with pytest.raises(OptionError, match="CODE needs a browser"):
        auth_from_options({"AuthScheme": "OAuth", "OAuthAccessTokenURL": "http://x", "OAuthGrantType": "CODE"})
    with pytest.raises(OptionError, match="OAuthRefreshToken"):
        auth_from_options({"AuthScheme": "OAuth", "OAuthAccessTokenURL": "http://x", "OAuthGrantType": "REFRESH"})
    with pytest.raises(OptionError, match="OAuthClientAuth"):
        auth_from_options({"AuthScheme": "OAuth", "OAuthAccessTokenURL": "http://x", "OAuthClientAuth": "header"})
    with pytest.raises(OptionError, match="User"):
        auth_from_options({"AuthScheme": "Basic"})
    inferred = auth_from_options({"AuthScheme": "OAuth", "OAuthAccessTokenURL": "http://x", "OAuthClientId": "i",
                                  "OAuthClientSecret": "s"}, redactor=r)
    assert inferred.grant_type == "client_credentials"


def test_request_token_for_a_job_step():
    server = OAuthServer(salesforce=True, accept_query=True)
    r = Redactor()
    with serve(server) as base:
        payload = request_token(token_url=base + "/services/oauth2/token", grant_type="refresh_token",
                                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN,
                                params_in="query", redactor=r)
        with pytest.raises(AuthError):
            request_token(token_url=base + "/services/oauth2/token", grant_type="REFRESH", client_id=CLIENT_ID,
                          client_secret=CLIENT_SECRET, refresh_token="revoked-or-unknown", redactor=r)
    assert payload["access_token"] in server.issued and "issued_at" in payload
    assert r.redact(payload["access_token"]) == "***" and r.redact(CLIENT_SECRET) == "***"
