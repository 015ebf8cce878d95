"""The per-record fast path (issue #8) writes exactly the bytes of the plain path it replaces.

orjson parses bodies and writes JSON Lines, JSON and aggregate JSON text; these properties pin that its output is
the json module's, byte for byte, for any value a row or a document can hold (and that the plain path is taken where
the two would differ).
"""
from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rsd.mapping.documents import parse_document
from rsd.mapping.paths import _dumps, _json_dumps
from rsd.sinks.columns import SinkColumn
from rsd.sinks.files import _JsonEncoding

# text that stresses the separator trick: quotes, colons, commas, backslashes, braces, controls, non-ASCII
_TRICKY = st.text(alphabet=st.sampled_from(list('":,\\{}[] ab\x00\x1f\u2028é\U0001f600')) | st.characters(blacklist_categories=("Cs",)),  # no lone surrogates: no UTF-8 file holds one
                  max_size=12)
_NUMBERS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e-5, 1e-7, 1e16, 1e-4, 0.0, -0.0, 3.0])
_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | _NUMBERS | _TRICKY
            | st.lists(st.integers(), max_size=2))  # a nested list: a row a library caller built

COLUMNS = [SinkColumn("id", "integer"), SinkColumn("name", "string"), SinkColumn("score", "number"),
           SinkColumn("flag", "boolean"), SinkColumn("any", "string")]


@settings(max_examples=400, deadline=None)
@given(st.tuples(st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.none(), _TRICKY | st.none(),
                 _NUMBERS | st.none(), st.booleans() | st.none(), _SCALARS))
def test_json_lines_rows_are_the_json_modules_bytes(row):
    enc = _JsonEncoding(COLUMNS)
    assert enc.lines([row]) == [enc.encode(row).encode("utf-8")]


@settings(max_examples=100, deadline=None)
@given(st.lists(_TRICKY, min_size=1, max_size=4))
def test_any_column_names_give_the_json_modules_bytes(names):
    columns = [SinkColumn(n or "x", "string") for n in names]
    row = tuple(f"v{i}" for i in range(len(columns)))
    enc = _JsonEncoding(columns)
    assert enc.lines([row]) == [enc.encode(row).encode("utf-8")]


_JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
                     | st.floats(allow_nan=False, allow_infinity=False) | _TRICKY,
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(_JSON, max_size=3) | st.dictionaries(_TRICKY, _JSON, max_size=3))
def test_aggregate_json_text_is_the_json_modules_text(value):
    assert _dumps(value) == _json_dumps(value)


@settings(max_examples=200, deadline=None)
@given(_JSON)
def test_bodies_parse_to_the_same_values_as_with_json(value):
    body = json.dumps({"records": [value]}, ensure_ascii=False).encode("utf-8")
    assert parse_document(body, "json").root == json.loads(body)


def test_what_orjson_refuses_json_still_reads():
    doc = parse_document(b'\xef\xbb\xbf{"a": NaN, "b": 123456789012345678901234567890}', "json")
    assert math.isnan(doc.root["a"]) and doc.root["b"] == 123456789012345678901234567890


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.none(), _TRICKY | st.none(),
                          _NUMBERS | st.none(), st.booleans() | st.none(), _SCALARS), max_size=5),
       st.sampled_from([b"\n", b",\n"]))
def test_a_page_written_in_one_call_is_its_rows_written_one_by_one(rows, sep):
    # JSON Lines and JSON write a page with one orjson call (`_JsonEncoding.page`); the bytes are those of the rows
    enc = _JsonEncoding(COLUMNS)
    assert enc.page(rows, sep) == sep.join(enc.encode(row).encode("utf-8") for row in rows)


# -- the row mapping converts values as it maps them (Mapper.typed_rows): the rows of mapping, then converting ---------
_TYPED_COLUMNS = (("id", "integer", "id"), ("name", "string", "name"), ("city", "string", "address/city"),
                  ("at", "datetime", "at"), ("day", "date", "day"), ("on", "boolean", "on"),
                  ("score", "double", "score"), ("tags", "string", "tags"))
