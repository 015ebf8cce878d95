"""The rest of the language issue (#9) end to end: header values as HTTP defines them, the driver built-ins
`oauthGetAccessToken` and `coreListIndexes`, and the `rsd check` findings on mistakes users make (a path that
cannot parse, an `attr` without a name, a misspelt operation, a raw `<` in an attribute value). Every HTTP
exchange goes to a real server on 127.0.0.1; the keywords have their own samples (test_keywords.py)."""
from __future__ import annotations

import json
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from cli_support import assert_no_secret, record_tokens, rsd
from rsd import api
from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer
from rsd.engine.operations import OPERATIONS
from rsd.errors import AuthError
from rsd.reader import ast, read_paths
from servers import serve

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/tmp/rsd-corpus")
HEAD = '<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">\n'


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(HEAD + textwrap.dedent(body) + "</api:script>\n", encoding="utf-8")
    return str(path)


class Recorder:
    """A JSON API that records the headers of every request and answers `{"items": [{"id": 1}]}`."""

    def __init__(self):
        self.headers: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        req = Request(environ)
        with self.lock:
            self.headers.append(dict(req.headers))
        return Response(json.dumps({"items": [{"id": 1}]}), content_type="application/json")(environ, start_response)


HEADERS_PROFILE = """\
<api:info title="H" xmlns:other="http://apiscript.com/ns?v1"><attr name="id" xs:type="integer"/></api:info>
<api:set attr="URI" value="[_connection.BaseURL]/items"/>
<api:set attr="JSONPath" value="$.items"/>
<api:set attr="Header:Name#1" value="Accept"/>
<api:set attr="Header:Value#1" value="  application/json  "/>
<api:set attr="Header:Name#2" value=" X-Trace "/>
<api:set attr="Header:Value#2" value="	t-1 "/>
<api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>
"""


def test_header_values_with_surrounding_blanks_are_sent_trimmed(tmp_path):
    # RFC 9110 §5.5: the blanks around a field value are not part of it. Public profiles and CustomHeaders lines are
    # written `Accept:  application/json`; the server must receive the value without them, and the run succeed.
    path = write(tmp_path, "H.rsd", HEADERS_PROFILE)
    app = Recorder()
    with serve(app) as url:
        r = rsd("run", path, "-f", "jsonl", "-o", f"BaseURL={url}",
                "-o", "CustomHeaders=X-Api-Key:   k-1   \\nX-Other:\tv 2\t")
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == ['{"id": 1}']
    [got] = app.headers
    assert (got["Accept"], got["X-Trace"], got["X-Api-Key"], got["X-Other"]) == ("application/json", "t-1", "k-1",
                                                                                  "v 2")


def test_a_header_http_cannot_carry_is_invalid_input_naming_it(tmp_path):
    path = write(tmp_path, "H.rsd", HEADERS_PROFILE.replace(
        '<api:set attr="Header:Value#2" value="\tt-1 "/>', '<api:set attr="Header:Value#2">t-1\n  t-2</api:set>'))
    app = Recorder()
    with serve(app) as url:
        r = rsd("run", path, "-o", f"BaseURL={url}")
    assert r.code == 2, r.stderr
    assert "Header:Name#2/Header:Value#2: the value of the header X-Trace has a line break, which HTTP cannot " \
           "carry" in r.stderr
    assert "CustomHeaders" not in r.stderr and app.headers == []
    # rsd check warns about it (RSD115) and not about the blanks around the other values
    c = rsd("check", path)
    assert [line.split(": ")[1:3] for line in c.stdout.splitlines() if "RSD" in line] == [
        ["warning", "[RSD115] Header:Value#2"]]


# --- oauthGetAccessToken ------------------------------------------------------------------------------------

TOKEN_PROFILE = """\
<api:info title="Accounts" xmlns:other="http://apiscript.com/ns?v1">
  <attr name="Id" xs:type="string" other:xPath="/json/records/Id"/>
</api:info>
<api:set attr="auth.OAuthAccessTokenURL" value="[_connection.TokenURL]"/>
<api:set attr="auth.GrantType" value="REFRESH"/>
<api:set attr="auth.OAuthClientId" value="[_connection.ClientId]"/>
<api:set attr="auth.OAuthClientSecret" value="[_connection.ClientSecret]"/>
<api:set attr="auth.OAuthRefreshToken" value="[_connection.RefreshToken]"/>
<api:call op="oauthGetAccessToken" in="auth" out="token">
  <api:set attr="_input.bearer" value="[token.OAuthAccessToken]"/>
  <api:set attr="_input.expires" value="[token.ExpiresIn]"/>
</api:call>
<api:script method="GET">
  <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=1&amp;per_page=7"/>
  <api:set attr="JSONPath" value="$.records"/>
  <api:set attr="Header:Name#1" value="Authorization"/>
  <api:set attr="Header:Value#1" value="Bearer [_input.bearer]"/>
  <api:call op="jsonproviderGet"><api:push/></api:call>
</api:script>
"""

