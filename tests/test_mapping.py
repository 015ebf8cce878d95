"""rsd.mapping: documents -> rows, path forms, data models, value paths, validation and xs:type coercion."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsd.errors import Loc, ProfileError, RunError
from rsd.mapping import (KNOWN_TYPES, SUPPORTED_DATA_MODELS, CoercionError, coerce_value, compile_coercer,
                         compile_mapper, compile_value_path, normalize_type, parse_document, validate_path)
from rsd.mapping.paths import KEY, json_slow_getter
from rsd.reader.ast import Column

LOC = Loc("test.rsd", 3, 5)


def col(name, xpath=None, type=None, value_format=None):
    return Column(name, LOC, type=type, xpath=xpath, value_format=value_format)


def rows(columns, body, repeat=None, model="DOCUMENT", kind="json"):
    mapper = compile_mapper(columns, repeat_paths=repeat, data_model=model, kind=kind)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return list(mapper.rows(parse_document(raw, kind)))


PAGE = {
    "meta": {"page": 3, "next": "tok-4"},
    "records": [
        {"id": 1, "name": "Ann", "score": 1.5, "ok": True, "tags": ["a", "b"],
         "personal": {"name": {"first": "A", "last": "Z"}}, "none": None},
        {"id": 2, "name": "Bö", "score": 3, "ok": False, "tags": [], "personal": {"name": {"first": "B"}},
         "personal.name.first": "literal-ignored"},
        {"id": 3, "personal.name.first": "literal"},
    ],
}


# ------------------------------------------------------------------------------------------ JSON paths

@pytest.mark.parametrize("repeat", ["$.records", "$.records[*]", "/json/records", "/records", "records",
                                    "$['records']"])
def test_repeat_path_forms_select_the_records(repeat):
    assert rows([col("id"), col("name")], PAGE, repeat) == [(1, "Ann"), (2, "Bö"), (3, None)]


@pytest.mark.parametrize("xpath", ["/json/records/id", "id", "$.records.id", "/records/id"])
def test_column_path_forms_through_the_repeat_element(xpath):
    assert rows([col("x", xpath)], PAGE, "$.records") == [(1,), (2,), (3,)]


def test_no_repeat_path_uses_the_topmost_array_of_objects():
    body = {"meta": {"tags": ["x", "y"]}, "data": {"items": [{"id": 1}, {"id": 2}]}, "more": [{"id": 9}]}
    # breadth first, document order: `more` (depth 1) beats `data.items` (depth 2); scalar arrays are values
    assert rows([col("id")], body) == [(9,)]
    assert rows([col("id")], {"data": {"items": [{"id": 1}, {"id": 2}]}}) == [(1,), (2,)]


def test_root_object_without_array_is_one_row_and_root_array_is_rows():
    assert rows([col("a"), col("b", "/json/b/c")], {"a": 1, "b": {"c": "x"}}) == [(1, "x")]
    assert rows([col("id", "/json/id")], [{"id": 1}, {"id": 2}], "$.") == [(1,), (2,)]
    assert rows([col("id", "/json/id")], [{"id": 1}, {"id": 2}], "/") == [(1,), (2,)]
    assert rows([col("a")], {"a": 1}, "$") == [(1,)]


def test_scalars_pass_through_and_aggregates_are_compact_json_text():
    got = rows([col("score"), col("ok"), col("tags"), col("personal"), col("none")], PAGE, "$.records")
    assert got == [
        (1.5, True, '["a","b"]', '{"name":{"first":"A","last":"Z"}}', None),
        (3, False, "[]", '{"name":{"first":"B"}}', None),
        (None, None, None, None, None),
    ]


def test_aggregates_keep_key_order_and_non_ascii():
    body = {"r": [{"o": {"z": 1, "a": "é", "m": [1, {"k": None}]}}]}
    assert rows([col("o")], body, "$.r") == [('{"z":1,"a":"é","m":[1,{"k":null}]}',)]
    assert rows([col("o", "o", value_format="aggregate")], body, "$.r") == [('{"z":1,"a":"é","m":[1,{"k":null}]}',)]


def test_dotted_column_name_walks_nested_objects_then_falls_back_to_the_literal_key():
    assert rows([col("personal.name.first")], PAGE, "$.records") == [("A",), ("B",), ("literal",)]


def test_relative_and_slash_nested_paths():
    got = rows([col("f", "personal/name/first"), col("l", "/json/records/personal/name/last")], PAGE, "$.records")
    assert got == [("A", "Z"), ("B", None), (None, None)]


def test_document_level_values_repeat_on_every_row():
    got = rows([col("id"), col("page", "/json/meta/page"), col("next", "$.meta.next")], PAGE, "$.records")
    assert got == [(1, 3, "tok-4"), (2, 3, "tok-4"), (3, 3, "tok-4")]


def test_wildcard_step_collects_every_match_as_a_json_array():
    body = {"data": [{"entity": {"employments": [{"employer": {"name": "X"}}, {"employer": {"name": "Y"}},
                                                 {"title": "no employer"}]}},
                     {"entity": {"employments": []}}]}
    got = rows([col("employers", "/json/data/entity/employments/*/employer/name")], body, "/data")
    assert got == [('["X","Y"]',), (None,)]


def test_path_through_an_array_of_objects_is_a_json_array_of_the_values():
    body = {"data": [{"tags": [{"label": "a"}, {"label": "b"}]}, {"tags": [{"label": "only"}]}, {"tags": []}]}
    # always an array once a path fans out, even with one match: a column keeps one shape across rows
    assert rows([col("labels", "/json/data/tags/label")], body, "$.data") == [
        ('["a","b"]',), ('["only"]',), (None,)]


def test_zero_based_indexes():
    body = {"value": [{"v": [10, 20, 30], "o": {"k": 1}}]}
    got = rows([col("first", "v[0]"), col("second", "/json/value/v[1]"), col("last", "$.value.v[-1]"),
                col("missing", "v[5]"), col("obj0", "o[0]/k")], body, "$.value")
    assert got == [(10, 20, 30, None, 1)]


def test_general_jsonpath_filter_and_recursive_descent():
    body = {"items": [{"id": 1, "active": True}, {"id": 2, "active": False}, {"id": 3, "active": True}]}
    assert rows([col("id", "/json/items/id")], body, "$.items[?(@.active == true)]") == [(1,), (3,)]
    nested = {"a": {"b": {"id": 7}}, "c": [{"id": 8}]}
    assert rows([col("ids", "$..id")], nested, "$") == [("[7,8]",)]


def test_missing_repeat_path_or_null_gives_no_rows():
    assert rows([col("id")], {"records": None}, "$.records") == []
    assert rows([col("id")], {"other": []}, "$.records") == []
    assert rows([col("id")], {"records": []}, "$.records") == []


def test_rows_that_are_not_objects():
    assert rows([col("id"), col("self", "/json/v")], {"v": [1, "x", [2]]}, "$.v") == [
        (None, 1), (None, "x"), (None, "[2]")]


def test_repeat_count():
    mapper = compile_mapper([col("id")], repeat_paths="$.records")
    assert mapper.repeat_count(parse_document(json.dumps(PAGE).encode(), "json")) == 3
    assert mapper.repeat_count(parse_document(b'{"records": []}', "json")) == 0


def test_fast_path_and_general_path_agree_on_mixed_rows():
    body = {"r": [{"a": 1, "b": {"c": 2}}, "scalar", {"a": [1, 2], "b": None}, {"b": [{"c": 5}, {"c": 6}]}]}
    got = rows([col("a"), col("b")], body, "$.r")
    assert got == [(1, '{"c":2}'), (None, None), ("[1,2]", None), (None, '[{"c":5},{"c":6}]')]
    got = rows([col("a"), col("bc", "b/c")], body, "$.r")
    assert got == [(1, 2), (None, None), ("[1,2]", None), (None, "[5,6]")]


# --------------------------------------------------------------------------------- FLATTENEDDOCUMENTS

PEOPLE = {
    "source": "crm",
    "people": [
        {"name": "Ann", "vehicles": [
            {"type": "car", "maintenance": [{"date": "2020-01-01"}, {"date": "2021-01-01"}]},
            {"type": "bike", "maintenance": []}]},
        {"name": "Bob", "vehicles": []},
        {"name": "Cy"},
    ],
}
PEOPLE_COLUMNS = [col("name", "/json/people/name"), col("type", "/json/people/vehicles/type"),
                  col("date", "/json/people/vehicles/maintenance/date"), col("source", "/json/source")]


def test_flattened_documents_join_parent_to_child_with_left_join_semantics():
    got = rows(PEOPLE_COLUMNS, PEOPLE, "$.people;$.people.vehicles;$.people.vehicles.maintenance",
               "FlattenedDocuments")
    assert got == [
        ("Ann", "car", "2020-01-01", "crm"),
        ("Ann", "car", "2021-01-01", "crm"),
        ("Ann", "bike", None, "crm"),
        ("Bob", None, None, "crm"),
        ("Cy", None, None, "crm"),
    ]


def test_flattened_documents_path_order_does_not_matter_and_list_form_works():
    paths = ["$.people.vehicles.maintenance", "$.people", "$.people.vehicles"]
    got = rows(PEOPLE_COLUMNS, PEOPLE, paths, "FLATTENEDDOCUMENTS")
    assert [r[:3] for r in got] == [("Ann", "car", "2020-01-01"), ("Ann", "car", "2021-01-01"),
                                     ("Ann", "bike", None), ("Bob", None, None), ("Cy", None, None)]


def test_flattened_documents_root_path_and_receipts():
    body = {"id": 7, "receipts": [{"id": 1, "details": [{"no": "a"}, {"no": "b"}]}, {"id": 2, "details": []}]}
    cols = [col("top", "/json/id"), col("rid", "/json/receipts/id"), col("no", "/json/receipts/details/no")]
    got = rows(cols, body, "$.;$.receipts;$.receipts.details", "FLATTENEDDOCUMENTS")
    assert got == [(7, 1, "a"), (7, 1, "b"), (7, 2, None)]


def test_flattened_documents_siblings_cross_join():
    body = {"items": [{"id": 1, "a": [{"x": 1}, {"x": 2}], "b": [{"y": "p"}, {"y": "q"}]},
                      {"id": 2, "a": [{"x": 3}], "b": []}]}
    cols = [col("id", "/json/items/id"), col("x", "/json/items/a/x"), col("y", "/json/items/b/y")]
    got = rows(cols, body, "$.items;$.items.a;$.items.b", "FLATTENEDDOCUMENTS")
    assert got == [(1, 1, "p"), (1, 1, "q"), (1, 2, "p"), (1, 2, "q"), (2, 3, None)]


def test_flattened_documents_empty_top_level_path_has_no_rows():
    assert rows(PEOPLE_COLUMNS, {"people": []}, "$.people;$.people.vehicles", "FLATTENEDDOCUMENTS") == []


def test_flattened_repeat_count_counts_the_top_level_path():
    mapper = compile_mapper(PEOPLE_COLUMNS, repeat_paths="$.people;$.people.vehicles",
                            data_model="FLATTENEDDOCUMENTS")
    assert mapper.repeat_count(parse_document(json.dumps(PEOPLE).encode(), "json")) == 3


# ---------------------------------------------------------------------------------------- RELATIONAL
# CData's relational model (pg_RelationalDataModel.htm): one table per path, `_id` its key, `<parent>_id` the
# key of the parent element. A profile is one table: the last path listed, the others its ancestors.

def test_relational_child_table_keys_and_foreign_keys():
    assert "RELATIONAL" in SUPPORTED_DATA_MODELS
    cols = [col("_id"), col("people_id"), col("type", "/json/people/vehicles/type"), col("owner", "/json/people/name"),
            col("source", "/json/source")]
    got = rows(cols, PEOPLE, "$.people;$.people.vehicles", "Relational")
    # Ann (key 1) has two vehicles; Bob (2) none; Cy (3) no vehicles array: a child table has no row for them
    assert got == [(1, 1, "car", "Ann", "crm"), (2, 1, "bike", "Ann", "crm")]


def test_relational_parent_table_keys_agree_with_the_child_tables_foreign_keys():
    parent = rows([col("_id"), col("name")], PEOPLE, "$.people", "RELATIONAL")
    assert parent == [(1, "Ann"), (2, "Bob"), (3, "Cy")]
    grandchild = rows([col("_id"), col("vehicles_id"), col("people_id"), col("date")], PEOPLE,
                      "$.people;$.people.vehicles;$.people.vehicles.maintenance", "RELATIONAL")
    assert grandchild == [(1, 1, 1, "2020-01-01"), (2, 1, 1, "2021-01-01")]
    vehicles = rows([col("_id"), col("people_id"), col("type")], PEOPLE, "$.people;$.people.vehicles", "RELATIONAL")
    # the join of the three tables holds: maintenance.vehicles_id -> vehicles._id -> people._id
    by_id = {v[0]: v for v in vehicles}
    assert [(parent[by_id[g[1]][1] - 1][1], by_id[g[1]][2], g[3]) for g in grandchild] == [
        ("Ann", "car", "2020-01-01"), ("Ann", "car", "2021-01-01")]


def test_relational_keys_count_on_across_pages_of_one_run():
    mapper = compile_mapper([col("_id"), col("people_id"), col("type")], repeat_paths="$.people;$.people.vehicles",
                            data_model="RELATIONAL")
    page = parse_document(json.dumps(PEOPLE).encode(), "json")
    assert list(mapper.rows(page)) == [(1, 1, "car"), (2, 1, "bike")]
    assert list(mapper.rows(page)) == [(3, 4, "car"), (4, 4, "bike")]


def test_relational_xml():
    body = (b"<root><people><name>A</name><vehicles><type>car</type></vehicles><vehicles><type>van</type>"
            b"</vehicles></people><people><name>B</name></people><people><name>C</name><vehicles><type>bike"
            b"</type></vehicles></people></root>")
    got = rows([col("_id"), col("people_id"), col("type"), col("owner", "/root/people/name")], body,
               "/root/people;/root/people/vehicles", "RELATIONAL", kind="xml")
    assert got == [(1, 1, "car", "A"), (2, 1, "van", "A"), (3, 3, "bike", "C")]


def test_relational_paths_must_be_one_chain():
    with pytest.raises(ProfileError) as err:
        compile_mapper([col("_id")], repeat_paths="$.people;$.orders", data_model="RELATIONAL")
    assert "'$.people' is not an ancestor of the table path '$.orders'" in str(err.value)
    with pytest.raises(ProfileError, match="unknown DataModel 'TABLE'"):
        compile_mapper([col("id")], repeat_paths="$.a", data_model="TABLE")


def test_bad_column_path_is_a_profile_error_with_the_column_location():
    with pytest.raises(ProfileError) as err:
        compile_mapper([col("id", "/json/a[x=1]")], repeat_paths="$.a")
    assert err.value.loc == LOC
    assert str(err.value).startswith("test.rsd:3:5: column 'id': unsupported path '/json/a[x=1]'")


# ------------------------------------------------------------------------------------------------- XML

JOBS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Job Total="2" xmlns:x="urn:x">
  <Count>2</Count>
  <Item id="a1"><Job.P_Id>1</Job.P_Id><Job.P_Owner><User><User.P_Id>10</User.P_Id></User></Job.P_Owner>
    <x:Memo/></Item>
  <Item id="a2"><Job.P_Id>2</Job.P_Id><Job.P_Owner><User><User.P_Id>20</User.P_Id></User></Job.P_Owner>
    <x:Memo>hi &amp; bye</x:Memo><Tag>t1</Tag><Tag>t2</Tag></Item>
</Job>"""

