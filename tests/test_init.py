"""`rsd init` (docs/reference/contract.md §10): a profile from one page of an API, which `rsd check --strict` accepts
and `rsd run` pages through to the end, every record exactly once.

Against the demo API (seven paging styles, JSON and XML, behind OAuth: the sample is fetched with the same options
and credentials as a run) and against four shapes rsd init was not developed against, written from the vendors'
public documentation (tests/servers/shapes.py: GitHub's Link list, Stripe's has_more + starting_after list, an
OData feed with @odata.nextLink, Salesforce's query with a relative nextRecordsUrl)."""
from __future__ import annotations

import io
import json

import pytest

from cli_support import assert_no_secret, demo_oauth, record_tokens
from rsd import api
from rsd.authoring import init_profile
from rsd.authoring.shape import infer_type
from rsd.cli import main
from rsd.commands import _ask_candidate
from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer
from servers import serve
from servers.shapes import SHAPES, ShapesAPI

SECRETS = {"CLIENT_ID": DEMO_CLIENT_ID, "CLIENT_SECRET": DEMO_CLIENT_SECRET, "REFRESH_TOKEN": DEMO_REFRESH_TOKEN}

#: demo endpoint -> (dataset, key column, the strategy rsd init should see, its attributes)
DEMO = {
    "accounts": ("accounts", "Id", "page number", [("pagenumberparam", "page;1"), ("totalpagespath", "$.total_pages")]),
    "contacts": ("contacts", "id", "offset", [("pageoffsetparam", "offset;0"), ("totalcountpath", "$.total")]),
    "events": ("events", "id", "token", [("nextpagetokenpath", "$.next_cursor"), ("nextpagetokenparam", "cursor")]),
    "orders": ("orders", "Id", "next URL", [("nextpageurlpath", "$.nextRecordsUrl")]),
    "products": ("products", "sku", "next URL", [("nextpageurlpath", "$.next")]),
    "invoices": ("invoices", "invoice_id", "Link header", [("pagingtype", "LinkHeader")]),
    "inventory.xml": ("inventory", "sku", "page number",
                      [("pagenumberparam", "page;1"), ("totalpagespath", "/inventory/@pages")]),
}

FOREIGN = {
    "github": ("Link header", [("pagingtype", "LinkHeader")]),
    "stripe": ("token", [("nextpagetokenpath", "$.data[-1].id"), ("nextpagetokenparam", "starting_after"),
                         ("hasmorepath", "$.has_more")]),
    "odata": ("next URL", [("nextpageurlpath", "$['@odata.nextLink']")]),
    "salesforce": ("next URL", [("nextpageurlpath", "$.nextRecordsUrl")]),
}


@pytest.fixture(scope="module")
def srv():
    with DemoServer(token_lifetime=30) as s:
        yield s


@pytest.fixture(scope="module")
def shapes():
    with serve(ShapesAPI()) as url:
        yield url


@pytest.fixture
def env(monkeypatch):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_rows(profile: str, options: list[tuple[str, str]] = ()) -> tuple[list[str], list[tuple], object]:
    result = api.collect(profile, options=options)
    return list(result.columns), result.rows, result.summary


def flat(text: str) -> str:
    """The text with every run of whitespace one space (comments are wrapped)."""
    return " ".join(text.split())


def pairs(argv: list[str]) -> list[tuple[str, str]]:
    return [tuple(argv[i + 1].split("=", 1)) for i in range(0, len(argv), 2)]


# ------------------------------------------------------------------------------------- the demo API's styles