TOKEN_ENV = {"CLIENT_ID": DEMO_CLIENT_ID, "CLIENT_SECRET": DEMO_CLIENT_SECRET, "REFRESH_TOKEN": DEMO_REFRESH_TOKEN}


def _token_options(srv, secret="${env:CLIENT_SECRET}") -> list[str]:
    return ["-o", f"BaseURL={srv.url}", "-o", f"TokenURL={srv.token_url}", "-o", "ClientId=${env:CLIENT_ID}",
            "-o", f"ClientSecret={secret}", "-o", "RefreshToken=${env:REFRESH_TOKEN}"]


def test_oauth_get_access_token_obtains_the_token_a_profile_sends(tmp_path):
    path = write(tmp_path, "Accounts.rsd", TOKEN_PROFILE)
    with DemoServer(require_auth=True) as srv:
        issued = record_tokens(srv)
        r = rsd("run", path, "-f", "jsonl", "-v", *_token_options(srv), env=TOKEN_ENV)
        assert r.code == 0, r.stderr
        assert [json.loads(line)["Id"] for line in r.stdout.splitlines()] == [a["Id"] for a in srv.data["accounts"][:7]]
        assert srv.stats.tokens_issued == 1 and len(issued) == 1
        # a token request is a request, not a page
        assert "7 rows from 1 page in 2 requests" in r.stderr
        assert_no_secret(r.everything(), [issued[0], DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN], "run -v")
        # `rsd plan` shows the token request as the first request and sends nothing
        p = rsd("plan", path, *_token_options(srv), env=TOKEN_ENV)
        assert p.code == 0, p.stderr
        assert f"POST {srv.token_url}" in p.stdout and srv.stats.tokens_issued == 1
        assert_no_secret(p.everything(), [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN], "plan")


def test_oauth_get_access_token_refused_is_an_auth_error(tmp_path):
    path = write(tmp_path, "Accounts.rsd", TOKEN_PROFILE)
    with DemoServer(require_auth=True) as srv:
        r = rsd("run", path, *_token_options(srv, secret="wrong-secret-123"), env=TOKEN_ENV)
    assert r.code == 2, r.stderr
    assert "OAuth token request (refresh_token grant)" in r.stderr and "invalid_client" in r.stderr
    assert_no_secret(r.everything(), ["wrong-secret-123"], "refused token")


def test_get_oauth_access_token_stored_procedure_outputs_the_token(tmp_path):
    # CData's GetOAuthAccessToken schema: inputs, outputs (no columns), the op called from the global script
    path = write(tmp_path, "GetOAuthAccessToken.rsd", """\
        <api:info title="GetOAuthAccessToken" description="Obtains the OAuth access token.">
          <input name="GrantType" desc="CODE, PASSWORD, CLIENT or REFRESH"/>
          <output name="OAuthAccessToken" desc="The access token."/>
          <output name="OAuthRefreshToken" desc="A token that may be used to obtain a new access token."/>
          <output name="ExpiresIn" desc="The remaining lifetime on the access token."/>
        </api:info>
        <api:push op="oauthGetAccessToken"/>
        """)
    with DemoServer() as srv:
        issued = record_tokens(srv)
        r = api.collect(path, inputs={"GrantType": "REFRESH"},
                        options=[("OAuthAccessTokenURL", srv.token_url), ("OAuthClientId", DEMO_CLIENT_ID),
                                 ("OAuthClientSecret", DEMO_CLIENT_SECRET), ("OAuthRefreshToken", DEMO_REFRESH_TOKEN)])
        assert r.columns == ("OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn")
        assert r.rows == [(issued[0], DEMO_REFRESH_TOKEN, str(int(srv.token_lifetime)))]
        with pytest.raises(AuthError, match="invalid_grant"):
            api.collect(path, inputs={"GrantType": "REFRESH"},
                        options=[("OAuthAccessTokenURL", srv.token_url), ("OAuthClientId", DEMO_CLIENT_ID),
                                 ("OAuthClientSecret", DEMO_CLIENT_SECRET), ("OAuthRefreshToken", "stale")])