JOB_COLUMNS = [
    col("Id", "/Job/Item/Job.P_Id"), col("Owner", "/Job/Item/Job.P_Owner/User/User.P_Id"),
    col("Memo", "/Job/Item/x:Memo"), col("ItemId", "@id"), col("Count", "/Job/Count"),
    col("OwnerXml", "Job.P_Owner/User", value_format="aggregate"), col("Tag", "Tag"), col("Total", "/Job/@Total"),
    col("Job.P_Id"),
]
JOB_ROWS = [
    ("1", "10", None, "a1", "2", "<User><User.P_Id>10</User.P_Id></User>", None, "2", "1"),
    ("2", "20", "hi & bye", "a2", "2", "<User><User.P_Id>20</User.P_Id></User>", '["t1","t2"]', "2", "2"),
]


@pytest.mark.parametrize("repeat", ["/Job/Item", "/Job/Item[@id]", "//Item", None])
def test_xml_rows_absolute_relative_attributes_namespaces(repeat):
    assert rows(JOB_COLUMNS, JOBS, repeat, kind="xml") == JOB_ROWS


def test_xml_element_with_children_is_its_xml_text():
    got = rows([col("owner", "Job.P_Owner")], JOBS, "/Job/Item", kind="xml")
    assert got[0] == ("<Job.P_Owner><User><User.P_Id>10</User.P_Id></User></Job.P_Owner>",)


