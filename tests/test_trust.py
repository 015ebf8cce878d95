"""Issue #12, findings 1 and 5: credentials go only to the trusted origins (docs/reference/contract.md §11).

Every way rsd sends a credential (an OAuth bearer token, Basic, a `CustomHeaders` key and bearer, `Header:Name#N`
attributes, a `CustomUrlParams` key, `OAuthTokenHeaders`) meets every way a hostile API can send the client to
another origin (301, 302, 303, 307, 308, a next URL, a `Link` header, a URI a script built from a response value).
A capture server on another port records every byte it receives; none of it may be a credential, in any spelling
(as is, URL-encoded, base64, JSON-escaped). The trusted API itself must still get the credential (so the tests can
fail), and the run gets every row. The token endpoint's redirects are never followed; a body holding a secret is
never sent to another origin; the session's cookies stay with their origin; `--allow-origin` trusts more.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from rsd import api
from rsd.errors import AuthError, HttpError, InvalidInputError, OptionError
from rsd.http.policy import TrustPolicy, origin_of

try:
    from cli_support import rsd, secret_forms
    from servers import serve
    from servers.hostile import REDIRECTS, WAYS, Capture, Elsewhere, Redirector
except ImportError:  # tests/ imported as a package
    from tests.cli_support import rsd, secret_forms
    from tests.servers import serve
    from tests.servers.hostile import REDIRECTS, WAYS, Capture, Elsewhere, Redirector

PROFILE = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Items" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
    <attr name="name" xs:type="string" other:xPath="/json/items/name"/>
  </api:info>
  <api:set attr="URI" value="{uri}"/>
  <api:set attr="JSONPath" value="$.items"/>
{extra}
  <api:script method="GET">
    <api:call op="jsonproviderGet">{body}</api:call>
  </api:script>
</api:script>
"""

PAGING = {
    "next": '  <api:set attr="EnablePaging" value="true"/>\n  <api:set attr="nextpageurlpath" value="$.next"/>',
    "link": '  <api:set attr="EnablePaging" value="true"/>\n  <api:set attr="pagingtype" value="LinkHeader"/>',
    # the script takes the next URI from a response value (ElementMapPath) and carries it in rows@next
    "value": '  <api:set attr="ElementMapPath#1" value="$.cursor"/>\n'
             '  <api:set attr="ElementMapName#1" value="cursor"/>',
}
HEADER_ATTRS = """\
  <api:set attr="Header:Name#1" value="Private-Token"/>
  <api:set attr="Header:Value#1" value="[_connection.ApiKey]"/>
  <api:set attr="Header:Name#2" value="X-Tenant"/>
  <api:set attr="Header:Value#2" value="[_connection.TenantSecret]"/>"""

CLIENT_SECRET = "cs-trust-Vb61xQz"
TOKEN = "at-elsewhere-Hk38dPq"
PASSWORD = "pw-trust-Lm40aSe"
USER = "alice"
KEYS = {n: f"k{n}-trust-{n * 7919}" for n in range(1, 8)}


def credential(kind: str, base: str) -> tuple[list[tuple[str, str]], str, list[str]]:
    """(options, extra profile text, the secrets) of one way of sending a credential."""
    oauth = [("AuthScheme", "OAuth"), ("OAuthAccessTokenURL", base + "/token"), ("OAuthGrantType", "CLIENT"),
             ("OAuthClientId", "trust-client"), ("OAuthClientSecret", CLIENT_SECRET)]
    if kind == "bearer":
        return oauth, "", [CLIENT_SECRET, TOKEN]
    if kind == "basic":
        return [("AuthScheme", "Basic"), ("User", USER), ("Password", PASSWORD)], "", [PASSWORD, f"{USER}:{PASSWORD}"]
    if kind == "custom_headers":
        return [("CustomHeaders", f"X-API-Key: {KEYS[1]}\nAuthorization: Bearer {KEYS[2]}")], "", [KEYS[1], KEYS[2]]
    if kind == "header_attrs":
        return [("ApiKey", KEYS[3]), ("TenantSecret", KEYS[4])], HEADER_ATTRS, [KEYS[3], KEYS[4]]
    if kind == "url_params":
        return [("CustomUrlParams", f"api_key={KEYS[5]}&tenant=public")], "", [KEYS[5]]
    if kind == "token_headers":
        return oauth + [("OAuthTokenHeaders", f"X-Token-Key: {KEYS[6]}")], "", [CLIENT_SECRET, TOKEN, KEYS[6]]
    raise ValueError(kind)


CREDENTIALS = ("bearer", "basic", "custom_headers", "header_attrs", "url_params", "token_headers")


def profile_for(tmp_path, way: str, extra: str = "", name: str = "Items.rsd") -> str:
    if way == "value":
        uri = "[_input.rows@next | def('[_connection.BaseURL]/items')]"
        body = '<api:set attr="rows@next" value="[cursor]"/><api:push/>'
    else:
        uri, body = "[_connection.BaseURL]/items", "<api:push/>"
    text = PROFILE.format(uri=uri, extra="\n".join(x for x in (PAGING.get(way, ""), extra) if x), body=body)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_nothing_of(text: str, secrets, where: str) -> None:
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in text, f"{secret!r} reached {where} (as {form!r}):\n{text}"