# --- coreListIndexes -----------------------------------------------------------------------------------------

def test_core_list_indexes_lists_the_key_columns_of_the_archives_tables(tmp_path):
    compat = Path(__file__).resolve().parent / "compat" / "klenty"
    apip = tmp_path / "Sales.apip"
    with zipfile.ZipFile(apip, "w") as z:
        for member in sorted(compat.glob("*.rsd")):
            z.write(member, member.name)
    r = api.collect(f"{apip}/sys_indexes.rsd")
    assert r.columns == ("IndexName", "ColumnName", "TableName", "IsPrimary")
    assert r.rows == [("PrimaryKey", "id", "LeadByEmail", True), ("PrimaryKey", "id", "LeadsBySegment", True),
                      ("PrimaryKey", "id", "Segments", True)]
    r = api.collect(f"{apip}/sys_indexes.rsd", inputs={"TableName": "segments"})
    assert r.rows == [("PrimaryKey", "id", "Segments", True)]
    assert r.summary.requests == 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the public corpus is not in /tmp/rsd-corpus")
def test_no_corpus_profile_calls_an_operation_rsd_does_not_run():
    def ops(nodes):
        for n in nodes:
            if n.value("op"):
                yield n.value("op")
            yield from ops(n.body)
    called = {op for p in read_paths([str(CORPUS)]) for block in [p.statements, *(m.body for m in p.methods)]
              for op in ops(block)}
    assert {"coreListIndexes", "apisadoExecuteJSONGet", "jsonproviderGet", "xmlproviderGet"} <= called
    assert [op for op in sorted(called) if OPERATIONS[op.lower()].run is None] == []
    r = api.collect(str(CORPUS / "CDataSoftware__Klenty-API-Profile" / "Klenty.apip") + "/sys_indexes.rsd")
    # the archive's tables whose api:info marks a key="true" column (ProspectStatusBy* declare none)
    assert [row[4] for row in r.rows] == [
        "CompanyCadences", "Lists", "ProspectByCreationDate", "ProspectByLastUpdatedDate", "ProspectByList",
        "ProspectDetailsByEmail", "ProspectDetailsWithCustomFields", "UserCadences"]


# --- rsd check: the mistakes users make ---------------------------------------------------------------------

def test_check_reports_each_mistake_with_its_code_line_and_column(tmp_path):
    path = write(tmp_path, "Mistakes.rsd", """\
        <api:info title="T" xmlns:other="http://apiscript.com/ns?v1">
          <attr name="id" xs:type="integer" other:xPath="/json/results/id"/>
          <attr xs:type="string" other:xPath="/json/results/name"/>
        </api:info>
        <api:set attr="URI" value="https://api.example.com/x"/>
        <api:set attr="JSONPath" value="$.results)"/>
        <api:script method="GET">
          <api:if exp="[_input.n | def(0)] < 5"><api:set attr="small" value="yes"/></api:if>
          <api:call op="apisadoExecuteJSONGett"><api:push/></api:call>
          <api:call op="salesforceQueryAll"><api:push/></api:call>
        </api:script>
        """)
    r = rsd("check", path)
    assert r.code == 2
    lines = [line.split(": ", 1)[0].split(":", 1)[1] + " " + line.split("[")[1].split("]")[0]
             for line in r.stdout.splitlines() if "[RSD" in line]
    assert lines == ["4:3 RSD114", "7:42 RSD401", "9:36 RSD005", "10:17 RSD113", "11:17 RSD108"]
    assert "did you mean 'apisadoExecuteJSONGet'?" in r.stdout
    assert r.stderr.strip() == "4 errors, 1 warning in 1 file"
    # a profile with check errors does not run
    run = rsd("run", path)
    assert run.code == 2 and "[RSD114]" in run.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the public corpus is not in /tmp/rsd-corpus")
def test_corpus_uses_no_construct_the_new_errors_refuse():
    profiles = read_paths([str(CORPUS)])
    assert len(profiles) == 41
    assert not any(d.is_error for p in profiles for d in p.diagnostics)
    for p in profiles:
        assert all(c.name for c in (p.info.columns if p.info else ())), p.path
        assert not any(isinstance(n, ast.Unknown) for n in p.statements)
