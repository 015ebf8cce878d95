"""HttpClient and Redactor against real servers on 127.0.0.1: retries, Retry-After, errors, truncation, redaction."""
from __future__ import annotations

import email.utils
import json
import threading
import time

import pytest
import requests

from rsd.errors import EXIT_RUN_FAILED, HttpError
from rsd.http.client import HttpClient, _parse_retry_after
from rsd.http.redact import Redactor

try:
    from servers import Scripted, free_port, raw_response, serve, serve_raw
except ImportError:  # tests/ imported as a package
    from tests.servers import Scripted, free_port, raw_response, serve, serve_raw


def make_client(**kw) -> tuple[HttpClient, list[str]]:
    lines: list[str] = []
    kw.setdefault("redactor", Redactor())
    kw.setdefault("backoff", 0.01)
    return HttpClient(trace=lines.append, **kw), lines


# -- success path --------------------------------------------------------------------------------
def test_get_with_params_headers_body_counters_and_trace():
    app = Scripted((200, {"Content-Type": "application/json"}, b'{"ok": true}'))
    with serve(app) as base:
        client, lines = make_client(headers={"X-Default": "d"})
        resp = client.request("post", base + "/q?x=1", params=[("page", "2")], headers=[("X-One", "1")],
                              data="name=caf\u00e9")
        assert resp.status_code == 200 and resp.json() == {"ok": True}
        session = client.session
        client.request("GET", base + "/again")
        assert client.session is session
    (_, method, url, headers, body) = app.requests[0]
    assert method == "POST" and url.endswith("/q?x=1&page=2")
    assert headers["X-One"] == "1" and headers["X-Default"] == "d" and headers["User-Agent"].startswith("rsd/")
    assert body == "name=café".encode("utf-8")
    assert client.requests == 2 and client.retries == 0 and client.bytes == 2 * len(b'{"ok": true}')
    assert lines[0].startswith(f"POST {base}/q?x=1&page=2 -> 200 (12 bytes, ") and lines[0].endswith(" ms)")


# -- retries -------------------------------------------------------------------------------------
def test_429_retry_after_seconds_is_honoured():
    app = Scripted((429, {"Retry-After": "1"}, b"slow down"), (200, {}, b"[]"))
    with serve(app) as base:
        client, lines = make_client()
        started = time.monotonic()
        assert client.request("GET", base + "/items").status_code == 200
        elapsed = time.monotonic() - started
    assert len(app.requests) == 2 and client.requests == 2 and client.retries == 1
    assert app.times[1] - app.times[0] >= 0.95 and elapsed < 3
    assert "-> 429" in lines[0] and "retry 1 of 5 in 1.00 s" in lines[0]


def test_503_retry_after_http_date_is_honoured():
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    app = Scripted((503, {"Retry-After": when}, b"maintenance"), (503, {"Retry-After": "0"}, b""), (200, {}, b"ok"))
    with serve(app) as base:
        client, _ = make_client()
        assert client.request("GET", base + "/items").content == b"ok"
    assert len(app.requests) == 3
    assert app.times[1] - app.times[0] >= 0.9  # the date has one-second resolution


def test_retry_after_is_bounded_by_max_backoff():
    app = Scripted((503, {"Retry-After": "120"}, b""), (200, {}, b"ok"))
    with serve(app) as base:
        client, _ = make_client(max_backoff=0.2)
        started = time.monotonic()
        client.request("GET", base + "/")
    assert time.monotonic() - started < 2


def test_exponential_backoff_without_retry_after_and_exhaustion():
    app = Scripted((502, {}, b"<html>bad gateway</html>"))
    with serve(app) as base:
        client, lines = make_client(max_retries=3, backoff=0.05, max_backoff=0.1)
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/items", page=4)
    assert len(app.requests) == 4 and client.retries == 3
    gaps = [b - a for a, b in zip(app.times, app.times[1:])]
    assert all(g >= 0.02 for g in gaps) and all(g < 1.0 for g in gaps)  # jittered in [0.5, 1] x bounded delay
    message = str(e.value)
    assert e.value.status == 502 and e.value.exit_code == EXIT_RUN_FAILED
    # a web page is shown by its title or text, not as markup, with a hint (issue #14)
    assert message == f"GET {base}/items (page 4): HTTP 502 BAD GATEWAY after 4 attempts: an HTML page ('bad gateway')"
    assert e.value.hint.startswith("the server answered with a web page, not the API's data")
    assert len(lines) == 4


