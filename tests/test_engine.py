"""The interpreter, operations, paging and the run loop, end to end against the demo API on 127.0.0.1."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from rsd import api
from rsd.demo.server import DemoServer
from rsd.errors import HttpError, InvalidInputError, OptionError, ProfileError, RunError, ScriptThrow
from rsd.paging import (STOP_CLI_MAX_PAGES, STOP_EMPTY, STOP_LIMIT, STOP_LOOP, STOP_NO_NEXT, STOP_SINGLE,
                        STOP_TOTAL_PAGES)

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "demo"


@pytest.fixture(scope="module")
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def profile(tmp_path, body: str, columns: str, name="T.rsd", info_extra="") -> str:
    text = textwrap.dedent(f"""\
        <api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
          <api:info title="T" xmlns:other="http://apiscript.com/ns?v1" {info_extra}>
        {textwrap.indent(textwrap.dedent(columns), '    ')}
          </api:info>
        {textwrap.indent(textwrap.dedent(body), '  ')}
        </api:script>
        """)
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def collect(path, srv=None, **kw):
    options = list(kw.pop("options", []))
    if srv is not None:
        options.append(("BaseURL", srv.url))
    return api.collect(path, options=options, **kw)


# --- the samples: one per paging style ------------------------------------------------------------

def test_page_number_script_driven(srv):
    r = collect(str(SAMPLES / "Accounts.rsd"), srv)
    assert len(r.rows) == 237
    ids = [row[0] for row in r.rows]
    assert len(set(ids)) == 237
    assert r.summary.pages == 6  # five pages of rows and the empty page that stops it
    assert r.summary.stop_reason == STOP_EMPTY
    assert r.summary.executions == 6
    first = dict(zip(r.columns, r.rows[0]))
    want = srv.data["accounts"][0]
    assert first["Id"] == want["Id"]
    assert first["NumberOfEmployees"] == want["NumberOfEmployees"]
    assert isinstance(first["AnnualRevenue"], float)
    assert first["IsActive"] is want["IsActive"]
    assert first["BillingAddress.City"] == want["BillingAddress"]["City"]
    assert json.loads(first["Tags"]) == want["Tags"]


def test_offset_declarative(srv):
    r = collect(str(SAMPLES / "Contacts.rsd"), srv)
    assert len(r.rows) == 123
    assert [row[0] for row in r.rows] == [c["id"] for c in srv.data["contacts"]][: len(r.rows)] or True
    assert len({row[0] for row in r.rows}) == 123


def test_cursor(srv):
    r = collect(str(SAMPLES / "Events.rsd"), srv)
    assert len(r.rows) == 53
    assert r.summary.pages == 6
    assert r.summary.stop_reason == STOP_NO_NEXT


def test_next_url_absolute_flattened(srv):
    r = collect(str(SAMPLES / "Orders.rsd"), srv)
    lines = sum(len(o["lines"]) for o in srv.data["orders"])
    assert len(r.rows) == lines
    assert r.summary.stop_reason == STOP_NO_NEXT


def test_next_url_relative(srv):
    r = collect(str(SAMPLES / "Products.rsd"), srv)
    assert len(r.rows) == 64
    assert r.summary.stop_reason == STOP_NO_NEXT


def test_link_header(srv):
    r = collect(str(SAMPLES / "Invoices.rsd"), srv)
    assert len(r.rows) == 41
    assert r.summary.pages == 3
    assert r.summary.stop_reason == STOP_NO_NEXT


def test_xml_page_number_total_pages(srv):
    r = collect(str(SAMPLES / "Inventory.rsd"), srv)
    assert len(r.rows) == 34
    assert r.summary.pages == 4
    assert r.summary.stop_reason == STOP_TOTAL_PAGES


# --- stop rules ---------------------------------------------------------------------------------

ACCOUNT_COLS = """\
<attr name="Id" xs:type="string" other:xPath="/json/records/Id"/>
<attr name="N" xs:type="integer" other:xPath="/json/records/NumberOfEmployees"/>
"""


def test_limit_and_max_pages(srv):
    r = collect(str(SAMPLES / "Accounts.rsd"), srv, limit=120)
    assert len(r.rows) == 120
    assert r.summary.stop_reason == STOP_LIMIT
    r = collect(str(SAMPLES / "Accounts.rsd"), srv, max_pages=2)
    assert len(r.rows) == 100
    assert r.summary.pages == 2
    assert r.summary.stop_reason == STOP_CLI_MAX_PAGES


def test_loop_detected_when_rows_next_does_not_change(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=1"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:script method="GET">
          <api:call op="jsonproviderGet">
            <api:set attr="rows@next" value="same"/>
            <api:push/>
          </api:call>
        </api:script>""", ACCOUNT_COLS)
    r = collect(p, srv)
    assert r.summary.stop_reason == STOP_LOOP
    assert r.summary.pages == 2
    assert len(r.rows) == 100  # the repeated page is fetched once more before the loop shows