@pytest.mark.parametrize("endpoint", list(DEMO))
def test_init_on_each_demo_paging_style_checks_clean_and_runs_every_record_once(srv, env, tmp_path, capsys,
                                                                                 endpoint):
    dataset, key, strategy, attrs = DEMO[endpoint]
    out = tmp_path / "Generated.rsd"
    options = demo_oauth(srv)
    code, stdout, err = cli(capsys, "init", f"{srv.url}/api/{endpoint}", *options, "--output", out)
    assert code == 0, err
    assert stdout == ""
    assert f"paging: {strategy}" in err
    text = out.read_text()
    for name, value in attrs:
        assert f'<api:set attr="{name}" value="{value}" />' in text
    assert f'<api:set attr="URI" value="[_connection.BaseURL]/api/{endpoint}" />' in text
    assert cli(capsys, "check", "--strict", out)[0] == 0

    columns, rows, summary = run_rows(str(out), pairs(options))
    expected = [r[key] for r in srv.data[dataset]]
    got = [row[columns.index(key)] for row in rows]
    assert sorted(map(str, got)) == sorted(map(str, expected))  # every record, exactly once
    assert len(got) == len(set(got)) == len(expected)
    assert summary.warnings == []


def test_the_generated_columns_and_types_of_the_demo_accounts(srv, env, capsys):
    result = init_profile(f"{srv.url}/api/accounts", options=pairs(demo_oauth(srv)))
    assert [(f.name, f.type, f.key, f.aggregate) for f in result.fields] == [
        ("attributes.type", "string", False, False), ("attributes.url", "string", False, False),
        ("Id", "string", True, False), ("Name", "string", False, False), ("Industry", "string", False, False),
        ("AnnualRevenue", "number", False, False), ("NumberOfEmployees", "integer", False, False),
        ("IsActive", "boolean", False, False), ("CreatedDate", "datetime", False, False),
        ("BillingAddress.City", "string", False, False), ("BillingAddress.Country", "string", False, False),
        ("BillingAddress.PostalCode", "string", False, False), ("Tags", "string", False, True)]
    assert result.fields[2].path == "/json/records/Id"
    assert '<attr name="AnnualRevenue"             xs:type="double"' in result.text
    assert 'other:xPath="/json/records/Tags" other:valueFormat="aggregate" />  <!-- an array: kept whole as JSON text' \
           in result.text


def test_the_profile_holds_no_secret_and_names_the_options(srv, env, capsys, tmp_path):
    issued = record_tokens(srv)
    out = tmp_path / "Accounts.rsd"
    code, _, err = cli(capsys, "init", f"{srv.url}/api/accounts", *demo_oauth(srv), "--output", out, "-v")
    assert code == 0
    text = out.read_text()
    assert issued and "Run it with the options given to rsd init (BaseURL, AuthScheme, OAuthGrantType" in flat(text)
    assert_no_secret(text + err, [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, *issued], "the generated profile")


# ------------------------------------------------------------------------------------------ foreign shapes

@pytest.mark.parametrize("shape", list(SHAPES))
def test_init_on_shapes_it_was_not_developed_against(shapes, tmp_path, capsys, shape):
    start, records, key, keys = SHAPES[shape]
    strategy, attrs = FOREIGN[shape]
    out = tmp_path / f"{shape}.rsd"
    code, _, err = cli(capsys, "init", shapes + start, "--output", out)
    assert code == 0, err
    assert f"paging: {strategy}" in err
    text = out.read_text()
    for name, value in attrs:
        escaped = value.replace("[", "\\[").replace("]", "\\]")
        assert f'<api:set attr="{name}" value="{escaped}" />' in text  # brackets escaped: not a template
    assert cli(capsys, "check", "--strict", out)[0] == 0
    columns, rows, summary = run_rows(str(out))
    got = [row[columns.index(key)] for row in rows]
    assert got == keys  # every record once, in the API's order
    assert summary.warnings == []


