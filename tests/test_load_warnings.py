"""No silent wrong loads: a repeating element or a column path that matches nothing is a warning in the run's
summary (with the path, what the document holds there and a did-you-mean), `_rsd_runs` keeps it, `--strict` makes
it exit 1 with nothing written. The rows stay CData's (a missing path is null): only the summary changes.

The demo API (rsd/demo/server.py) serves the pages; the profiles are the samples with one path broken."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import requests

from rsd import api
from rsd.cli import main
from rsd.demo.server import DemoServer
from rsd.errors import Loc
from rsd.mapping import compile_mapper, parse_document
from rsd.mapping.diagnose import explain_column, explain_repeat
from rsd.reader.ast import Column

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "demo"


@pytest.fixture(scope="module")
def srv():
    with DemoServer(require_auth=False) as s:
        yield s


def broken(tmp_path, sample: str, old: str, new: str) -> str:
    """The sample profile with `old` replaced by `new` (exactly once), written to tmp_path."""
    text = (SAMPLES / sample).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / sample
    path.write_text(text.replace(old, new), encoding="utf-8")
    return str(path)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["run", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def warning_lines(err: str) -> list[str]:
    return [line.strip()[len("warning: "):] for line in err.splitlines() if line.strip().startswith("warning: ")]


# ---------------------------------------------------------------------------------------- a wrong repeating path

def test_wrong_repeating_path_warns_with_did_you_mean(srv, tmp_path, capsys):
    profile = broken(tmp_path, "Contacts.rsd", 'value="$.data"', 'value="$.dta"')
    out = tmp_path / "c.csv"
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "--output", out)
    assert code == 0
    assert "Contacts: 0 rows from 1 page in 1 request" in err
    url = f"{srv.url}/api/contacts?offset=0&limit=25"
    size = len(requests.get(url).content)
    assert warning_lines(err) == [
        f"GET {url} (page 1): a response of {size:,} bytes gave no rows: the repeating element $.dta matched "
        "nothing: the document holds total, offset, limit, data; did you mean $.data?"]
    assert out.read_text().count("\n") == 1  # the header: the rows are CData's (none), only the summary speaks


def test_strict_turns_the_wrong_repeating_path_into_exit_1_and_writes_nothing(srv, tmp_path, capsys):
    profile = broken(tmp_path, "Contacts.rsd", 'value="$.data"', 'value="$.dta"')
    out = tmp_path / "c.csv"
    db = tmp_path / "w.db"
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "--output", out, "--strict")
    assert code == 1
    assert not out.exists()
    assert err.startswith("rsd: error: --strict: the run has 1 warning, so nothing was written: GET ")
    assert "did you mean $.data?" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "--output", f"sqlite:///{db}", "--strict")
    assert code == 1
    con = sqlite3.connect(db)
    assert con.execute("select name from sqlite_master where name = 'Contacts'").fetchall() == []
    status, warnings = con.execute("select status, warnings from _rsd_runs").fetchone()
    assert status == "failed"
    assert [w.split(": a response of")[0] for w in json.loads(warnings)] == [
        f"GET {srv.url}/api/contacts?offset=0&limit=25 (page 1)"]


def test_wrong_repeating_path_in_xml(srv, tmp_path, capsys):
    profile = broken(tmp_path, "Inventory.rsd", 'value="/inventory/item"', 'value="/inventory/itme"')
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "-f", "csv")
    assert code == 0
    (line,) = warning_lines(err)
    assert line.endswith("gave no rows: the repeating element /inventory/itme matched nothing: /inventory holds "
                         "item; did you mean /inventory/item?")
    assert run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "-f", "csv", "--strict")[0] == 1


# ----------------------------------------------------------------------------------------- a mistyped column

def test_mistyped_column_path_warns_with_did_you_mean(srv, tmp_path, capsys):
    profile = broken(tmp_path, "Contacts.rsd", "/json/data/email", "/json/data/emial")
    code, out, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "-f", "csv")
    assert code == 0
    assert len(out.splitlines()) == 124 and all(line.split(",")[3] == "" for line in out.splitlines()[1:])
    keys = ", ".join(srv.data["contacts"][0])
    assert warning_lines(err) == [
        f"column 'email' ({profile}:9:5) is null in all 123 rows: its path /json/data/emial matched nothing: the "
        f"records hold {keys}; did you mean /json/data/email?"]


def test_strict_keeps_the_previous_table_when_a_column_path_is_wrong(db, srv, tmp_path, capsys):
    good = str(SAMPLES / "Contacts.rsd")
    assert run_cli(capsys, good, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", "contacts")[0] == 0
    before = db.rows("contacts")
    profile = broken(tmp_path, "Contacts.rsd", "/json/data/email", "/json/data/emial")
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", "contacts",
                           "--strict")
    assert code == 1
    assert "did you mean /json/data/email?" in err
    assert db.rows("contacts") == before and len(before) == 123
    runs = db.query("select status, warnings from _rsd_runs order by id")
    assert [r[0] for r in runs] == ["ok", "failed"]
    assert runs[0][1] is None
    assert json.loads(runs[1][1])[0].startswith("column 'email' (")


def test_mistyped_xml_column_and_attribute(srv, tmp_path, capsys):
    profile = broken(tmp_path, "Inventory.rsd", "/inventory/item/qty", "/inventory/item/qtty")
    text = Path(profile).read_text().replace(
        '<attr name="warehouse"', '<attr name="pages" xs:type="integer" other:xPath="/inventory/@pgaes" />\n'
                                  '    <attr name="warehouse"')
    Path(profile).write_text(text)
    code, _, err = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "-f", "csv")
    assert code == 0
    assert [re.sub(r"\(.*?:\d+:\d+\) ", "", w) for w in warning_lines(err)] == [
        "column 'qty' is null in all 34 rows: its path /inventory/item/qtty matched nothing: the records hold sku, "
        "name, qty, price, updated, warehouse; did you mean /inventory/item/qty?",
        "column 'pages' is null in all 34 rows: its path /inventory/@pgaes matched nothing: /inventory holds item, "
        "@page, @pages, @total; did you mean /inventory/@pages?"]


# ------------------------------------------------------------------------------------------------ no warning

@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.rsd")))
def test_the_samples_run_without_warnings(srv, sample):
    summary = api.run(str(SAMPLES / sample), options=[("BaseURL", srv.url)], fmt="csv", stream=_Sink())
    assert summary.rows > 0 and summary.warnings == []


class _Sink:
    def write(self, text):
        pass

    def flush(self):
        pass


def test_a_present_key_that_is_always_null_is_data_not_a_warning(tmp_path):
    data = tmp_path / "page.json"
    data.write_text(json.dumps({"items": [{"id": 1, "gone": None}, {"id": 2, "gone": None}]}))
    profile = tmp_path / "P.rsd"
    profile.write_text(f"""<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="P">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id" />
    <attr name="gone" xs:type="string" other:xPath="/json/items/gone" />
    <attr name="absent" xs:type="string" other:xPath="/json/items/absent" />
  </api:info>
  <api:set attr="URI" value="{data.as_uri()}" />
  <api:set attr="JSONPath" value="$.items" />
  <api:script method="GET"><api:call op="jsonproviderGet"><api:push /></api:call></api:script>