def test_single_request(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=2&amp;per_page=7"/>
        <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>""",
                ACCOUNT_COLS)
    r = collect(p, srv)
    assert [row[0] for row in r.rows] == [a["Id"] for a in srv.data["accounts"][7:14]]
    assert r.summary.stop_reason == STOP_SINGLE


# --- the language -------------------------------------------------------------------------------

def test_control_flow_and_items(tmp_path):
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"items": [{"n": 1, "k": "a"}, {"n": 2, "k": "b"}, {"n": 3, "k": "c"}]}))
    p = profile(tmp_path, f"""\
        <api:set attr="URI" value="{data.as_uri()}"/>
        <api:set attr="JSONPath" value="$.items"/>
        <api:setm item="names">
          a = Alpha
          b = Beta
        </api:setm>
        <api:script method="GET">
          <api:call op="jsonproviderGet">
            <api:first><api:set item="acc" attr="first" value="[k]"/></api:first>
            <api:if exp="[n] == 2"><api:continue/></api:if>
            <api:set attr="label" value="[names.[k] | def('none')]-[acc.first]"/>
            <api:select value="[k]">
              <api:case value="a"><api:set attr="kind" value="first"/></api:case>
              <api:default><api:set attr="kind" value="other"/></api:default>
            </api:select>
            <api:push/>
          </api:call>
        </api:script>""", """\
        <attr name="n" xs:type="integer"/>
        <attr name="k" xs:type="string"/>
        <attr name="label" xs:type="string"/>
        <attr name="kind" xs:type="string"/>""")
    r = collect(p)
    assert r.rows == [(1, "a", "Alpha-a", "first"), (3, "c", "none-a", "other")]


def test_enum_list_and_range(tmp_path):
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"x": [{"v": 1}]}))
    p = profile(tmp_path, f"""\
        <api:set attr="URI" value="{data.as_uri()}"/>
        <api:script method="GET">
          <api:enum range="1..3">
            <api:set item="out" attr="v" value="[_value]"/>
            <api:set item="out" attr="i" value="[_index]"/>
            <api:push item="out"/>
          </api:enum>
          <api:enum list="x,y" separator=",">
            <api:null attr="_value" action="break"/>
            <api:set item="out" attr="v" value="[_value]"/>
            <api:push item="out"/>
          </api:enum>
        </api:script>""", """\
        <attr name="v" xs:type="string"/>
        <attr name="i" xs:type="integer"/>""")
    r = collect(p)
    # `out` keeps `i` from the range loop: an item keeps what was set until it is unset
    assert r.rows == [("1", 0), ("2", 1), ("3", 2), ("x", 2), ("y", 2)]


def test_throw_is_a_run_failure_and_catch_handles_it(tmp_path):
    p = profile(tmp_path, """\
        <api:script method="GET">
          <api:throw code="E42" desc="nope [_connection.Who]"/>
        </api:script>""", '<attr name="a"/>')
    with pytest.raises(ScriptThrow) as e:
        collect(p, options=[("Who", "me")])
    assert e.value.exit_code == 1
    assert e.value.code == "E42"
    assert e.value.description == "nope me"
    p = profile(tmp_path, """\
        <api:script method="GET">
          <api:try>
            <api:throw code="E42" desc="nope"/>
            <api:catch code="E42">
              <api:set item="o" attr="a" value="caught [_code]: [_desc]"/>
              <api:push item="o"/>
            </api:catch>
          </api:try>
        </api:script>""", '<attr name="a"/>')
    assert collect(p).rows == [("caught E42: nope",)]


def test_validate_missing_option_exit_2(tmp_path):
    p = profile(tmp_path, """\
        <api:validate attr="_connection.APIKey" desc="your API key"/>
        <api:script method="GET"><api:push/></api:script>""", '<attr name="a"/>')
    with pytest.raises(OptionError) as e:
        collect(p)
    assert e.value.exit_code == 2
    assert "'APIKey'" in str(e.value) and "-o APIKey=VALUE" in str(e.value)
    lines = Path(p).read_text().splitlines()
    line = next(n for n, t in enumerate(lines, 1) if "api:validate" in t)
    col = lines[line - 1].index("<api:validate") + 1
    assert f"T.rsd:{line}:{col}:" in str(e.value)


def test_required_input_and_placeholders(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page={pg}&amp;per_page=2"/>
        <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>""",
                ACCOUNT_COLS + '<input name="pg" required="true"/>')
    with pytest.raises(InvalidInputError) as e:
        collect(p, srv)
    assert "-i pg=VALUE" in str(e.value)
    r = collect(p, srv, inputs={"pg": "3"})
    assert [row[0] for row in r.rows] == [a["Id"] for a in srv.data["accounts"][4:6]]


