"""Issue #12, finding 10: an API that echoes a credential into its data cannot make rsd write it.

The echo API puts what it received (the OAuth access token, a `CustomHeaders` key, the Basic password, a
`CustomUrlParams` key) into the fields of its records: as is, inside longer text, base64-encoded, URL-encoded, in a
nested object, in a response header a profile pushes. Every output (CSV, JSON Lines, JSON, SQLite with its
`_rsd_runs`, PostgreSQL, stdout, stderr, `--summary-json`) holds `***` where the secret was, in no spelling the
secret itself; the other values arrive untouched.
"""
from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from werkzeug.wrappers import Request, Response

try:
    from cli_support import assert_no_secret, rsd
    from servers import serve
    from sink_helpers.backends import require_postgres_url
except ImportError:  # tests/ imported as a package
    from tests.cli_support import assert_no_secret, rsd
    from tests.servers import serve
    from tests.sink_helpers.backends import require_postgres_url

TOKEN = "at-echoed-Xq47nBv2"
CLIENT_SECRET = "cs-echo-Rt51"
API_KEY = "key-echoed-Lp93wZ"
PASSWORD = "pw-echoed-Hs28"
URL_KEY = "uk-echoed-Mn64"


class Echo:
    """`POST /token` issues TOKEN; `GET /items` answers records built from the credentials it was sent."""

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/token":
            body = json.dumps({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600})
            return Response(body, content_type="application/json")(environ, start_response)
        got = [request.headers.get("Authorization", ""), request.headers.get("X-API-Key", ""),
               request.args.get("api_key", "")]
        secret = next((g.split(" ", 1)[-1] for g in got if g), "")
        if secret and request.headers.get("Authorization", "").startswith("Basic "):
            secret = base64.b64decode(secret).decode().split(":", 1)[1]  # the password itself
        records = [
            {"id": 1, "name": "plain", "note": secret, "nested": {"who": "x", "secret": secret}},
            {"id": 2, "name": "inside", "note": f"seen {secret} at 10:00", "nested": None},
            {"id": 3, "name": "encoded", "note": base64.b64encode(secret.encode()).decode() + " "
                                                 + quote(secret, safe=""), "nested": None},
            {"id": 4, "name": "clean", "note": "nothing to hide", "nested": {"who": "y"}},
        ]
        return Response(json.dumps({"items": records}), content_type="application/json",
                        headers={"X-Echo": f"token {secret}"})(environ, start_response)


PROFILE = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Echoed" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
    <attr name="name" xs:type="string" other:xPath="/json/items/name"/>
    <attr name="note" xs:type="string" other:xPath="/json/items/note"/>
    <attr name="nested" xs:type="string" other:xPath="/json/items/nested" other:valueFormat="aggregate"/>
    <attr name="header" xs:type="string"/>
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/items"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:script method="GET">
    <api:call op="jsonproviderGet">
      <api:set attr="header" value="[_response.header:X-Echo]"/>
      <api:push/>
    </api:call>
  </api:script>