def assert_some_of(text: str, secrets, where: str) -> None:
    for secret in secrets:
        assert any(form in text for form in secret_forms(secret)), f"{secret!r} never reached {where}:\n{text}"


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("kind", CREDENTIALS)
def test_another_origin_gets_no_credential(tmp_path, way, kind):
    capture = Capture()
    with serve(capture) as other:
        app = Elsewhere(way, other, token=TOKEN)
        with serve(app) as base:
            options, extra, secrets = credential(kind, base)
            result = api.collect(profile_for(tmp_path, way, extra), options=[("BaseURL", base), *options])
    captured = capture.text()
    assert capture.requests, "the hostile API never sent the client to the capture server"
    assert_nothing_of(captured, secrets, f"the capture server ({way}, {kind})")
    assert_some_of(app.text(), secrets, "the trusted API")
    expected = [(101, "captured one"), (102, "captured two")]
    assert result.rows == (expected if way in REDIRECTS else [(1, "one"), (2, "two")] + expected)
    if kind == "url_params" and way not in REDIRECTS:  # what is not a credential still goes
        assert "tenant=public" in captured


@pytest.mark.parametrize("status", [int(s) for s in REDIRECTS])
@pytest.mark.parametrize("params_in", ["body", "query"])
def test_a_token_endpoint_redirect_is_never_followed(tmp_path, status, params_in):
    capture = Capture()
    with serve(capture) as other:
        redirector = Redirector(status, other + "/token")
        with serve(redirector) as token_base, serve(Elsewhere("next", other)) as base:
            options, _, secrets = credential("token_headers", token_base)
            with pytest.raises(AuthError) as e:
                api.collect(profile_for(tmp_path, "next"),
                            options=[("BaseURL", base), ("OAuthParamsIn", params_in), *options])
    assert not capture.requests
    assert len(redirector.requests) == 1
    assert f"answered HTTP {status}, a redirect to {other}/token" in str(e.value)
    assert "does not follow a token endpoint's redirects" in str(e.value)
    assert e.value.exit_code == 2


def test_a_body_holding_a_secret_is_not_sent_to_another_origin(tmp_path):
    capture = Capture()
    with serve(capture) as other, serve(Elsewhere("307", other)) as base:
        extra = ('  <api:set attr="method" value="POST"/>\n'
                 '  <api:set attr="data" value="key=[_connection.ApiKey]&amp;q=1"/>')
        with pytest.raises(InvalidInputError) as e:
            api.collect(profile_for(tmp_path, "307", extra), options=[("BaseURL", base), ("ApiKey", KEYS[7])])
    assert not capture.requests
    host = origin_of(other)
    assert f"refused to send a request body holding a credential to http://127.0.0.1:{host[2]}" in str(e.value)
    assert e.value.hint == f"if http://127.0.0.1:{host[2]} is meant to receive it, run with --allow-origin " \
                           f"http://127.0.0.1:{host[2]}"


def test_a_303_turns_a_post_into_a_get_without_its_body(tmp_path):
    capture = Capture()
    with serve(capture) as other, serve(Elsewhere("303", other)) as base:
        extra = ('  <api:set attr="method" value="POST"/>\n'
                 '  <api:set attr="data" value="key=[_connection.ApiKey]&amp;q=1"/>')
        result = api.collect(profile_for(tmp_path, "303", extra), options=[("BaseURL", base), ("ApiKey", KEYS[7])])
    assert result.rows == [(101, "captured one"), (102, "captured two")]
    assert capture.requests[0].startswith("GET /items?page=2 ")
    assert_nothing_of(capture.text(), [KEYS[7]], "the capture server")


def test_cookies_stay_with_their_origin(tmp_path):
    """The session's cookie jar is port-blind: a cookie the API set would go to any port of the same host."""
    capture = Capture()

    class SetsCookie(Elsewhere):
        def __call__(self, environ, start_response):
            def start(status, headers, exc_info=None):
                return start_response(status, headers + [("Set-Cookie", "sid=cookie-Qw93zR7t; Path=/")], exc_info)
            return super().__call__(environ, start)

    with serve(capture) as other, serve(SetsCookie("next", other)) as base:
        result = api.collect(profile_for(tmp_path, "next"), options=[("BaseURL", base)])
    assert len(result.rows) == 4 and capture.requests
    assert "cookie-Qw93zR7t" not in capture.text()