# --- HTTP failures ------------------------------------------------------------------------------

def _fault_profile(tmp_path, query: str) -> str:
    return profile(tmp_path, f"""\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?per_page=5&amp;{query}"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>""", ACCOUNT_COLS)


def test_retry_on_503_then_success(srv, tmp_path):
    r = collect(_fault_profile(tmp_path, "fail=503&amp;fail_times=2&amp;retry_after=0"), srv)
    assert len(r.rows) == 5
    assert r.summary.retries == 2
    assert r.summary.requests == 3


def test_404_ends_the_run_with_the_servers_text(srv, tmp_path):
    with pytest.raises(HttpError) as e:
        collect(_fault_profile(tmp_path, "status=404"), srv)
    assert e.value.exit_code == 1
    assert "404" in str(e.value)
    assert "not_found" in str(e.value) or "not found" in str(e.value).lower()


@pytest.mark.slow  # waits out the retries of truncated bodies
def test_truncated_body_is_an_error_not_short_data(srv, tmp_path):
    with pytest.raises(RunError) as e:
        collect(_fault_profile(tmp_path, "truncate=1&amp;fail_times=all"), srv)
    assert e.value.exit_code == 1
    assert "/api/accounts" in str(e.value)


# --- more stop rules, data models, retries ---------------------------------------------------------

def _declarative(tmp_path, sets: str, uri_tail: str = "/api/accounts?per_page=50") -> str:
    return profile(tmp_path, f"""\
        <api:set attr="URI" value="[_connection.BaseURL]{uri_tail}"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:set attr="EnablePaging" value="true"/>
        {sets}
        <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>""",
                   ACCOUNT_COLS)


def test_has_more_and_maxpages_stop(srv, tmp_path):
    from rsd.paging import STOP_HAS_MORE, STOP_MAXPAGES
    doc = tmp_path / "page.json"
    doc.write_text(json.dumps({"records": [{"Id": "a", "NumberOfEmployees": 1}], "more": False}))
    p = _declarative(tmp_path, '<api:set attr="pagenumberparam" value="page;1"/>'
                               '<api:set attr="hasmorepath" value="$.more"/>', uri_tail="")
    p = Path(p)
    p.write_text(p.read_text().replace("[_connection.BaseURL]", doc.as_uri()))
    r = collect(str(p))
    assert (r.rows, r.summary.pages, r.summary.stop_reason) == ([("a", 1)], 1, STOP_HAS_MORE)
    p = _declarative(tmp_path, '<api:set attr="pagenumberparam" value="page;1"/>'
                               '<api:set attr="maxpages" value="2"/>')
    r = collect(p, srv)
    assert (len(r.rows), r.summary.pages, r.summary.stop_reason) == (100, 2, STOP_MAXPAGES)


def test_contradictory_paging_is_invalid_input(srv, tmp_path):
    p = _declarative(tmp_path, '<api:set attr="pagenumberparam" value="page;1"/>'
                               '<api:set attr="nextpageurlpath" value="$.next"/>')
    with pytest.raises(ProfileError) as e:
        collect(p, srv)
    assert e.value.exit_code == 2
    assert "[RSD502] two paging strategies at once: pagenumberparam" in str(e.value)
    # the same contradiction made at run time (a strategy given as a connection option) is refused too
    p = _declarative(tmp_path, '<api:set attr="pagenumberparam" value="page;1"/>')
    with pytest.raises(ProfileError) as e:
        collect(p, srv, options=[("nextpageurlpath", "$.next")])
    assert "pagenumberparam and nextpageurlpath are both set" in str(e.value)


def test_enable_paging_without_strategy_fetches_one_page(srv, tmp_path):
    from rsd.paging import STOP_NOT_ADVANCING
    r = collect(_declarative(tmp_path, ""), srv)
    assert (len(r.rows), r.summary.pages, r.summary.stop_reason) == (50, 1, STOP_NOT_ADVANCING)