def test_other_4xx_is_not_retried_and_names_the_request():
    body = json.dumps({"error": "no such page", "detail": "x" * 1000})
    app = Scripted((404, {"Content-Type": "application/json"}, body))
    with serve(app) as base:
        client, _ = make_client(redactor=Redactor(["sekrit-key-42"]))
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/items?page=7&api_key=sekrit-key-42", page=7)
    assert len(app.requests) == 1 and e.value.status == 404
    message = str(e.value)
    assert message.startswith(f"GET {base}/items?page=7&api_key=*** (page 7): HTTP 404 NOT FOUND: "
                              '{"error": "no such page"')
    assert message.endswith("...") and len(message) < 500 and "\n" not in message
    assert "sekrit-key-42" not in message and e.value.url == f"{base}/items?page=7&api_key=***"


def test_error_body_secrets_are_redacted():
    app = Scripted((401, {}, b'{"error": "token tok-abcdef-99 expired"}'))
    with serve(app) as base:
        client, lines = make_client(redactor=Redactor(["tok-abcdef-99"]))
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/x", headers={"Authorization": "Bearer tok-abcdef-99"})
    assert "tok-abcdef-99" not in str(e.value) and "token *** expired" in str(e.value)
    assert not any("tok-abcdef-99" in line for line in lines)


def test_raise_for_status_false_returns_the_response():
    app = Scripted((400, {}, b"bad"))
    with serve(app) as base:
        client, _ = make_client()
        assert client.request("GET", base + "/", raise_for_status=False).status_code == 400


# -- broken connections --------------------------------------------------------------------------
def test_truncated_body_is_an_http_error_naming_url_and_page():
    calls = []

    def handle(conn, head):
        calls.append(head)
        conn.sendall(raw_response(b"200 OK", {"Content-Type": "application/json"}, b'{"a": 1', content_length=100))

    with serve_raw(handle) as base:
        client, lines = make_client(max_retries=1)
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/items?page=3&token=tt-secret", page=3)
    assert len(calls) == 2  # retried once: a cut connection is transient
    assert str(e.value) == (f"GET {base}/items?page=3&token=*** (page 3): body truncated: got 7 of 100 bytes "
                            f"after 2 attempts")
    assert "tt-secret" not in " ".join(lines)


def test_connection_refused_names_the_url_without_requests_text():
    url = f"http://127.0.0.1:{free_port()}/api?access_token=abc-secret"
    client, lines = make_client(max_retries=1)
    with pytest.raises(HttpError) as e:
        client.request("GET", url)
    message = str(e.value)
    assert "connection refused" in message and "/api?access_token=***" in message
    assert "abc-secret" not in message and "HTTPConnectionPool" not in message and "Max retries" not in message
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert client.requests == 2


def test_read_timeout():
    def slow(request):
        time.sleep(1.0)
        return b"late"

    app = Scripted((200, {}, slow))
    with serve(app) as base:
        client, _ = make_client(timeout=0.2, max_retries=0)
        with pytest.raises(HttpError, match=r"no complete response within 0.2 s \(Timeout\)"):
            client.request("GET", base + "/slow")


def test_invalid_url_and_header_values_never_escape_as_requests_errors():
    client, _ = make_client(max_retries=0)
    with pytest.raises(HttpError, match="invalid URL"):
        client.request("GET", "not a url?password=pw-1234")
    with serve(Scripted()) as base:
        with pytest.raises(HttpError, match="header"):
            client.request("GET", base + "/", headers={"X-Bad": "line\nbreak"})
        with pytest.raises(HttpError, match="header"):
            client.request("GET", base + "/", headers={"X-Bad": "\u20ac uro"})


def test_no_requests_exception_escapes_for_a_server_that_hangs_up():
    def hang_up(conn, head):
        pass  # close without a response

    with serve_raw(hang_up) as base:
        client, _ = make_client(max_retries=1)
        with pytest.raises(HttpError) as e:
            client.request("GET", base + "/")
    assert not isinstance(e.value, requests.RequestException)
    assert "closed the connection" in str(e.value) or "connection" in str(e.value)


