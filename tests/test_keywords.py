"""The keywords and items the documentation defines, one sample each (tests/keyword_samples/): every sample cites
the page it follows, says the documented behaviour and lists the rows a run must give (`expect:`, one JSON object a
line; `input: name=value`). Each sample runs against a small JSON API on 127.0.0.1 and must `rsd check` clean.

The API: `/items?n=N` answers `{"items": [{"name": "a"}, {"name": "b"}, ...]}` (N items, N may be 0) and
`/items/<name>/children` answers the children of an item (`a` has two, the others one).
"""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from rsd import api
from rsd.check import check_paths
from servers import serve

SAMPLES = Path(__file__).resolve().parent / "keyword_samples"
FILES = sorted(SAMPLES.glob("*.rsd"))


def items_api(environ, start_response):
    req = Request(environ)
    if req.path == "/items":
        names = string.ascii_lowercase[:int(req.args.get("n", "0"))]
        body = {"items": [{"name": n} for n in names]}
    elif m := re.fullmatch(r"/items/(\w+)/children", req.path):
        count = 2 if m.group(1) == "a" else 1
        body = {"items": [{"name": f"{m.group(1)}.{i}"} for i in range(1, count + 1)]}
    else:
        return Response("no such resource", status=404)(environ, start_response)
    return Response(json.dumps(body), content_type="application/json")(environ, start_response)


def header(path: Path) -> dict[str, str]:
    """The fields of a sample's leading comment: keyword, page, documented behaviour, input, expect."""
    text = path.read_text(encoding="utf-8")
    comment = text[text.index("<!--") + 4:text.index("-->")]
    fields: dict[str, str] = {}
    key = None
    for line in comment.splitlines():
        m = re.match(r"\s*(keyword|page|documented behaviour|input|expect):\s*(.*)", line)
        if m:
            key = m.group(1)
            fields[key] = m.group(2)
        elif key:
            fields[key] += "\n" + line.strip()
    return fields


def test_there_is_a_sample_for_every_keyword_of_the_issue():
    keywords = {header(p)["keyword"].split()[0] for p in FILES}
    assert {"api:match", "api:case", "api:else", "_out1,", "[name#]"} <= keywords


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sample_cites_its_page_and_checks_clean(path):
    fields = header(path)
    assert re.match(r"https://cdn\.cdata\.com/help/\S+\.html?", fields["page"]), "cite the page followed"
    assert fields["documented behaviour"].strip()
    assert check_paths([str(path)]) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_sample_runs_as_documented(path):
    fields = header(path)
    want = [json.loads(line) for line in fields["expect"].splitlines() if line.strip()]
    inputs = dict(pair.split("=", 1) for pair in fields.get("input", "").split()) if fields.get("input") else {}
    with serve(items_api) as url:
        r = api.collect(str(path), options=[("BaseURL", url)], inputs=inputs)
    got = [dict(zip(r.columns, row)) for row in r.rows]
    keys = list(want[0])
    assert [{k: row[k] for k in keys} for row in got] == want
