"""docs/contributing.md stays true: its examples run, the files it names exist, and every section of the reference
documents (docs/reference/) that the code and docs cite exists in the committed copy."""
from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest

from rsd import paging
from rsd.check import check_profile
from rsd.reader import read_text

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "contributing.md"
REFERENCE = ROOT / "docs" / "reference"

_EXAMPLE = re.compile(r"^```python\n# example: ([a-z ]+)\n(.*?)^```$", re.S | re.M)


def _examples() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in _EXAMPLE.finditer(GUIDE.read_text(encoding="utf-8"))}


def test_the_guide_has_an_example_for_each_registry_it_teaches():
    assert sorted(_examples()) == ["formatter", "output", "paging strategy"]


def test_every_file_the_guide_names_exists():
    text = re.sub(r"^```.*?^```$", "", GUIDE.read_text(encoding="utf-8"), flags=re.S | re.M)  # prose only
    named = set(re.findall(r"`((?:rsd|tests|docs|samples|bench|grammar|\.ci)/[\w./-]*)`", text))
    named |= set(re.findall(r"\]\(((?!https?:)[\w./-]+\.md)\)", text))
    assert len(named) > 30
    missing = []
    for name in sorted(named):
        if "nnn" in name:  # a pattern: tests/check_samples/RSDnnn_what.rsd
            continue
        top = name.startswith(("rsd/", "tests/", "docs/", "samples/", "bench/", "grammar/", ".ci/"))
        base = ROOT if top else GUIDE.parent  # markdown links are relative to docs/
        if not (base / name).exists():
            missing.append(name)
    assert not missing, f"docs/contributing.md names files that do not exist: {missing}"


# --- the examples, run ----------------------------------------------------------------------------------------------

def test_formatter_example_registers_a_formatter_templates_and_check_use():
    from rsd.formatters import _registry
    from rsd.template import compile_template

    before_registry, before_names = dict(_registry._REGISTRY), list(_registry.PRIMARY_NAMES)
    try:
        exec(compile(_examples()["formatter"], "contributing.md:formatter", "exec"), {})

        class Scope:
            def resolve(self, name):
                return {"name": "abc"}.get(name)

        assert compile_template("[name | reverse]").render(Scope()) == "cba"
        profile = PROFILE.replace("[_connection.BaseURL]/items", "[_connection.BaseURL | reverse]").replace(
            '<api:set attr="nextpageheader" value="X-Next-Page"/>', "").replace(
            '<api:set attr="EnablePaging" value="true"/>', "")
        assert [d.code for d in check_profile(read_text(profile, "f.rsd"))] == []
        assert [d.code for d in check_profile(read_text(profile.replace("reverse", "revrse"), "f.rsd"))] == ["RSD202"]
    finally:
        _registry._REGISTRY.clear()
        _registry._REGISTRY.update(before_registry)
        _registry.PRIMARY_NAMES[:] = before_names


PROFILE = """<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Items" desc="items" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
    <attr name="name" xs:type="string" other:xPath="/json/items/name"/>
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/items"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:set attr="EnablePaging" value="true"/>
  <api:set attr="nextpageheader" value="X-Next-Page"/>
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>
</api:script>
"""


def _header_paged_api(environ, start_response):
    """Three pages of two items; every page but the last names the next one's URL in `X-Next-Page`."""
    from werkzeug.wrappers import Request, Response

    request = Request(environ)
    page = int(request.args.get("page", "1"))
    items = [{"id": page * 10 + i, "name": f"p{page}-{i}"} for i in range(2)]
    headers = {"X-Next-Page": f"{request.host_url}items?page={page + 1}"} if page < 3 else {}
    return Response(json.dumps({"items": items}), content_type="application/json", headers=headers)(
        environ, start_response)


@pytest.fixture
def guide_strategy():
    before = list(paging.STRATEGIES)
    namespace: dict = {}
    exec(compile(_examples()["paging strategy"], "contributing.md:paging", "exec"), namespace)
    yield namespace["HeaderUrlPager"]
    paging.STRATEGIES[:] = before


