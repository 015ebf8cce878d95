"""Issue #12, finding 4: values from responses are data (docs/reference/contract.md §11).

A hostile API answers with values that look like profile source: `{_connection.OAuthClientSecret}` placeholders and
`[_connection.OAuthClientSecret]` templates. Wherever such a value travels (`rows@next` into the next URI, a row's
field into a nested call's URI, a request body, a header, a URI built from it), it is sent as the text it is; the
secret never leaves. Placeholders and templates the profile itself wrote keep working next to the data.
"""
from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from werkzeug.wrappers import Request, Response

from rsd import api
from rsd.engine.items import Item, Scope
from rsd.errors import InvalidInputError
from rsd.provenance import Data, Spliced, data_spans, splice
from rsd.template import compile_template, substitute_placeholders

try:
    from servers import serve
    from servers.hostile import Recorder
except ImportError:  # tests/ imported as a package
    from tests.servers import serve
    from tests.servers.hostile import Recorder

SECRET = "cs-values-Pq72mWz"
PLACEHOLDER = "{_connection.OAuthClientSecret}"
TEMPLATE = "[_connection.OAuthClientSecret]"
INPUT = "{userid}"


class Echoing(Recorder):
    """Page 1 (no `cursor` in the query) has two items and `cursor`/`evil` values; later pages have none."""

    def __init__(self, evil: str):
        super().__init__()
        self.evil = evil

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.record(request)
        if "cursor" in request.args or request.method == "POST" and request.args.get("page") == "2":
            page = {"items": [{"id": 3, "name": "three", "ref": "x"}]}
        else:
            page = {"items": [{"id": 1, "name": "one", "ref": self.evil}, {"id": 2, "name": "two", "ref": "ok"}],
                    "cursor": self.evil}
        return Response(json.dumps(page), content_type="application/json")(environ, start_response)

    def lines(self) -> list[str]:
        return [unquote(r.split("\n", 1)[0]) for r in self.requests]


def write_profile(tmp_path, body: str, extra: str = "") -> str:
    text = f"""\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="V" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
    <attr name="name" xs:type="string" other:xPath="/json/items/name"/>
    <attr name="ref" xs:type="string" other:xPath="/json/items/ref"/>
    <input name="userid"/>
  </api:info>
  <api:set attr="JSONPath" value="$.items"/>
  <api:set attr="ElementMapPath#1" value="$.cursor"/>
  <api:set attr="ElementMapName#1" value="cursor"/>
{extra}
  <api:script method="GET">
{body}
  </api:script>
</api:script>
"""
    path = tmp_path / "V.rsd"
    path.write_text(text, encoding="utf-8")
    return str(path)


OPTIONS = [("OAuthClientSecret", SECRET)]

#: rows@next carries the cursor into the next URI, next to a placeholder the profile wrote
ROWS_NEXT = """\
    <api:set attr="URI" value="[_connection.BaseURL]/users/{userid}/items?cursor=[_input.rows@next]"/>
    <api:null attr="_input.rows@next">
      <api:set attr="URI" value="[_connection.BaseURL]/users/{userid}/items"/>
    </api:null>
    <api:call op="jsonproviderGet">
      <api:set attr="rows@next" value="[cursor]"/>
      <api:push/>
    </api:call>"""


@pytest.mark.parametrize("evil", [PLACEHOLDER, TEMPLATE, INPUT])
def test_a_cursor_travels_as_data_through_rows_next(tmp_path, evil):
    app = Echoing(evil)
    with serve(app) as base:
        r = api.collect(write_profile(tmp_path, ROWS_NEXT), options=[("BaseURL", base), *OPTIONS],
                        inputs={"userid": "42"})
    assert [row[0] for row in r.rows] == [1, 2, 3]
    assert app.lines() == ["GET /users/42/items HTTP/1.1", f"GET /users/42/items?cursor={evil} HTTP/1.1"]
    assert SECRET not in app.text()


