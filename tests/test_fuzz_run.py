"""Random profiles (valid structure, arbitrary values) never crash `rsd plan` or a run: every failure is an
`RsdError` with an exit code, never a Python exception that would print a traceback."""
from __future__ import annotations

import json
import random

import pytest

from rsd import api
from rsd.errors import RsdError
from rsd.reader.ast import KEYWORDS

VALUES = ["[x]", "[_input.rows@next | def('1') | add(1)]", "[a | split(',', 2)]", "[_input.[k]]", "\\[", "[x | add()]",
          "$.records", "/json/records/id", "/r/item", "true", "false", "", "0", "-1", "page;1", "$.next", "*",
          "LinkHeader", "[_response.status]", "DOCUMENT", "FLATTENEDDOCUMENTS", "1..3", "a..c", "x,y", "{q}",
          "[x] == 1", "[x] &lt; 2", "GET", "_input.*", "a#", "a#2", "rows@next"]
CONDITIONALS = ("if", "check", "equals", "notequals", "exists", "notnull", "null")
SETTABLE = ["URI", "JSONPath", "XPath", "EnablePaging", "pagenumberparam", "pageoffsetparam", "nextpageurlpath",
            "nextpagetokenpath", "maxpages", "DataModel", "rows@next", "x", "a#", "Header:Name#1", "ElementMapPath#1",
            "ElementMapName#1"]


def _statement(rnd: random.Random, depth: int, parent: str = "", in_loop: bool = False) -> str:
    choices = [k for k in KEYWORDS if k not in ("script", "include", "setc")
               and not (k == "else" and parent not in CONDITIONALS)
               and not (k in ("case", "default") and parent != "select")
               and not (k in ("break", "continue", "first", "last") and not in_loop)
               and not (k in ("catch", "finally") and parent not in ("try", "call"))]
    k = rnd.choice(choices)
    spec = KEYWORDS[k]
    names = list(spec.required) + ([rnd.choice(spec.one_of)] if spec.one_of else [])
    names += [o for o in spec.optional if o not in ("*", "action") and rnd.random() < 0.3]

    def value(name):
        if name == "operator":
            return rnd.choice(["null", "notnull", "hasvalue", "equals", "notequals", "lessthan", "greaterthan"])
        if name == "match":
            return rnd.choice(["exact", "regex", "glob"])
        if name == "op":
            return rnd.choice(["jsonproviderGet", "xmlproviderGet"])
        if name == "attr" and k == "set" and rnd.random() < 0.5:
            return rnd.choice(SETTABLE)
        return rnd.choice(VALUES)

    attrs = " ".join(f'{n}="{value(n)}"' for n in dict.fromkeys(names))
    if in_loop and k in CONDITIONALS and rnd.random() < 0.2:
        attrs += f' action="{rnd.choice(["break", "continue"])}"'
    loop = in_loop or k in ("call", "enum")
    body = "".join(_statement(rnd, depth + 1, k, loop) for _ in range(rnd.randint(0, 2))) if depth < 3 else ""
    return f"<api:{k} {attrs}>{body}</api:{k}>"


def _profile(rnd: random.Random, uri: str) -> str:
    statements = "".join(_statement(rnd, 0) for _ in range(rnd.randint(0, 4)))
    method = "".join(_statement(rnd, 0) for _ in range(rnd.randint(1, 4)))
    body = "".join(_statement(rnd, 1, "call", True) for _ in range(rnd.randint(0, 2)))
    return f'''<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="x" xmlns:other="o">
<api:info title="F"><attr name="id" xs:type="{rnd.choice(['integer', 'string', 'bool', 'date'])}"
  other:xPath="{rnd.choice(['/json/records/id', 'id', '/r/item/id'])}"/><attr name="n"/><input name="k"/></api:info>
<api:set attr="URI" value="{uri}"/>{statements}
<api:script method="GET">{method}<api:call op="{rnd.choice(['jsonproviderGet', 'xmlproviderGet'])}">{body}<api:push/></api:call></api:script>
</api:script>'''


@pytest.mark.parametrize("seed", range(4))
def test_random_profiles_fail_only_with_rsd_errors(tmp_path, seed):
    rnd = random.Random(seed)
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"records": [{"id": i, "n": f"x{i}"} for i in range(5)], "next": None}))
    xml = tmp_path / "d.xml"
    xml.write_text("<r><item><id>1</id><n>a</n></item><item><id>2</id><n/></item></r>")
    ran = 0
    for i in range(60):
        path = tmp_path / f"F{i}.rsd"
        path.write_text(_profile(rnd, rnd.choice([data, xml]).as_uri()))
        for attempt in (lambda: api.plan(str(path), inputs={"k": "x"}),
                        lambda: api.collect(str(path), inputs={"k": "x"}, max_pages=5, limit=50)):
            try:
                attempt()
                ran += 1
            except RsdError as e:
                assert e.exit_code in (1, 2)
    assert ran > 0  # some of them run all the way


# -- structural mutations (issue #12, finding 9) --------------------------------------------------------------------
def test_structural_mutants_of_real_profiles_never_crash_check_or_plan(tmp_path):
    """1,000 mutants of the bundled and check samples (tags swapped or replaced, attributes dropped or moved,
    elements deleted, duplicated, moved or nested up to 1,000 deep, values given unbalanced brackets, the text cut
    off): `rsd check` and `rsd plan` end each with diagnostics or an `RsdError`, within 5 s, and every 100th also
    through the command line, with no traceback. `python tests/fuzz_profiles.py` runs 10,000 (and the public corpus)."""
    try:
        import fuzz_profiles as fuzz
    except ImportError:  # tests/ imported as a package
        from tests import fuzz_profiles as fuzz
    texts = fuzz.seeds()
    assert len(texts) >= 40
    failures = []
    for i, text in enumerate(fuzz.mutants(texts, 1000, seed=12)):
        problems = fuzz.exercise(text, tmp_path)
        if i % 100 == 0:
            problems += fuzz.through_cli(tmp_path / "M.rsd")
        if problems:
            failures.append(f"mutant {i}: {'; '.join(problems)}\n{text[:2000]}")
    assert not failures, "\n\n".join(failures[:5])