def test_xml_wildcard_repeat_and_atom_style_relative_paths():
    feed = b"""<feed xmlns="http://www.w3.org/2005/Atom" xmlns:m="urn:m" xmlns:d="urn:d">
      <entry><content><m:properties><d:ID>1</d:ID><d:Name>A</d:Name></m:properties></content></entry>
      <entry><content><m:properties><d:ID>2</d:ID><d:Name></d:Name></m:properties></content></entry>
    </feed>"""
    cols = [col("ID", "content/properties/ID"), col("Name", "content/m:properties/d:Name")]
    assert rows(cols, feed, "/feed/*", kind="xml") == [("1", "A"), ("2", None)]
    assert rows(cols, feed, "/feed/entry", kind="xml") == [("1", "A"), ("2", None)]


def test_xml_repeat_element_root_is_one_row():
    token = b"<Authentication><AccessToken>xyz</AccessToken><Code/></Authentication>"
    cols = [col("access_token", "/Authentication/AccessToken"), col("code", "/Authentication/Code"),
            col("rel", "AccessToken")]
    assert rows(cols, token, "/", kind="xml") == [("xyz", None, "xyz")]


def test_xml_flattened_documents():
    body = b"""<r><order><no>1</no><line><sku>a</sku></line><line><sku>b</sku></line></order>
              <order><no>2</no></order></r>"""
    cols = [col("no", "/r/order/no"), col("sku", "/r/order/line/sku")]
    assert rows(cols, body, "/r/order;/r/order/line", "FLATTENEDDOCUMENTS", kind="xml") == [
        ("1", "a"), ("1", "b"), ("2", None)]