#: a row's field goes into a nested call's URI, a body and a header
NESTED = """\
    <api:set attr="URI" value="[_connection.BaseURL]/items"/>
    <api:call op="jsonproviderGet">
      <api:set attr="detail.URI" value="[_connection.BaseURL]/detail/{userid}?ref=[ref]&amp;page=2"/>
      <api:set attr="detail.method" value="POST"/>
      <api:set attr="detail.data" value="ref=[ref]&amp;cursor=[cursor]"/>
      <api:set attr="detail.Header:Name#1" value="X-Ref"/>
      <api:set attr="detail.Header:Value#1" value="[ref]"/>
      <api:set attr="detail.JSONPath" value="$.items"/>
      <api:call op="jsonproviderGet" in="detail"/>
      <api:push/>
    </api:call>"""


@pytest.mark.parametrize("evil", [PLACEHOLDER, TEMPLATE])
def test_a_field_travels_as_data_into_uris_bodies_and_headers(tmp_path, evil):
    app = Echoing(evil)
    with serve(app) as base:
        r = api.collect(write_profile(tmp_path, NESTED), options=[("BaseURL", base), *OPTIONS],
                        inputs={"userid": "42"})
    assert [row[:2] for row in r.rows] == [(1, "one"), (2, "two")]
    assert r.rows[0][2] == evil  # and the data itself is loaded as it came
    first_detail = app.requests[1]
    assert unquote(first_detail.split("\n", 1)[0]) == f"POST /detail/42?ref={evil}&page=2 HTTP/1.1"
    assert f"X-Ref: {evil}" in first_detail
    assert first_detail.endswith(f"ref={evil}&cursor={evil}")
    assert SECRET not in app.text()


def test_a_uri_a_response_value_supplies_is_never_read_from_disk(tmp_path):
    (tmp_path / "local.json").write_text(json.dumps({"items": [{"id": 9, "name": "local", "ref": "r"}]}))
    body = """\
    <api:set attr="URI" value="[_input.rows@next | def('[_connection.BaseURL]/items')]"/>
    <api:call op="jsonproviderGet">
      <api:set attr="rows@next" value="[cursor]"/>
      <api:push/>
    </api:call>"""
    with serve(Echoing((tmp_path / "local.json").as_uri())) as base:
        with pytest.raises(InvalidInputError, match="a URI that comes from a response is never read from disk"):
            api.collect(write_profile(tmp_path, body), options=[("BaseURL", base)], allow_files=[str(tmp_path)])


# -- the mechanism, in the template language ----------------------------------------------------------------------
def scope_with(**values) -> Scope:
    connection = Item("_connection", {"oauthclientsecret": SECRET, "baseurl": "https://api.example.com"})
    return Scope(Item("_input", {k.lower(): v for k, v in values.items()}), connection)


def test_rendering_keeps_where_the_data_is():
    scope = scope_with(cursor=Data(PLACEHOLDER), key=Data("_connection.OAuthClientSecret"), n="7")
    text = compile_template("[_connection.BaseURL]/x/{n}?c=[cursor]&amp;d=[cursor | tolower]").render(scope)
    assert text == f"https://api.example.com/x/{{n}}?c={PLACEHOLDER}&amp;d={PLACEHOLDER.lower()}"
    first = text.index("?c=") + 3
    second = text.index("&amp;d=") + 7
    assert data_spans(text) == ((first, first + len(PLACEHOLDER)), (second, len(text)))
    filled = substitute_placeholders(text, lambda name: scope.resolve("_input." + name) or scope.resolve(name))
    assert filled == f"https://api.example.com/x/7?c={PLACEHOLDER}&amp;d={PLACEHOLDER.lower()}"
    # a name a response value chose does not reach the connection's options
    assert compile_template("[[key]]").render(scope) == ""
    assert compile_template("[_connection.[n]]").render(scope_with(n=Data("OAuthClientSecret"))) == ""
    assert compile_template("[_input.[n]]").render(scope_with(n=Data("n"))) == "n"  # data naming an input: fine


def test_splice_and_spans():
    assert type(splice(["a", "b"])) is str and splice([Data("ab")]) == "ab"
    assert data_spans(splice([Data("ab")])) == ((0, 2),)
    s = splice(["x=", Data("1"), Data("2"), "&y"])
    assert isinstance(s, Spliced) and s.spans == ((2, 4),)