def test_foreign_types_keys_and_aggregates(shapes):
    github = init_profile(shapes + SHAPES["github"][0])
    kinds = {f.name: (f.type, f.key, f.aggregate) for f in github.fields}
    assert kinds["id"] == ("integer", True, False) and kinds["number"] == ("integer", False, False)
    assert kinds["labels"] == ("string", False, True)  # an array of objects: JSON text
    assert kinds["assignee.login"] == ("string", False, False)  # an object or null: dotted names
    assert kinds["created_at"] == kinds["closed_at"] == ("datetime", False, False)
    assert kinds["body"] == ("string", False, False)
    assert [c.path for c in github.candidates] == ["$", "$.labels"]
    stripe = {f.name: (f.type, f.aggregate, f.note) for f in init_profile(shapes + SHAPES["stripe"][0]).fields}
    assert stripe["metadata"] == ("string", True, "always an empty object: kept whole as text")
    assert stripe["address"] == ("string", False, "null in every sampled record: typed string")
    assert stripe["created"][0] == "integer"  # epoch seconds stay numbers: only ISO text is a datetime
    odata = init_profile(shapes + SHAPES["odata"][0])
    assert [(f.name, f.type) for f in odata.fields] == [("ID", "integer"), ("Name", "string"), ("Price", "number"),
                                                        ("ReleaseDate", "datetime"), ("Discontinued", "boolean"),
                                                        ("Rating", "integer")]
    salesforce = init_profile(shapes + SHAPES["salesforce"][0])
    assert "relative: resolved against the request URL" in flat(salesforce.text)
    assert {f.name: f.type for f in salesforce.fields}["AnnualRevenue"] == "number"


# ------------------------------------------------------------------------------------ choosing the records

def test_several_candidates_are_listed_and_repeat_picks_one(srv, env, tmp_path, capsys):
    out = tmp_path / "Orders.rsd"
    code, _, err = cli(capsys, "init", f"{srv.url}/api/orders", *demo_oauth(srv), "--output", out)
    assert code == 0
    assert "2 candidates for the repeating element (records on this page); took $.records, --repeat picks " \
           "another:\n  $.records        20\n  $.records.lines  50\n" in err
    lines = tmp_path / "Lines.rsd"
    code, _, err = cli(capsys, "init", f"{srv.url}/api/orders", *demo_oauth(srv), "--repeat", "$.records.lines",
                       "--name", "OrderLines", "--output", lines)
    assert code == 0 and "candidates for the repeating element" not in err
    assert cli(capsys, "check", "--strict", lines)[0] == 0
    columns, rows, _ = run_rows(str(lines), pairs(demo_oauth(srv)))
    assert columns == ["LineNumber", "ProductCode", "Quantity", "UnitPrice"]
    assert len(rows) == sum(len(o["lines"]) for o in srv.data["orders"])


def test_on_a_terminal_the_user_is_asked(monkeypatch, capsys, tmp_path):
    saved = tmp_path / "page.json"
    saved.write_text(json.dumps({"a": [{"x": 1}], "b": {"c": [{"y": 2}, {"y": 3}]}}))
    result = init_profile(str(saved))
    assert [c.path for c in result.candidates] == ["$.a", "$.b.c"]
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n2\n"))
    assert _ask_candidate(result.candidates).path == "$.b.c"  # a wrong answer is asked again
    asked = capsys.readouterr().err
    assert "  1. $.a    1 records\n  2. $.b.c  2 records\n" in asked and asked.count("Which one?") == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert _ask_candidate(result.candidates).path == "$.a"
    chosen = init_profile(str(saved), choose=lambda found: found[1])
    assert chosen.chosen.path == "$.b.c" and [f.name for f in chosen.fields] == ["y"]


def test_a_saved_response_with_its_url(srv, env, tmp_path, capsys):
    import requests
    token = srv.issue_token()
    body = requests.get(f"{srv.url}/api/inventory.xml", headers={"Authorization": f"Bearer {token}"}).content
    saved = tmp_path / "page.xml"
    saved.write_bytes(body)
    out = tmp_path / "Inventory.rsd"
    code, _, err = cli(capsys, "init", saved, "--url", f"{srv.url}/api/inventory.xml", "-o", f"BaseURL={srv.url}",
                       "--output", out)
    assert code == 0, err
    text = out.read_text()
    assert "Written by rsd init from the file page.xml (" in flat(text)
    assert '<api:set attr="URI" value="[_connection.BaseURL]/api/inventory.xml" />' in text
    columns, rows, _ = run_rows(str(out), [("BaseURL", srv.url), ("OAuthAccessToken", token)])
    assert len(rows) == len(srv.data["inventory"])