def test_xml_profile_on_json_document_and_json_profile_on_xml_document():
    mapper = compile_mapper([col("id")], repeat_paths="$.items", kind="json")
    assert list(mapper.rows(parse_document(b"<x><items><id>1</id></items><items><id>2</id></items></x>", "xml"))) \
        == []  # `$.items` in XML is `/items`: no root element named items
    mapper = compile_mapper([col("id")], repeat_paths="$.x.items", kind="json")
    assert list(mapper.rows(parse_document(b"<x><items><id>1</id></items><items><id>2</id></items></x>", "xml"))) \
        == [("1",), ("2",)]


# ------------------------------------------------------------------------------------------------- CSV

def test_csv_maps_like_an_array_of_objects():
    body = b"\xef\xbb\xbfid,name,note\n1,Ann,\n2,\"B, b\",x\n\n3\n"
    assert rows([col("id", type="int"), col("name"), col("note")], body, kind="csv") == [
        ("1", "Ann", None), ("2", "B, b", "x"), ("3", None, None)]


# ------------------------------------------------------------------------------------ invalid documents

SOURCE = "GET http://api.test/x page 3"


@pytest.mark.parametrize("body, message", [
    (b'{"records":[{"id":1},{"name":"abc',
     "response of GET http://api.test/x page 3 is not valid JSON: Unterminated string starting at line 1 "
     "column 30 (body of 33 bytes ends early)"),
    (b'{"records":[{"id":1},',
     "response of GET http://api.test/x page 3 is not valid JSON: Expecting value at line 1 column 22 "
     "(body of 21 bytes ends early)"),
    (b'{"a": tru',
     "response of GET http://api.test/x page 3 is not valid JSON: Expecting value at line 1 column 7 "
     "(body of 9 bytes ends early)"),
    (b'{"a": 1} x',
     "response of GET http://api.test/x page 3 is not valid JSON: Extra data at line 1 column 10 (body of 10 bytes)"),
    (b"<html>oops</html>",
     "response of GET http://api.test/x page 3 is not valid JSON: Expecting value at line 1 column 1 "
     "(body of 17 bytes)"),
    (b"",
     "response of GET http://api.test/x page 3 is empty (0 bytes); expected JSON"),
    (b'{"a":"\xff"}',
     "response of GET http://api.test/x page 3 is not valid JSON: undecodable byte 0xff at byte offset 6 "
     "(utf-8; body of 9 bytes)"),
])
def test_invalid_json_bodies(body, message):
    with pytest.raises(RunError) as err:
        parse_document(body, "json", source=SOURCE)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("body, message", [
    (b"<a><b>1</b><b>2",
     "response of GET http://api.test/x page 3 is not valid XML: Premature end of data in tag <b> (opened on "
     "line 1) at line 1 column 16 (body of 15 bytes ends early)"),
    (b"<a>\n<b>1</b></a",
     "response of GET http://api.test/x page 3 is not valid XML: expected '>' at line 2 column 12 "
     "(body of 15 bytes ends early)"),
    (b"<a></b>",
     "response of GET http://api.test/x page 3 is not valid XML: Opening and ending tag mismatch: a line 1 and b "
     "at line 1 column 8 (body of 7 bytes)"),
])
def test_invalid_xml_bodies(body, message):
    with pytest.raises(RunError) as err:
        parse_document(body, "xml", source=SOURCE)
    assert str(err.value) == message