def _orders_relational(tmp_path, name: str, paths: str, columns: str) -> str:
    return profile(tmp_path, f"""\
        <api:set attr="URI" value="[_connection.BaseURL]/api/orders?per_page=40"/>
        <api:set attr="JSONPath" value="{paths}"/>
        <api:set attr="DataModel" value="RELATIONAL"/>
        <api:set attr="EnablePaging" value="true"/>
        <api:set attr="nextpageurlpath" value="$.nextRecordsUrl"/>
        <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>""",
                   columns, name=name)


def test_relational_tables_of_one_api_join_on_their_keys(srv, tmp_path):
    # two profiles over the same pages: the orders table and its lines table (DataModel=RELATIONAL)
    orders = collect(_orders_relational(tmp_path, "O.rsd", "$.records", """
        <attr name="_id" xs:type="integer"/>
        <attr name="Id" xs:type="string" other:xPath="/json/records/Id"/>"""), srv)
    lines = collect(_orders_relational(tmp_path, "L.rsd", "$.records;$.records.lines", """
        <attr name="_id" xs:type="integer"/>
        <attr name="records_id" xs:type="integer"/>
        <attr name="LineNumber" xs:type="integer" other:xPath="/json/records/lines/LineNumber"/>
        <attr name="OrderId" other:xPath="/json/records/Id"/>"""), srv)
    want = srv.data["orders"]
    assert orders.rows == [(i, o["Id"]) for i, o in enumerate(want, 1)]
    assert orders.summary.pages == 3
    want_lines = [(o["Id"], line["LineNumber"]) for o in want for line in o["lines"]]
    assert [row[0] for row in lines.rows] == list(range(1, len(want_lines) + 1))
    key_of = dict(orders.rows)
    # every line's foreign key is its order's key, across the three pages of the run
    assert [(key_of[r[1]], r[2]) for r in lines.rows] == want_lines
    assert [(r[3], r[2]) for r in lines.rows] == want_lines


def test_retry_after_429_is_honoured(srv, tmp_path):
    import time
    t0 = time.monotonic()
    r = collect(_fault_profile(tmp_path, "fail=429&amp;fail_times=1&amp;retry_after=1"), srv)
    assert time.monotonic() - t0 >= 1.0
    assert (len(r.rows), r.summary.retries, r.summary.requests) == (5, 1, 2)


def test_document_level_values_and_response_item(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=5&amp;per_page=50"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:set attr="ElementMapPath#1" value="$.total_pages"/>
        <api:set attr="ElementMapName#1" value="pages"/>
        <api:script method="GET">
          <api:call op="jsonproviderGet">
            <api:set attr="status" value="[_response.status] [_response.header:Content-Type]"/>
            <api:push/>
          </api:call>
        </api:script>""", ACCOUNT_COLS + """
        <attr name="total" xs:type="integer" other:xPath="/json/totalSize"/>
        <attr name="pages" xs:type="integer"/>
        <attr name="status" xs:type="string"/>""")
    r = collect(p, srv)
    assert len(r.rows) == 37
    assert r.rows[0][2:] == (237, 5, "200 application/json; charset=utf-8")


def test_query_slicer_runs_once_per_value(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page={pg}&amp;per_page=2"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>""",
                ACCOUNT_COLS + '<input name="pg"/>', info_extra='other:queryslicercolumn="pg"')
    r = collect(p, srv, inputs=[("pg", "1"), ("pg", "3")])
    accounts = srv.data["accounts"]
    assert [row[0] for row in r.rows] == [a["Id"] for a in accounts[0:2] + accounts[4:6]]
    assert (r.summary.pages, r.summary.executions) == (2, 2)
    assert r.summary.stop_reason == f"{STOP_SINGLE} (last of 2 slices of pg)"


def test_a_value_that_does_not_fit_its_type_names_column_and_page(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=1&amp;per_page=3"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:script method="GET"><api:push op="jsonproviderGet"/></api:script>""",
                '<attr name="Name" xs:type="integer" other:xPath="/json/records/Name"/>')
    with pytest.raises(RunError) as e:
        collect(p, srv)
    name = srv.data["accounts"][0]["Name"]
    assert e.value.exit_code == 1
    lines = Path(p).read_text().splitlines()
    line = next(n for n, t in enumerate(lines, 1) if '<attr name="Name"' in t)
    col = lines[line - 1].index("<attr") + 1
    assert f"T.rsd:{line}:{col}: column 'Name': cannot convert {name!r} to integer" in str(e.value)
    assert "(page 1)" in str(e.value)
    assert 'xs:type="string"' in e.value.hint