def test_allow_origin_trusts_another_origin_and_names_it_in_a_401(tmp_path):
    capture = Capture()
    with serve(capture) as other:
        app = Elsewhere("next", other)
        with serve(app) as base:
            profile = profile_for(tmp_path, "next")
            options = ["-o", f"BaseURL={base}", "-o", f"CustomHeaders=X-API-Key: {KEYS[1]}"]
            trusting = rsd("run", profile, *options, "--allow-origin", other, "-f", "csv")
            assert trusting.code == 0, trusting.stderr
            assert_some_of(capture.text(), [KEYS[1]], "the allowed capture server")
            capture.requests.clear()
            default = rsd("run", profile, *options, "-f", "csv", "-v")
    assert default.code == 0, default.stderr
    assert default.stdout.splitlines() == ["id,name", "1,one", "2,two", "101,captured one", "102,captured two"]
    assert_nothing_of(capture.text() + default.stderr, [KEYS[1]], "the capture server or stderr")
    port = origin_of(other)[2]
    assert f"credentials withheld (X-API-Key): http://127.0.0.1:{port} is not a trusted origin" in default.stderr


def test_a_401_from_an_untrusted_origin_says_which_origin_got_nothing(tmp_path):
    refusing = Redirector(401, "")
    with serve(refusing) as other, serve(Elsewhere("link", other)) as base:
        with pytest.raises(HttpError) as e:
            api.collect(profile_for(tmp_path, "link"),
                        options=[("BaseURL", base), ("CustomHeaders", f"X-API-Key: {KEYS[1]}")])
    port = origin_of(other)[2]
    assert e.value.status == 401
    assert e.value.hint.startswith(f"rsd sent no credentials to http://127.0.0.1:{port}: it is not a trusted "
                                   f"origin (trusted: http://127.0.0.1:{origin_of(base)[2]})")
    assert e.value.hint.endswith(f"run with --allow-origin http://127.0.0.1:{port}")


@pytest.fixture
def tls_files(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 (openssl), trusted by requests through REQUESTS_CA_BUNDLE."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    return str(cert), str(key)


@pytest.mark.parametrize("way", ["302", "307", "next", "link"])
def test_an_https_api_that_sends_the_client_to_http_gets_no_credential_there_even_when_allowed(
        tmp_path, tls_files, way):
    # The capture server is an allowed origin (--allow-origin): reached from an http:// API it gets the key (the
    # control), reached from an https:// API it is a downgrade, which never carries a credential
    options = [("CustomHeaders", f"X-API-Key: {KEYS[1]}")]
    captured = {}
    for scheme in ("http", "https"):
        capture = Capture()
        with serve(capture) as other:
            app = Elsewhere(way, other)
            with serve(app, ssl_context=tls_files if scheme == "https" else None) as base:
                assert base.startswith(scheme + "://")
                result = api.collect(profile_for(tmp_path, way), options=[("BaseURL", base), *options],
                                     allow_origins=[other])
        assert capture.requests and result.rows[-1] == (102, "captured two")
        assert_some_of(app.text(), [KEYS[1]], f"the trusted {scheme} API")
        captured[scheme] = capture.text()
    assert_some_of(captured["http"], [KEYS[1]], "the allowed origin, reached from http")
    assert_nothing_of(captured["https"], [KEYS[1]], "the allowed http origin, reached from https")


def test_origins_and_the_downgrade_rule():
    assert origin_of("HTTPS://API.Example.com/x?y") == ("https", "api.example.com", 443)
    assert origin_of("http://[::1]:8080/") == ("http", "::1", 8080)
    assert origin_of("file:///etc/passwd") is None and origin_of("http://h:port/") is None
    policy = TrustPolicy(allow_origins=["http://api.example.com"])
    policy.pin("https://api.example.com/v1/items")
    policy.pin("https://elsewhere.example.com/")  # only the first request pins
    assert policy.trusts("https://api.example.com:443/other")
    assert not policy.trusts("https://elsewhere.example.com/") and not policy.trusts("https://api.example.com:8443/")
    assert policy.trusts("http://api.example.com/")  # allowed by the user...
    assert not policy.trusts("http://api.example.com/", downgraded=True)  # ...but never after https
    with pytest.raises(OptionError, match="--allow-origin 'api.example.com' is not an http:// or https:// URL"):
        TrustPolicy(allow_origins=["api.example.com"])


def test_a_job_step_allows_origins(tmp_path):
    capture = Capture()
    with serve(capture) as other, serve(Elsewhere("next", other)) as base:
        profile_for(tmp_path, "next")
        job = tmp_path / "job.toml"
        step = f'''[[steps]]
name = "items"
type = "query"
profile = "Items.rsd"
options = {{ BaseURL = "{base}", CustomHeaders = "X-API-Key: {KEYS[1]}" }}
output = "items.csv"
'''
        job.write_text(step + f'allow_origins = ["{other}"]\n')
        ran = rsd("job", "run", str(job), cwd=tmp_path)
        assert ran.code == 0, ran.stderr
        assert_some_of(capture.text(), [KEYS[1]], "the allowed capture server")
        job.write_text(step + f'allow_origins = "{other}"\n')
        checked = rsd("job", "check", str(job), cwd=tmp_path)
    assert checked.code == 2
    assert "[JOB008] step 'items': 'allow_origins' must be a list of strings" in checked.stdout + checked.stderr
