"""One home for every rule: the shared tables are defined once and everyone reads them (docs/contributing.md)."""
from __future__ import annotations

import sqlite3

import pytest

from rsd import paging
from rsd.check import check_profile
from rsd.engine.operations import OPERATIONS
from rsd.mapping.types import CANONICAL_TYPES, TYPE_ALIASES, coerce_value, normalize_type
from rsd.sinks import DATABASES, FORMATS, MODES, SinkColumn, open_sink
from rsd.sinks import arrow as arrow_sink
from rsd.sinks import duckdb as duckdb_sink
from rsd.sinks import postgres as pg_sink
from rsd.sinks import sqlite as sqlite_sink
from rsd.reader import read_text
from rsd.truth import FALSE_WORDS, TRUE_WORDS, parse_bool


def check_text(text: str, path: str):
    return check_profile(read_text(text, path))

# a value of each canonical type as text, and the Python type its coercion gives
SAMPLES = {"string": ("abc", str), "integer": ("42", int), "number": ("1.5", float), "boolean": ("true", bool),
           "date": ("2024-02-03", str), "datetime": ("2024-02-03T04:05:06Z", str)}
SQLITE_AFFINITY = {int: "INTEGER", float: "REAL", bool: "BOOLEAN", str: "TEXT"}
POSTGRES_FAMILY = {"string": "text", "integer": "bigint", "number": "double precision", "boolean": "boolean",
                   "date": "date", "datetime": "timestamp with time zone"}
DUCKDB_FAMILY = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
                 "datetime": "TIMESTAMP WITH TIME ZONE"}
ARROW_FAMILY = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool", "date": "date32[day]",
                "datetime": "timestamp[us, tz=UTC]"}


@pytest.mark.parametrize("alias", sorted(TYPE_ALIASES))
def test_every_alias_has_one_meaning_in_coercion_and_in_every_sink(alias):
    canonical = normalize_type(alias)
    assert canonical in CANONICAL_TYPES
    assert SinkColumn("c", alias).type == canonical  # the sinks read the same table
    text, python_type = SAMPLES[canonical]
    value = coerce_value(text, alias)
    assert type(value) is python_type
    assert sqlite_sink.SQL_TYPES[canonical] == SQLITE_AFFINITY[python_type] or canonical in ("date", "datetime")
    assert pg_sink.SQL_TYPES[canonical] == POSTGRES_FAMILY[canonical]
    assert duckdb_sink.SQL_TYPES[canonical] == DUCKDB_FAMILY[canonical]
    assert duckdb_sink.family(duckdb_sink.SQL_TYPES[canonical]) == canonical  # an existing table is accepted
    assert set(arrow_sink.ARROW_TYPES) == set(CANONICAL_TYPES)
    pytest.importorskip("pyarrow")
    assert str(arrow_sink.arrow_type(canonical)) == ARROW_FAMILY[canonical]
    batch = arrow_sink.BatchBuilder([SinkColumn("c", alias)])([(value,)])  # the coerced value fits its Arrow type
    assert str(batch.schema.types[0]) == ARROW_FAMILY[canonical] and batch.num_rows == 1


def test_bigint_and_real_columns_load_as_numbers_in_sqlite(tmp_path):
    db = tmp_path / "t.db"
    cols = [SinkColumn("id", "bigint", key=True), SinkColumn("amount", "real"), SinkColumn("n", "smallint")]
    with open_sink(f"sqlite:///{db}", None, cols, table="t") as sink:
        sink.write([(1, 2.5, 3)])
    conn = sqlite3.connect(db)
    types = [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(t)")]
    assert types == [("id", "INTEGER"), ("amount", "REAL"), ("n", "INTEGER")]
    assert conn.execute("SELECT typeof(id), typeof(amount) FROM t").fetchone() == ("integer", "real")


def test_one_truth_table():
    assert TRUE_WORDS.isdisjoint(FALSE_WORDS)
    for word in TRUE_WORDS:
        assert parse_bool(word.upper()) is True and coerce_value(word, "boolean") is True
    for word in FALSE_WORDS:
        assert parse_bool(f" {word} ") is False and coerce_value(word, "boolean") is False
    assert parse_bool("maybe") is None


def test_outputs_table_drives_the_command_line():
    from rsd.cli import build_parser
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]
    choices = {a.dest: a.choices for a in run._actions if a.choices}
    assert tuple(choices["format"]) == tuple(FORMATS)
    assert tuple(choices["mode"]) == MODES
    assert {"sqlite", "postgres", "duckdb"} <= set(DATABASES)
    assert FORMATS["parquet"].binary and DATABASES["duckdb"].schemes == ("duckdb",)


TOY_PROFILE = """<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="T" desc="t">
    <attr name="id" xs:type="string" other:xPath="/json/items/id"/>
  </api:info>
  <api:set attr="EnablePaging" value="true"/>
  <api:set attr="nextpageheader" value="X-Next-Page"/>
  <api:script method="GET">
    <api:set attr="URI" value="https://api.example.com/items"/>
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>
</api:script>
"""


@pytest.fixture
def toy_strategy():
    """A strategy that follows a URL in a response header, registered through the registry alone."""
    before = list(paging.STRATEGIES)

    @paging.strategy
    class HeaderUrlPager(paging.Pager):
        strategy = "next URL header"
        selector = "nextpageheader"

        @classmethod
        def build(cls, get, hints, compile_path):
            pager = cls(hints)
            pager.header = get(cls.selector)
            return pager

        def _advance(self, page):
            nxt = page.headers.get(self.header)
            return paging.PageRequest(url=nxt) if nxt else self._stop(paging.STOP_NO_NEXT)

    yield HeaderUrlPager
    paging.STRATEGIES[:] = before


def test_a_strategy_added_through_the_registry_alone_is_checked_and_built(toy_strategy):
    diags = check_text(TOY_PROFILE, "toy.rsd")
    assert [d.code for d in diags] == []  # no RSD501: the registry says it advances
    attrs = {"enablepaging": "true", "nextpageheader": "X-Next-Page"}
    pager = paging.build_pager(attrs, lambda p: (lambda doc: None))
    assert isinstance(pager, toy_strategy)
    assert "nextpageheader" in paging.paging_attrs()
    two = dict(attrs, pagenumberparam="page")
    with pytest.raises(Exception, match="contradictory paging"):
        paging.build_pager(two, lambda p: (lambda doc: None))
    assert [d.code for d in check_text(TOY_PROFILE.replace(
        '<api:set attr="EnablePaging"', '<api:set attr="pagenumberparam" value="page"/><api:set attr="EnablePaging"'),
        "toy.rsd")] == ["RSD502"]


def test_without_the_strategy_the_same_profile_warns(toy_strategy):
    paging.STRATEGIES.remove(toy_strategy)
    assert [d.code for d in check_text(TOY_PROFILE, "toy.rsd")] == ["RSD501"]


def test_operations_table_is_what_check_and_run_read():
    runs = {s.name for s in OPERATIONS.values() if s.run is not None}
    assert {"jsonproviderGet", "xmlproviderGet", "csvproviderGet"} <= runs
    for spec in OPERATIONS.values():
        assert check_text(TOY_PROFILE.replace("jsonproviderGet", spec.name).replace(
            '<api:set attr="nextpageheader" value="X-Next-Page"/>', '<api:set attr="pagenumberparam" value="p"/>'),
            "op.rsd") == [] or not spec.request