</api:script>""")
    result = api.collect(str(profile))
    assert result.rows == [(1, None, None), (2, None, None)]
    assert result.summary.warnings == [
        f"column 'absent' ({profile}:5:5) is null in all 2 rows: its path /json/items/absent matched nothing: the "
        "records hold id, gone"]


# ------------------------------------------------------------------------------------------ the explanations

L = Loc("t.rsd", 1, 1)


def _json(body):
    return parse_document(json.dumps(body).encode(), "json", source="t")


def _xml(body: str):
    return parse_document(body.encode(), "xml", source="t")


@pytest.mark.parametrize("repeat, body, expected", [
    ("$.recods", {"meta": {"page": 1}, "records": [{"id": 1}]},
     "$.recods matched nothing: the document holds meta, records; did you mean $.records?"),
    ("$.meta.items", {"meta": {"page": 1}, "records": [{"id": 1}]},
     "$.meta.items matched nothing: $.meta holds page; the records of this document are at $.records"),
    ("$.records", [{"a": 1}, {"a": 2}],
     "$.records matched nothing: the document is an array of 2 values holding a; the records of this document "
     "are at $"),
    ("$.records", {"records": []}, None),  # an empty page
    ("$.records", {}, None),  # nothing at all: an empty page too
    ("$.a.records", {"a": None}, None),  # a null: no records
    ("$.items[?(@.id > 1)]", {"items": [{"id": 1}]}, None),  # a filter that keeps nothing
])
def test_explain_repeat_json(repeat, body, expected):
    miss = explain_repeat(compile_mapper([Column("id", L)], repeat_paths=repeat, kind="json"), _json(body))
    assert (miss.describe() if miss else None) == expected


@pytest.mark.parametrize("repeat, body, expected", [
    ("/inventory/itme", "<inventory page='1'><item><a>1</a></item></inventory>",
     "/inventory/itme matched nothing: /inventory holds item; did you mean /inventory/item?"),
    ("/inventry/item", "<inventory><item/></inventory>",
     "/inventry/item matched nothing: the document's root element is inventory; did you mean /inventory/item?"),
    ("/inventory/item", "<inventory page='5' pages='4' total='34'>\n</inventory>", None),  # the last, empty page
    ("/feed/entry", "<feed><title>t</title></feed>", "/feed/entry matched nothing: /feed holds title"),
])
def test_explain_repeat_xml(repeat, body, expected):
    miss = explain_repeat(compile_mapper([Column("id", L)], repeat_paths=repeat, kind="xml"), _xml(body))
    assert (miss.describe() if miss else None) == expected


def test_explain_column_paths():
    cols = [Column("id", L, xpath="/json/records/id"), Column("city", L, xpath="/json/records/addr/cty"),
            Column("page", L, xpath="/json/meta/pge"), Column("nm", L), Column("x", L, xpath="$.records[?(@.q)]"),
            Column("addr.zip", L)]
    doc = _json({"meta": {"page": 1}, "records": [{"id": 1, "addr": {"city": "x"}}, {"id": 2, "addr.zip": None}]})
    mapper = compile_mapper(cols, repeat_paths="$.records", kind="json")
    said = [explain_column(mapper, doc, i) for i in range(len(cols))]
    assert [m.describe() if m else None for m in said] == [
        None,
        "/json/records/addr/cty matched nothing: the records' addr holds city; did you mean /json/records/addr/city?",
        "/json/meta/pge matched nothing: $.meta holds page; did you mean /json/meta/page?",
        "nm matched nothing: the records hold id, addr, addr.zip",
        "$.records[?(@.q)] matched nothing: the document holds meta, records",
        None,  # a dotted name read as the literal key "addr.zip", present with null
    ]


def test_explain_relational_paths():
    """RELATIONAL plans answer where a path is read too (they had no routes: the warnings raised AttributeError)."""
    cols = [Column("_id", L), Column("people_id", L), Column("name", L), Column("nmae", L),
            Column("page", L, xpath="/json/meta/pge")]
    mapper = compile_mapper(cols, repeat_paths="$.people;$.people.vehicles", data_model="RELATIONAL", kind="json")
    doc = _json({"meta": {"page": 1}, "people": [{"name": "a", "vehicles": [{"name": "x"}, {"name": "y"}]}]})
    assert list(mapper.rows(doc)) == [(1, 1, "x", None, None), (2, 1, "y", None, None)]
    said = [explain_column(mapper, doc, i) for i in range(len(cols))]
    assert [m.describe() if m else None for m in said] == [
        None, None, None,
        "nmae matched nothing: the records hold name; did you mean name?",
        "/json/meta/pge matched nothing: $.meta holds page; did you mean /json/meta/page?",
    ]
    wrong = _json({"peoples": [{"name": "a", "vehicles": [{"name": "x"}]}]})
    assert list(mapper.rows(wrong)) == []
    assert explain_repeat(mapper, wrong).describe() == (
        "$.people matched nothing: the document holds peoples; did you mean $.peoples?")


RELATIONAL_PROFILE = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Rel" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="_id" xs:type="integer"/>
    <attr name="people_id" xs:type="integer"/>
    <attr name="name" xs:type="string"/>
    <attr name="nmae" xs:type="string"/>
  </api:info>
  <api:set attr="URI" value="{uri}"/>
  <api:set attr="DataModel" value="RELATIONAL"/>
  <api:set attr="JSONPath" value="{paths}"/>
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>
</api:script>
"""


