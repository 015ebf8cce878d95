"""The public corpus (compat-corpus.md), fetched outside the repo into /tmp/rsd-corpus: every GET script's
first request resolves (`rsd plan`) given the connection options the profile validates. Skipped when absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from rsd import api
from rsd.reader import ast, read_paths

CORPUS = Path("/tmp/rsd-corpus")
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the public corpus is not in /tmp/rsd-corpus "
                                "(see bench/fetch_corpus.md)")


def _validated_options(nodes, out):
    for n in nodes:
        if isinstance(n, ast.Validate):
            attr = n.value("attr") or ""
            if attr.lower().startswith("_connection."):
                name = attr.split(".", 1)[1]
                out.append((name, f"opt-{name}"))
        _validated_options(n.body, out)
    return out


def _profiles():
    if not CORPUS.is_dir():
        return []
    return [p for p in read_paths([str(CORPUS)]) if p.method("GET") is not None
            and any(isinstance(n, ast.Call) or isinstance(n, ast.Push) for n in _walk(p.method("GET").body))]


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n.body)


@pytest.mark.parametrize("profile", _profiles(), ids=lambda p: p.path.split("rsd-corpus/")[-1])
def test_plan_resolves_first_request(profile):
    options = _validated_options(list(profile.statements) + list(profile.method("GET").body), [])
    inputs = {i.name: f"in-{i.name}" for i in (profile.info.inputs if profile.info else ())
              if i.name.lower() != "rows@next"}
    # a column in the WHERE clause reaches the script as an input too (CData's SELECT execution):
    # give the ones the script insists on (api:null/api:validate of _input.X)
    for n in _walk(list(profile.statements) + list(profile.method("GET").body)):
        attr = (n.value("attr") or "") if isinstance(n, (ast.Null, ast.Validate)) else ""
        if attr.lower().startswith("_input."):
            inputs.setdefault(attr.split(".", 1)[1], "in-" + attr.split(".", 1)[1])
    plan = api.plan(profile, options=options, inputs=inputs)
    req = plan["request"]
    assert req is not None, "the GET script made no request"
    assert req["url"].startswith(("http://", "https://")), req["url"]
    for name, value in options:
        assert value not in req["url"] or "***" in req["url"] or name.lower() not in ("apikey", "apitoken")
