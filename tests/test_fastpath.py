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