</api:script>
"""

WAYS = {
    "oauth": (lambda base: ["-o", "AuthScheme=OAuth", "-o", f"OAuthAccessTokenURL={base}/token",
                            "-o", "OAuthGrantType=CLIENT", "-o", "OAuthClientId=echo",
                            "-o", f"OAuthClientSecret={CLIENT_SECRET}"], [TOKEN, CLIENT_SECRET]),
    "custom_headers": (lambda base: ["-o", f"CustomHeaders=X-API-Key: {API_KEY}"], [API_KEY]),
    "basic": (lambda base: ["-o", "AuthScheme=Basic", "-o", "User=alice", "-o", f"Password={PASSWORD}"], [PASSWORD]),
    "url_params": (lambda base: ["-o", f"CustomUrlParams=api_key={URL_KEY}"], [URL_KEY]),
}


def outputs(tmp_path, base, way) -> tuple[dict, list]:
    options, secrets = WAYS[way]
    profile = tmp_path / "Echoed.rsd"
    profile.write_text(PROFILE, encoding="utf-8")
    common = ["run", str(profile), "-o", f"BaseURL={base}", *options(base), "-v"]
    results = {
        "csv": rsd(*common, "-f", "csv", "--output", "out.csv", cwd=tmp_path),
        "jsonl": rsd(*common, "-f", "jsonl", "--output", "out.jsonl", cwd=tmp_path),
        "json": rsd(*common, "-f", "json", "--output", "out.json", cwd=tmp_path),
        "stdout": rsd(*common, "-f", "csv", cwd=tmp_path),
        "sqlite": rsd(*common, "--output", "sqlite:///out.db", "--table", "echoed", "--summary-json", "s.json",
                      cwd=tmp_path),
    }
    return results, secrets


@pytest.mark.parametrize("way", list(WAYS))
def test_no_echoed_secret_in_any_output(tmp_path, way):
    with serve(Echo()) as base:
        results, secrets = outputs(tmp_path, base, way)
    for name, r in results.items():
        assert r.code == 0, f"{name}: {r.stderr}"
        assert_no_secret(r.everything(), secrets, f"{way}, {name}")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["note"] for r in rows] == ["***", "seen *** at 10:00", "*** ***", "nothing to hide"]
    assert rows[0]["nested"] == '{"who":"x","secret":"***"}' and rows[3]["nested"] == '{"who":"y"}'
    assert {r["header"] for r in rows} == {"token ***"}
    assert "echoed" in results["sqlite"].files[str(tmp_path / "out.db")]  # the table (and _rsd_runs) were read


@pytest.mark.postgres
def test_no_echoed_secret_in_postgresql(tmp_path):
    import psycopg

    url = require_postgres_url()
    with serve(Echo()) as base:
        options, secrets = WAYS["oauth"]
        profile = tmp_path / "Echoed.rsd"
        profile.write_text(PROFILE, encoding="utf-8")
        r = rsd("run", str(profile), "-o", f"BaseURL={base}", *options(base), "--output", url,
                "--table", "echoed_secrets", cwd=tmp_path)
    assert r.code == 0, r.stderr
    with psycopg.connect(url) as con:
        dump = json.dumps([list(map(str, row)) for row in con.execute("select * from echoed_secrets")])
        dump += json.dumps([list(map(str, row)) for row in con.execute("select * from _rsd_runs")])
        con.execute("drop table echoed_secrets")
    assert "seen *** at 10:00" in dump
    assert_no_secret(dump + r.everything(), secrets, "PostgreSQL")


def test_a_paging_cursor_is_not_taken_for_a_credential(tmp_path):
    """A cursor sent as `page_token` is a position: an API that echoes it next to a real secret gets the secret
    masked and the cursor kept (it was learnt as a secret once, and masked in every row that held it)."""
    class Cursor:
        def __call__(self, environ, start_response):
            request = Request(environ)
            token = request.args.get("page_token")
            page = {"items": [{"id": 2 if token else 1, "name": f"cursor {token or 'none'}", "note": "x",
                               "nested": None}], "next": None if token else "cur-Zq81mW4p"}
            return Response(json.dumps(page), content_type="application/json")(environ, start_response)

    profile = tmp_path / "Cursor.rsd"
    profile.write_text(PROFILE.replace('<api:set attr="JSONPath" value="$.items"/>',
                                       '<api:set attr="JSONPath" value="$.items"/>\n'
                                       '  <api:set attr="EnablePaging" value="true"/>\n'
                                       '  <api:set attr="nextpagetokenpath" value="$.next"/>\n'
                                       '  <api:set attr="nextpagetokenparam" value="page_token"/>'), encoding="utf-8")
    with serve(Cursor()) as base:
        r = rsd("run", str(profile), "-o", f"BaseURL={base}", "-o", f"CustomHeaders=X-API-Key: {API_KEY}",
                "-f", "jsonl", "--output", "out.jsonl", cwd=tmp_path)
    assert r.code == 0, r.stderr
    names = [json.loads(line)["name"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert names == ["cursor none", "cursor cur-Zq81mW4p"]