def test_parse_retry_after():
    assert _parse_retry_after("3") == 3.0 and _parse_retry_after(" 1.5 ") == 1.5
    assert _parse_retry_after(None) is None and _parse_retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 < _parse_retry_after(future) <= 61
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert _parse_retry_after(past) < 0


def test_concurrent_requests_share_counters():
    app = Scripted((200, {}, b"x" * 10))
    with serve(app) as base:
        client, _ = make_client()
        threads = [threading.Thread(target=lambda: [client.request("GET", base + "/") for _ in range(5)])
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert client.requests == 20 and client.bytes == 200


# -- the redactor ----------------------------------------------------------------------------------
def test_redactor_forms_and_rules():
    r = Redactor()
    r.add("ab")  # too short to redact usefully
    r.add(None)
    r.add("")
    assert len(r) == 0
    r.add("s3cr/t+val=")
    r.add_basic("alice", "pw-9876")
    import base64
    b64 = base64.b64encode(b"alice:pw-9876").decode()
    text = f"a s3cr/t+val= b s3cr%2Ft%2Bval%3D c s3cr/t%2Bval%3D d Basic {b64} e pw-9876"
    assert r.redact(text) == "a *** b *** c *** d Basic *** e ***"
    assert r.redact('{"v": "s3cr/t+val="}') == '{"v": "***"}'
    # secret-named query parameters in free text and in URLs, whatever their value
    assert r.redact("GET https://h/p?code=xyz&page=2&client_secret=q") == \
        "GET https://h/p?code=***&page=2&client_secret=***"
    assert r.redact_url("https://user:pass@h/p?Refresh_Token=x&signature=y&page=1#f") == \
        "https://user:***@h/p?Refresh_Token=***&signature=***&page=1#f"
    assert r.redact_url("https://h/p") == "https://h/p" and r.redact_url(None) == ""


def test_redact_headers():
    r = Redactor(["known-secret-value"])
    headers = {"Authorization": "Bearer literal-token", "Proxy-Authorization": "Basic xyz", "Cookie": "a=b",
               "Set-Cookie": "s=1", "X-API-Key": "k", "X-Session-Id": "sess", "My-Token": "t",
               "Accept": "application/json", "X-Echo": "known-secret-value", "X-Empty-Token": ""}
    assert r.redact_headers(headers) == {
        "Authorization": "Bearer ***", "Proxy-Authorization": "Basic ***", "Cookie": "***", "Set-Cookie": "***",
        "X-API-Key": "***", "X-Session-Id": "***", "My-Token": "***", "Accept": "application/json",
        "X-Echo": "***", "X-Empty-Token": ""}
    assert r.redact_headers([("authorization", "abc")]) == [("authorization", "***")]


def test_redactor_is_fast_enough_with_many_secrets():
    r = Redactor(f"secret-number-{i:04d}" for i in range(500))
    text = ("some ordinary log text with secret-number-0042 inside; " * 200)
    started = time.perf_counter()
    for _ in range(20):
        out = r.redact(text)
    assert "0042" not in out and time.perf_counter() - started < 1.0


# -- the environment -----------------------------------------------------------------------------
def test_proxies_from_the_environment_are_read_for_each_origin(monkeypatch):
    # `requests`' settings from the environment are read once per origin of the client (not twice a request): the
    # origin `no_proxy` names goes direct, another through the proxy, however the requests alternate
    direct, proxy = Scripted((200, {}, b"direct")), Scripted((200, {}, b"proxied"))
    with serve(direct) as base, serve(proxy) as proxy_base:
        for name in ("http_proxy", "HTTP_PROXY"):
            monkeypatch.setenv(name, proxy_base)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.setenv(name, "127.0.0.1")
        other = base.replace("127.0.0.1", "localhost")
        client, _ = make_client()
        got = [client.request("GET", url).content for url in (base + "/a", other + "/b", base + "/c", other + "/d")]
    assert got == [b"direct", b"proxied", b"direct", b"proxied"]
    assert [r[2].rsplit("/", 1)[1] for r in direct.requests] == ["a", "c"]
    assert [r[2].rsplit("/", 1)[1] for r in proxy.requests] == ["b", "d"]