@pytest.mark.parametrize("paths, rows, said", [
    ("$.people;$.people.vehicles", 3,
     "column 'nmae' ({profile}:6:5) is null in all 3 rows: its path nmae matched nothing: the records hold name; "
     "did you mean name?"),
    ("$.peple;$.peple.vehicles", 0,
     "GET {uri} (page 1): a response of {size} bytes gave no rows: the repeating element $.peple matched nothing: "
     "the document holds people; did you mean $.people?"),
])
def test_a_relational_run_warns_about_its_paths(tmp_path, capsys, paths, rows, said):
    """A RELATIONAL run with a mistyped path ended in `internal error: AttributeError` after writing its rows."""
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"people": [{"name": "a", "vehicles": [{"name": "x"}, {"name": "y"}]},
                                           {"name": "b", "vehicles": [{"name": "z"}]}]}))
    profile = tmp_path / "Rel.rsd"
    profile.write_text(RELATIONAL_PROFILE.format(uri=data.as_uri(), paths=paths), encoding="utf-8")
    code, out, err = run_cli(capsys, profile, "-f", "csv")
    assert code == 0, err
    assert out.splitlines() == ["_id,people_id,name,nmae"] + ["1,1,x,", "2,1,y,", "3,2,z,"][:rows]
    assert warning_lines(err) == [said.format(profile=profile, uri=data.as_uri(), size=f"{data.stat().st_size:,}")]