_DATES = st.sampled_from(["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123+02:00", "2024-01-02T03:04:05",
                          "2024-02-30T00:00:00Z", "2024-01-02 03:04:05", "2024-01-02", "", " ", "x" * 19,
                          "2024-01-02T03:04:05\n", "1700000000", "/Date(1700000000000)/"]) | st.integers(0, 2 ** 40)
_VALUES = st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | _NUMBERS | _TRICKY


def _record():
    return st.fixed_dictionaries({}, optional={
        "id": _VALUES | st.sampled_from(["12", "1.0", "1.5", " 7 "]), "name": _VALUES | _JSON,
        "address": st.none() | st.fixed_dictionaries({}, optional={"city": _VALUES | _JSON}) | _JSON,
        "at": _DATES | _VALUES, "day": _DATES | _VALUES, "on": _VALUES | st.sampled_from(["yes", "0", "maybe"]),
        "score": _VALUES | st.sampled_from(["1.5", "nan"]), "tags": _JSON})


@settings(max_examples=400, deadline=None)
@given(st.lists(_record() | _JSON, max_size=4))
def test_rows_converted_as_they_are_mapped_are_the_rows_mapped_then_converted(records):
    from rsd.errors import Loc
    from rsd.mapping import CoercionError, compile_coercer, compile_mapper
    from rsd.mapping.types import TypedRows
    from rsd.reader.ast import Column

    loc = Loc("t.rsd", 1, 1)
    columns = tuple(Column(name=n, loc=loc, type=t, xpath=f"/json/r/{p}",
                           value_format="aggregate" if n == "tags" else None) for n, t, p in _TYPED_COLUMNS)
    mapper = compile_mapper(columns, repeat_paths="$.r", kind="json")
    coercer = compile_coercer(columns)
    doc = parse_document(json.dumps({"r": records}).encode("utf-8"), "json")
    try:
        expected: object = [coercer(row) for row in mapper.rows(doc)]
    except CoercionError as e:
        expected = str(e)
    got = mapper.typed_rows(doc, coercer)
    if type(got) is TypedRows:  # converted in the same pass: the same rows
        assert got == expected
    else:  # the page takes the slow path: the raw rows, which convert (or fail) exactly as before
        try:
            assert [coercer(row) for row in got] == expected
        except CoercionError as e:
            assert str(e) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.none(), _TRICKY | st.none(),
                          _NUMBERS | st.none(), st.booleans() | st.none(), _TRICKY | st.none()), max_size=5),
       st.sampled_from([b"\n", b",\n"]))
def test_a_page_of_a_runs_typed_rows_is_written_as_its_rows_one_by_one(rows, sep):
    # a run hands its sink TypedRows (each value its column's type or null): the page skips the checks such rows
    # cannot need, and its bytes are still those of the rows written one by one
    from rsd.mapping.types import TypedRows

    enc = _JsonEncoding(COLUMNS)
    assert enc.page(TypedRows(rows), sep) == sep.join(enc.encode(row).encode("utf-8") for row in rows)


@settings(max_examples=150, deadline=None)
@given(st.lists(_TRICKY | st.sampled_from(["%", "%b", "%%s", "a"]), min_size=1, max_size=4),
       st.integers(min_value=1, max_value=3))
def test_a_typed_page_with_any_column_names_is_its_rows_one_by_one(names, n):
    # the page is a row template with the names written in (`%` doubled) and the values put in: names holding
    # `%`, quotes or controls, and a name that repeats (the object keeps one member), give json's bytes too
    from rsd.mapping.types import TypedRows

    columns = [SinkColumn(name or "x", "string") for name in names]
    rows = [tuple(f"v{r}{i}%s" for i in range(len(columns))) for r in range(n)]
    enc = _JsonEncoding(columns)
    assert enc.page(TypedRows(rows), b"\n") == b"\n".join(enc.encode(row).encode("utf-8") for row in rows)