def test_paging_example_is_checked_and_runs_every_page(guide_strategy):
    import rsd
    from servers import serve

    assert [d.code for d in check_profile(read_text(PROFILE, "items.rsd"))] == []  # no RSD501: it advances
    with serve(_header_paged_api) as url:
        result = rsd.collect(read_text(PROFILE, "items.rsd"), options=[("BaseURL", url)])
    assert result.rows == [(10, "p1-0"), (11, "p1-1"), (20, "p2-0"), (21, "p2-1"), (30, "p3-0"), (31, "p3-1")]
    assert result.summary.pages == 3
    assert result.summary.stop_reason == paging.STOP_NO_NEXT


def test_without_the_example_strategy_the_profile_warns():
    assert [d.code for d in check_profile(read_text(PROFILE, "items.rsd"))] == ["RSD501"]


def test_output_example_adds_a_format_through_the_registry(tmp_path):
    from rsd.sinks import SinkColumn, open_sink
    from rsd.sinks.registry import FORMATS, Format

    code = _examples()["output"]
    line = re.search(r"^#\s+(Format\(.*\)),$", code, re.M).group(1)
    module = types.ModuleType("rsd.sinks.tsv")
    exec(compile(code, "contributing.md:output", "exec"), module.__dict__)
    sys.modules["rsd.sinks.tsv"] = module
    fmt = eval(line, {"Format": Format})
    FORMATS[fmt.name] = fmt
    try:
        out = tmp_path / "items.tsv"
        with open_sink(str(out), None, [SinkColumn("id", "integer"), SinkColumn("name", "string")], table="t") as s:
            s.write([(1, "a b"), (2, None)])
        assert out.read_text(encoding="utf-8") == "id\tname\n1\ta b\n2\t\n"
    finally:
        del FORMATS[fmt.name]
        del sys.modules["rsd.sinks.tsv"]


# --- citations of the reference documents ---------------------------------------------------------------------------

_CITE = re.compile(r"(?P<path>[\w./]*?)(?P<doc>rsd-format\.md|contract\.md|contract)\]?(?:\([^)]*\))?\s*"
                   r"(?P<secs>§\s*[\d.]+(?:\s*(?:[–,/-]|and)\s*§?\s*[\d.]+)*)")


def _headings(doc: str) -> set[str]:
    text = (REFERENCE / doc).read_text(encoding="utf-8")
    return {m.group(1).rstrip(".") for m in re.finditer(r"^#+\s+(\d+(?:\.\d+)*)\.?\s", text, re.M)}


def _cited_files() -> list[Path]:
    out = []
    for folder in ("rsd", "tests", "docs", "samples", "bench", "grammar"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.suffix in (".py", ".md", ".lark", ".rsd", ".toml") and REFERENCE not in p.parents \
                    and p != Path(__file__).resolve():
                out.append(p)
    return out + [ROOT / "README.md"]


def test_every_cited_section_of_the_reference_exists_in_the_committed_copy():
    sections = {"rsd-format.md": _headings("rsd-format.md"), "contract.md": _headings("contract.md")}
    assert {"5.4", "9.3", "13"} <= sections["rsd-format.md"] and {"1", "5", "11"} <= sections["contract.md"]
    wrong, count = [], 0
    for path in _cited_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in _CITE.finditer(text):
            count += 1
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            doc = m.group("doc") if m.group("doc").endswith(".md") else "contract.md"
            line_end = text.find("\n", m.start())
            context = text[max(0, text.rfind("\n", 0, m.start())):line_end]
            if "reference/" not in m.group("path") and "reference/" not in context:
                wrong.append(f"{where}: cite the committed copy, docs/reference/{doc} ({m.group(0)!r})")
            for sec in re.findall(r"[\d.]+", m.group("secs")):
                sec = sec.strip(".")
                if sec and sec not in sections[doc]:
                    wrong.append(f"{where}: {doc} has no section §{sec}")
    assert count >= 29
    assert not wrong, "\n".join(wrong)
