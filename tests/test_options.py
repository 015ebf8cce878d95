"""Connection options (docs/reference/contract.md §2): sources, precedence, references before splitting, helpers."""
from __future__ import annotations

import pytest

from rsd.errors import EXIT_INVALID_INPUT, OptionError
from rsd.http.redact import Redactor
from rsd.truth import is_true
from rsd.options import (ConnectionOptions, build_options, custom_headers, custom_url_params, oauth_params,
                         parse_connection_string, parse_options_file, proxies, timeout)


def test_connection_options_case_insensitive_order_preserving():
    o = ConnectionOptions([("URI", "http://x"), ("CustomHeaders", "A: 1"), ("Custom Url Params", "a=1")])
    assert o["uri"] == "http://x" and o["CUSTOMHEADERS"] == "A: 1" and o["customurlparams"] == "a=1"
    o["uri"] = "http://y"
    assert list(o) == ["URI", "CustomHeaders", "Custom Url Params"]  # first name kept, position kept
    assert list(o.items())[0] == ("URI", "http://y")
    assert "Uri" in o and "other" not in o and o.get("other") is None
    del o["customheaders"]
    assert len(o) == 2
    assert "http://y" not in repr(o)


def test_options_file(tmp_path):
    f = tmp_path / "prod.options"
    f.write_text("# Salesforce\n\nURI = https://x/api?a=1&b=2\nPassword=p#ss=word \n  # indented comment\n")
    assert parse_options_file(f) == [("URI", "https://x/api?a=1&b=2", 3), ("Password", "p#ss=word", 4)]


def test_options_file_bad_line_names_file_and_line_not_value(tmp_path):
    f = tmp_path / "bad.options"
    f.write_text("A=1\nsupersecretvalue\n")
    with pytest.raises(OptionError) as e:
        parse_options_file(f)
    assert f"{f}:2:" in str(e.value) and "supersecretvalue" not in str(e.value)
    assert e.value.exit_code == EXIT_INVALID_INPUT
    with pytest.raises(OptionError, match="cannot read"):
        parse_options_file(tmp_path / "missing")


def test_connection_string_quoting():
    text = "Name=Value; Other='a;b' ;X=\"say \"\"hi\"\"\";Y='it''s';Empty=;;Z = spaced value ;"
    assert parse_connection_string(text) == [
        ("Name", "Value"), ("Other", "a;b"), ("X", 'say "hi"'), ("Y", "it's"), ("Empty", ""), ("Z", "spaced value")]
    assert parse_connection_string("") == []


@pytest.mark.parametrize("text, message", [
    ("A=1;justtext;B=2", "entry 2 is not Name=Value"),
    ("A='unclosed", "no closing '"),
    ("A='x' y;B=1", "unexpected text after the quoted value of A"),
    ("=v", "no name"),
])
def test_connection_string_errors(text, message):
    with pytest.raises(OptionError, match=message):
        parse_connection_string(text)


def test_precedence_file_then_connection_then_o(tmp_path):
    f = tmp_path / "o.options"
    f.write_text("A=file\nB=file\nC=file\n")
    o = build_options(options_file=str(f), connection="B=conn;C=conn", options=["C=cli", ("D", "tuple")])
    assert dict(o.items()) == {"A": "file", "B": "conn", "C": "cli", "D": "tuple"}


def test_references_resolved_before_the_connection_string_is_split(tmp_path, monkeypatch):
    (tmp_path / "conn.txt").write_text("User=alice;Password='pw;12'\n")
    monkeypatch.setenv("RSD_T_TOKEN", "tok-abcdef")
    r = Redactor()
    o = build_options(connection="${file:conn.txt}", options=["CustomHeaders=Authorization: Bearer ${env:RSD_T_TOKEN}"],
                      base_dir=tmp_path, secrets=r)
    assert o["User"] == "alice" and o["Password"] == "pw;12"
    assert custom_headers(o) == [("Authorization", "Bearer tok-abcdef")]
    assert r.redact("tok-abcdef pw;12") == "*** ***"


def test_options_file_references_are_relative_to_the_file(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "rt.txt").write_text("refresh-xyz\n")
    (tmp_path / "conf" / "o.options").write_text("OAuthRefreshToken=${file:rt.txt}\nOther=${v}\n")
    o = build_options(options_file=str(tmp_path / "conf" / "o.options"), variables={"v": "val"}, base_dir="/")
    assert o["OAuthRefreshToken"] == "refresh-xyz" and o["Other"] == "val"
    assert o.source_file("oauthrefreshtoken") == tmp_path / "conf" / "rt.txt"
    assert o.source_file("Other") is None