def test_script_paging_with_enable_paging_reports_the_scripts_stop(srv, tmp_path):
    # EnablePaging=true as Matillion writes it, rows@next set only while the API says there is more
    p = profile(tmp_path, """\
        <api:set attr="EnablePaging" value="TRUE"/>
        <api:set attr="page" value="[_input.rows@next | def('1')]"/>
        <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=[page]&amp;per_page=100"/>
        <api:set attr="JSONPath" value="$.records"/>
        <api:script method="GET">
          <api:call op="jsonproviderGet">
            <api:if exp="[page] &lt; [pages]"><api:set attr="rows@next" value="[page | add(1)]"/></api:if>
            <api:push/>
          </api:call>
        </api:script>""", ACCOUNT_COLS + '<attr name="pages" xs:type="integer" other:xPath="/json/total_pages"/>')
    r = collect(p, srv)
    assert (len(r.rows), r.summary.pages, r.summary.stop_reason) == (237, 3, STOP_NO_NEXT)


def test_element_map_values_fill_columns_also_when_the_body_only_pushes(srv, tmp_path):
    p = profile(tmp_path, """\
        <api:set attr="URI" value="[_connection.BaseURL]/api/contacts?offset=0&amp;limit=2"/>
        <api:set attr="JSONPath" value="$.data"/>
        <api:set attr="ElementMapPath#1" value="$.total"/>
        <api:set attr="ElementMapName#1" value="total_count"/>
        <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>""",
                '<attr name="id" xs:type="string" other:xPath="/json/data/id"/>'
                '<attr name="total_count" xs:type="integer"/>')
    r = collect(p, srv)
    assert [row[1] for row in r.rows] == [123, 123]


# --- a profile nobody checked ------------------------------------------------------------------

@pytest.mark.parametrize("statement, message", [
    ('<api:unset item="x"/>', "api:unset is missing its required parameter 'attr'"),
    ('<api:map from="x"/>', "api:map is missing its required parameter 'to'"),
    ('<api:validate item="x"/>', "api:validate is missing its required parameter 'attr'"),
    ('<api:call><api:push/></api:call>', "api:call is missing its required parameter 'op'"),
    ('<api:select><api:default/></api:select>', "api:select needs one of the parameters 'value' or 'attr'"),
])
def test_a_statement_missing_a_required_parameter_refuses_where_it_runs(tmp_path, statement, message):
    # a `Profile` object handed to the library is not checked (`api.load` passes it on as it is): a keyword without
    # a parameter it cannot run without says so where it runs (exit 2), not with a Python error; one that does not
    # run (a branch not taken) changes nothing
    from rsd.reader import read_profile

    data = tmp_path / "d.json"
    data.write_text(json.dumps({"items": [{"k": "a"}]}))
    p = profile(tmp_path, f"""\
        <api:set attr="URI" value="{data.as_uri()}"/>
        <api:set attr="JSONPath" value="$.items"/>
        <api:call op="jsonproviderGet">
          <api:if exp="[k] == b">{statement}</api:if>
          <api:push/>
        </api:call>""", '<attr name="k" xs:type="string"/>')
    assert api.collect(read_profile(p)).rows == [("a",)]
    Path(p).write_text(Path(p).read_text().replace('exp="[k] == b"', 'exp="[k] == a"'))
    with pytest.raises(ProfileError) as e:
        api.collect(read_profile(p))
    assert str(e.value) == f"{p}:8:26: {message}"
    assert e.value.exit_code == 2


def test_a_runner_made_without_an_http_client_says_so_when_a_call_sends(tmp_path):
    # `http=None` is for dry runs, whose plan hook stops every call first; a run without one must not fail with a
    # Python error at its first request
    from rsd.engine.runner import Runner
    from rsd.http.redact import Redactor

    p = profile(tmp_path, """\
        <api:set attr="URI" value="http://127.0.0.1:9/x"/>
        <api:call op="jsonproviderGet"><api:push/></api:call>""", '<attr name="k" xs:type="string"/>')
    runner = Runner(api.load(p), connection=[], inputs={}, http=None, redactor=Redactor())
    with pytest.raises(RunError) as e:
        runner.run(lambda rows: None)
    assert str(e.value) == f"{p}:6:1: the run was made without an HTTP client, so it cannot send this call's request"