def test_explain_relational_xml_column():
    cols = [Column("_id", L), Column("nmae", L)]
    mapper = compile_mapper(cols, repeat_paths="/people/person;/people/person/car", data_model="RELATIONAL",
                            kind="xml")
    doc = _xml("<people><person><car><name>x</name></car></person></people>")
    assert list(mapper.rows(doc)) == [(1, None)]
    assert explain_column(mapper, doc, 1).describe() == (
        "nmae matched nothing: the records hold name; did you mean name?")


# ------------------------------------------------------------------------------------------------- _rsd_runs

OLD_RUNS = {  # `_rsd_runs` as rsd created it before the warnings column
    "sqlite": "CREATE TABLE _rsd_runs (id INTEGER PRIMARY KEY, job TEXT, step TEXT, target_table TEXT, started TEXT, "
              "finished TEXT, rows INTEGER, pages INTEGER, requests INTEGER, status TEXT, error TEXT)",
    "postgres": "CREATE TABLE _rsd_runs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text, step text, "
                "target_table text, started timestamptz, finished timestamptz, rows bigint, pages bigint, "
                "requests bigint, status text, error text)",
}


def test_an_existing_runs_table_gains_the_warnings_column_in_place(db, srv, tmp_path, capsys):
    db.execute(OLD_RUNS[db.name])
    db.execute("INSERT INTO _rsd_runs (job, step, target_table, rows, status) VALUES ('old', 's', 't', 7, 'ok')")
    profile = broken(tmp_path, "Contacts.rsd", "/json/data/email", "/json/data/emial")
    code, _, _ = run_cli(capsys, profile, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", "contacts")
    assert code == 0
    assert db.column_names("_rsd_runs")[-1] == "warnings"
    runs = db.query("select job, rows, status, warnings from _rsd_runs order by id")
    assert runs[0] == ("old", 7, "ok", None)
    assert runs[1][:3] == ("", 123, "ok")
    assert json.loads(runs[1][3])[0].startswith("column 'email' (")