def test_unresolved_reference_in_an_option_names_option_and_reference(monkeypatch):
    monkeypatch.delenv("SF_CLIENT_SECRET", raising=False)
    with pytest.raises(OptionError) as e:
        build_options(options=["OAuthClientSecret=${env:SF_CLIENT_SECRET}"])
    assert "OAuthClientSecret" in str(e.value) and "${env:SF_CLIENT_SECRET} is not set" in str(e.value)


def test_resolved_true_skips_resolution():
    o = build_options(options=[("A", "${not_a_var}")], resolved=True)
    assert o["A"] == "${not_a_var}"


def test_profile_settings_become_options_explicit_options_win():
    o = build_options(options=["ProfileSettings=APIKey=${k};AuthScheme=None;User='a;b'", "User=explicit"],
                      variables={"k": "key-1234"})
    assert o["APIKey"] == "key-1234" and o["AuthScheme"] == "None" and o["User"] == "explicit"
    assert o["ProfileSettings"].startswith("APIKey=key-1234;")


def test_secret_looking_options_are_registered_even_when_literal():
    r = Redactor()
    build_options(options=["Password=hunter22", "OAuthClientSecret=cs-9876", "User=bob",
                           "CustomHeaders=X-API-Key: k-55555\\nAccept: application/json",
                           "ProfileSettings=APIKey=pk-4444"], secrets=r)
    assert r.redact("hunter22 cs-9876 k-55555 pk-4444 bob application/json") == "*** *** *** *** bob application/json"


def test_custom_headers_separators_and_errors():
    o = {"CustomHeaders": "Authorization: Bearer a:b\r\nX-One: 1\nX-Two:2\\nX-Three: 3\\r\\n\n"}
    assert custom_headers(o) == [("Authorization", "Bearer a:b"), ("X-One", "1"), ("X-Two", "2"), ("X-Three", "3")]
    assert custom_headers({}) == []
    with pytest.raises(OptionError) as e:
        custom_headers({"customheaders": "X-One: 1\\nno colon secret-ish"})
    assert "CustomHeaders" in str(e.value) and "line 2" in str(e.value) and "secret-ish" not in str(e.value)


def test_custom_url_params_decoded():
    assert custom_url_params({"CustomUrlParams": "?a=1&b=x%20y&c=p+q&flag&&d=%26"}) == [
        ("a", "1"), ("b", "x y"), ("c", "p q"), ("flag", ""), ("d", "&")]
    assert custom_url_params({}) == []


def test_oauth_params():
    assert oauth_params({"OAuthParams": "audience=api, resource = x=y"}) == [("audience", "api"), ("resource", "x=y")]
    with pytest.raises(OptionError, match="OAuthParams"):
        oauth_params({"OAuthParams": "novalue"})


def test_timeout():
    assert timeout({}) is None and timeout({"Timeout": " 30 "}) == 30.0 and timeout({"timeout": "0"}) == 0.0
    with pytest.raises(OptionError, match="Timeout"):
        timeout({"Timeout": "soon"})


def test_proxies():
    assert proxies({}) is None
    assert proxies({"ProxyServer": "proxy.local", "ProxyPort": "3128"}) == {
        "http": "http://proxy.local:3128", "https": "http://proxy.local:3128"}
    r = Redactor()
    p = proxies(ConnectionOptions({"ProxyServer": "http://proxy.local", "ProxyPort": "8080", "ProxyUser": "me@corp",
                                   "ProxyPassword": "p@ss:word"}), secrets=r)
    assert p["https"] == "http://me%40corp:p%40ss%3Aword@proxy.local:8080"
    assert "p%40ss%3Aword" not in r.redact(p["https"])
    with pytest.raises(OptionError, match="ProxyPort"):
        proxies({"ProxyServer": "x", "ProxyPort": "eighty"})


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("TRUE", True), ("yes", True), ("1", True), ("on", True), (True, True),
    ("false", False), ("0", False), ("", False), (None, False), ("maybe", False), (False, False)])
def test_is_true(value, expected):
    assert is_true(value) is expected


def test_redacted_view():
    r = Redactor(["tok-secret-1"])
    o = ConnectionOptions([("Password", "pw-1234"), ("CustomHeaders", "Authorization: Bearer tok-secret-1\nA: b"),
                           ("URI", "https://h/x?api_key=zzz")])
    assert o.redacted(r) == [("Password", "***"), ("CustomHeaders", "Authorization: Bearer ***\\nA: b"),
                             ("URI", "https://h/x?api_key=***")]