def test_xml_parser_does_not_expand_entities_or_fetch_dtds():
    body = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r><v>&e;</v></r>"""
    doc = parse_document(body, "xml")
    assert compile_value_path("/r/v", "xml")(doc) is None  # the reference stays unexpanded: no text


def test_invalid_csv_body():
    with pytest.raises(RunError, match=r"^response is not valid CSV: unexpected end of data at line 2$"):
        parse_document(b'a,b\n1,"x', "csv")


# ---------------------------------------------------------------------------------------- value paths

@pytest.mark.parametrize("path, expected", [
    ("$.access_token", "abc"), ("/json/access_token", "abc"), ("access_token", "abc"),
    ("$.meta.next", "https://x/2"), ("/json/meta/total", 42), ("$.meta.more", False),
    ("$.missing", None), ("/json/meta/missing/deeper", None), ("$.data.id", 1), ("$.data[1].id", 2),
    ("$.meta", '{"next":"https://x/2","total":42,"more":false}'), ("$.data[?(@.id > 1)].id", 2),
])
def test_compile_value_path_json(path, expected):
    doc = parse_document(json.dumps({"access_token": "abc", "meta": {"next": "https://x/2", "total": 42,
                                     "more": False}, "data": [{"id": 1}, {"id": 2}]}).encode(), "json")
    assert compile_value_path(path, "json")(doc) == expected


def test_compile_value_path_xml():
    doc = parse_document(b"<Authentication><AccessToken>t0k</AccessToken><Item n='1'/><Item n='2'/>"
                         b"</Authentication>", "xml")
    assert compile_value_path("/Authentication/AccessToken", "xml")(doc) == "t0k"
    assert compile_value_path("/Authentication/Item/@n", "xml")(doc) == "1"
    assert compile_value_path("/Authentication/Nope", "xml")(doc) is None
    assert compile_value_path("AccessToken", "xml")(doc) == "t0k"
    assert compile_value_path("count(/Authentication/Item)", "xml")(doc) == 2.0


@pytest.mark.parametrize("path, kind, error", [
    ("$.a[", "json", "invalid JSONPath '$.a[': '[' at offset 3 is never closed"),
    ("$.results)", "json", "invalid JSONPath '$.results)': ')' at offset 9 closes nothing"),
    ("/json/results/x)", "json", "invalid path '/json/results/x)': ')' at offset 15 closes nothing"),
    ("/a/b)", "xml", "invalid path '/a/b)': ')' at offset 4 closes nothing"),
    ("$.a[?(@.b ==]", "json", "invalid JSONPath"),
    ("/json/a/@id", "json", "attributes (@id) exist only in XML documents"),
    ("/a/b[", "xml", "invalid path '/a/b[': '[' at offset 4 is never closed"),
    ("/a/b[1]]", "xml", "invalid path '/a/b[1]]': ']' at offset 7 closes nothing"),
    ("", "json", "empty path"),
    ("$.a;$.a.b[", "json", "invalid JSONPath '$.a.b['"),
])
def test_validate_path_reports_errors(path, kind, error):
    message = validate_path(path, kind)
    assert message is not None and error in message


@pytest.mark.parametrize("path, kind", [
    ("$.records", "json"), ("$.", "json"), ("/json/data/entity/employments/*/employer/name", "json"),
    ("$.people;$.people.vehicles", "json"), ("$..id", "json"), ("/json//id", "json"), ("value[0]", "json"),
    ("/Job/Item", "xml"), ("/", "xml"), ("/feed/*", "xml"), ("//Item[@id='x']", "xml"),
])
def test_validate_path_accepts_valid_paths(path, kind):
    assert validate_path(path, kind) is None


# ---------------------------------------------------------------------------------------------- types

@pytest.mark.parametrize("written, canonical", [
    ("string", "string"), ("String", "string"), ("str", "string"), ("strig", "string"), ("unknown", "string"),
    (None, "string"), ("int", "integer"), ("Integer", "integer"), ("long", "integer"), ("double", "number"),
    ("float", "number"), ("decimal", "number"), ("number", "number"), ("bool", "boolean"),
    ("BOOLEAN", "boolean"), ("date", "date"), ("datetime", "datetime"), ("timestamp", "datetime"),
    ("xs:dateTime", "datetime"),
])
def test_normalize_type(written, canonical):
    assert normalize_type(written) == canonical


def test_known_types_leave_out_misspellings():
    assert {"int", "integer", "long", "string", "datetime", "date", "bool", "boolean", "double", "decimal"} <= KNOWN_TYPES
    assert "strig" not in KNOWN_TYPES and "unknown" not in KNOWN_TYPES


@pytest.mark.parametrize("value, xs_type, expected", [
    ("abc", "string", "abc"), (3, "string", "3"), (1.5, "string", "1.5"), (True, "string", "true"),
    (False, "str", "false"), (None, "string", None), ('{"a":1}', "string", '{"a":1}'),
    (5, "int", 5), ("42", "integer", 42), (" -7 ", "long", -7), (3.0, "int", 3), ("1e3", "int", 1000),
    (True, "int", 1), ("", "int", None), (None, "int", None),
    (1.5, "double", 1.5), (3, "double", 3.0), ("2.50", "decimal", 2.5), ("-1e-2", "number", -0.01),
    ("", "double", None),
    (True, "bool", True), ("TRUE", "boolean", True), ("no", "bool", False), ("1", "bool", True), (0, "bool", False),
    ("Yes", "boolean", True), ("", "boolean", None),
    ("2024-01-02T03:04:05Z", "datetime", "2024-01-02T03:04:05Z"),
    ("2024-01-02T03:04:05.1234567+02:00", "datetime", "2024-01-02T03:04:05.1234567+02:00"),
    ("2024-01-02 03:04:05", "datetime", "2024-01-02T03:04:05"),
    ("2024-01-02", "datetime", "2024-01-02T00:00:00"),
    (1700000000, "datetime", "2023-11-14T22:13:20Z"), (1700000000123, "datetime", "2023-11-14T22:13:20.123000Z"),
    ("1700000000", "datetime", "2023-11-14T22:13:20Z"),
    ("/Date(1234567890000)/", "datetime", "2009-02-13T23:31:30Z"),
    ("/Date(1234567890000+0100)/", "datetime", "2009-02-14T00:31:30+01:00"),
    ("Tue, 02 Jan 2024 03:04:05 GMT", "datetime", "2024-01-02T03:04:05Z"),
    ("2024-01-02T23:04:05-05:00", "date", "2024-01-02"), ("2024-01-02", "date", "2024-01-02"),
    (1700000000, "date", "2023-11-14"), ("/Date(1234567890000)/", "date", "2009-02-13"),
    ("", "datetime", None), (None, "date", None),
    ("anything", "unknown", "anything"), (7, "strig", "7"),
])
def test_coerce_value_table(value, xs_type, expected):
    got = coerce_value(value, xs_type, "c")
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, xs_type, message", [
    ("abc", "int", "column 'c': cannot convert 'abc' to integer (xs:type=\"int\")"),
    (1.5, "integer", "column 'c': cannot convert 1.5 to integer: it has a fractional part"),
    ("1_000", "integer", "column 'c': cannot convert '1_000' to integer"),
    ("nan", "double", "column 'c': cannot convert 'nan' to number (xs:type=\"double\")"),
    ("maybe", "bool", "column 'c': cannot convert 'maybe' to boolean (xs:type=\"bool\"): expected true/false, "
                      "1/0 or yes/no"),
    (2, "boolean", "column 'c': cannot convert 2 to boolean: only 1 and 0 are booleans"),
    ("Smith", "datetime", "column 'c': cannot convert 'Smith' to datetime: expected ISO 8601, epoch "
                          "seconds/milliseconds or /Date(ms)/"),
    ("2024-13-45", "date", "column 'c': cannot convert '2024-13-45' to date"),
    ("x" * 80, "int", "column 'c': cannot convert '" + "x" * 46 + "... to integer"),
    ('{"a":1}', "int", "column 'c': cannot convert '{\"a\":1}' to integer"),
])
def test_coercion_failures_raise_with_column_value_and_type(value, xs_type, message):
    with pytest.raises(CoercionError) as err:
        coerce_value(value, xs_type, "c")
    assert str(err.value).startswith(message)
    assert isinstance(err.value, RunError)


def test_compile_coercer_rows_and_error_modes():
    cols = [col("id", type="int"), col("name"), col("at", type="datetime"), col("ok", type="bool")]
    coerce = compile_coercer(cols)
    assert coerce(("1", 2, 1700000000, "yes")) == (1, "2", "2023-11-14T22:13:20Z", True)
    assert coerce((None, None, None, None)) == (None, None, None, None)
    with pytest.raises(CoercionError, match="column 'ok'"):
        coerce((1, "a", None, "perhaps"))
    keep = compile_coercer(cols, on_error="keep")
    assert keep(("x", "a", "soon", True)) == ("x", "a", "soon", True) and keep.failures == 2
    null = compile_coercer(cols, on_error="null")
    assert null(("x", "a", "soon", True)) == (None, "a", None, True) and null.failures == 2


def test_mapper_and_coercer_end_to_end():
    cols = [col("id", "/json/records/id", "integer"), col("score", type="string"),
            col("page", "/json/meta/page", "int"), col("ok", type="boolean")]
    mapper = compile_mapper(cols, repeat_paths="$.records")
    coerce = compile_coercer(cols)
    got = [coerce(r) for r in mapper.rows(parse_document(json.dumps(PAGE).encode(), "json"))]
    assert got == [(1, "1.5", 3, True), (2, "3", 3, False), (3, None, 3, None)]


# --------------------------------------------------------------------------------------- properties

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)), max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3), max_size=5))
def test_fast_key_path_equals_the_general_walk(records):
    body = {"r": records}
    fast = rows([col("a"), col("b"), col("c")], body, "$.r")
    # a document-level column turns the key fast path off: every column then goes through its closure
    general = rows([col("a", "/json/r/a"), col("b", "b"), col("c", "/json/r/c"), col("d", "/json/none")], body, "$.r")
    walked = [tuple(json_slow_getter(((KEY, k),))(rec) for k in "abc") for rec in records]
    expected = []
    for rec in records:
        expected.append(tuple(
            json.dumps(rec[k], ensure_ascii=False, separators=(",", ":")) if isinstance(rec.get(k), (dict, list))
            else rec.get(k) for k in "abc"))
    assert fast == expected
    assert [r[:3] for r in general] == expected == walked


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_truncated_json_is_always_a_one_line_run_error(value):
    body = json.dumps({"v": value, "pad": "x" * 5}).encode()
    for cut in (1, len(body) // 2, len(body) - 1):
        with pytest.raises(RunError) as err:
            parse_document(body[:cut], "json", source="GET u page 1")
        assert "\n" not in str(err.value) and str(err.value).startswith("response of GET u page 1 ")