def test_a_saved_response_without_a_url_reads_itself(tmp_path, capsys):
    saved = tmp_path / "page.json"
    saved.write_text(json.dumps({"results": [{"id": 1, "when": "2024-01-02"}, {"id": 2, "when": None}]}))
    out = tmp_path / "P.rsd"
    assert cli(capsys, "init", saved, "--output", out)[0] == 0
    text = out.read_text()
    assert f'<api:set attr="URI" value="{saved.as_uri()}" />' in text
    assert "put the API's URL in its place" in flat(text)
    assert cli(capsys, "check", "--strict", out)[0] == 0
    assert run_rows(str(out))[1] == [(1, "2024-01-02"), (2, None)]


def test_a_credential_in_the_url_is_read_from_an_option(shapes, tmp_path, capsys):
    out = tmp_path / "Customers.rsd"
    code, _, err = cli(capsys, "init", shapes + "/v1/customers?limit=10&api_key=sk_test_4eC39HqLyjWDarjtT1zdp7dc",
                       "--output", out)
    assert code == 0
    text = out.read_text()
    assert "sk_test_4eC39HqLyjWDarjtT1zdp7dc" not in text + err
    assert '/v1/customers?limit=10&amp;api_key=[_connection.api_key]" />' in text
    assert "note: the URL's api_key is a credential: the profile reads it from the option api_key" in err
    assert cli(capsys, "check", "--strict", out)[0] == 0
    _, rows, _ = run_rows(str(out), [("api_key", "anything")])
    assert len(rows) == len(SHAPES["stripe"][1])


# ------------------------------------------------------------------------------------------------ failures

def test_an_existing_output_is_kept_unless_forced(shapes, tmp_path, capsys):
    out = tmp_path / "P.rsd"
    out.write_text("hand written")
    code, _, err = cli(capsys, "init", shapes + SHAPES["odata"][0], "--output", out)
    assert code == 2 and "exists; rsd init does not overwrite a profile" in err and "--force" in err
    assert out.read_text() == "hand written"
    assert cli(capsys, "init", shapes + SHAPES["odata"][0], "--output", out, "--force")[0] == 0
    assert out.read_text().startswith("<api:script")


def test_bad_inputs(shapes, tmp_path, capsys):
    code, _, err = cli(capsys, "init", shapes + "/nothing/here")
    assert code == 1 and f"GET {shapes}/nothing/here (page 1): HTTP 404" in err
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = cli(capsys, "init", text)
    assert code == 2 and "is neither JSON nor XML" in err
    empty = tmp_path / "empty.json"
    empty.write_text("[1, 2, 3]")
    code, _, err = cli(capsys, "init", empty)
    assert code == 2 and "holds no records" in err and "--repeat" in err
    code, _, err = cli(capsys, "init", shapes + SHAPES["odata"][0], "--repeat", "$.nope")
    assert code == 2 and "--repeat '$.nope' matches no object in the sample" in err
    assert "Traceback" not in err


# -------------------------------------------------------------------------------------------------- types

@pytest.mark.parametrize("values, textual, expected", [
    ([1, 2, None], False, "integer"),
    ([1, 2.5], False, "number"),
    ([True, False], False, "boolean"),
    ([1, True], False, "string"),
    (["007", "12"], False, "string"),  # JSON text of digits stays text
    (["2024-01-02", "2024-02-03"], False, "date"),
    (["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000+0000"], False, "datetime"),
    (["2024-01-02", "2024-01-02T03:04:05Z"], False, "datetime"),
    (["2024-13-45"], False, "string"),  # looks like a date, is none
    (["12", "-3"], True, "integer"),  # XML text
    (["007"], True, "string"),  # a leading zero is an identifier
    (["1.50", "2"], True, "number"),
    (["true", "false"], True, "boolean"),
    (["True"], True, "string"),
    ([], False, "string"),
])
def test_infer_type(values, textual, expected):
    assert infer_type([v for v in values if v is not None], textual=textual) == expected
