"""Issue #12, finding 8: a body that ends early is an error naming the page, never silently short data.

Page 2 of a two-page API is cut in half, as gzip, as deflate, as a chunked body without its last chunk, and as a body
shorter than its Content-Length, for JSON, XML and CSV responses. Every case is exit 1 naming the request and the
page, after the retry (a cut connection is worth one), and nothing is written. The complete bodies load every row.
"""
from __future__ import annotations

import csv
import io
import json
import zlib

import pytest

from rsd import api
from rsd.errors import HttpError

try:
    from cli_support import rsd
    from servers import serve_raw
except ImportError:  # tests/ imported as a package
    from tests.cli_support import rsd
    from tests.servers import serve_raw

ROWS = [{"id": i, "name": f"name {i}"} for i in range(1, 201)]

BODIES = {
    "json": lambda rows: json.dumps({"items": rows}).encode(),
    "xml": lambda rows: ("<r>" + "".join(f"<item><id>{r['id']}</id><name>{r['name']}</name></item>" for r in rows)
                         + "</r>").encode(),
    "csv": lambda rows: _csv(rows),
}


def _csv(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "name"])
    w.writerows([[r["id"], r["name"]] for r in rows])
    return out.getvalue().encode()


SETUP = {
    "json": ("jsonproviderGet", '<api:set attr="JSONPath" value="$.items"/>', "/json/items/"),
    "xml": ("xmlproviderGet", '<api:set attr="XPath" value="/r/item"/>', "/r/item/"),
    "csv": ("csvproviderGet", "", ""),
}


def profile(tmp_path, kind: str) -> str:
    op, repeat, prefix = SETUP[kind]
    text = f"""\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Cut" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="{prefix}id"/>
    <attr name="name" xs:type="string" other:xPath="{prefix}name"/>
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/items"/>
  {repeat}
  <api:set attr="EnablePaging" value="true"/>
  <api:set attr="pagenumberparam" value="page;1"/>
  <api:script method="GET"><api:call op="{op}"><api:push/></api:call></api:script>
</api:script>
"""
    path = tmp_path / f"Cut_{kind}.rsd"
    path.write_text(text, encoding="utf-8")
    return str(path)


def framed(body: bytes, coding: str, cut: bool) -> bytes:
    """An HTTP/1.1 response carrying `body` as `coding`; `cut`: the connection closes halfway through it."""
    headers = [b"HTTP/1.1 200 OK", b"Content-Type: application/octet-stream", b"Connection: close"]
    if coding in ("gzip", "deflate"):
        data = zlib.compress(body, wbits=16 + zlib.MAX_WBITS) if coding == "gzip" else zlib.compress(body)
        headers.append(f"Content-Encoding: {coding}".encode())  # no length: only the stream can tell its end
        payload = data[:len(data) // 2] if cut else data
    elif coding == "chunked":
        headers.append(b"Transfer-Encoding: chunked")
        size = 4096
        chunks = [body[i:i + size] for i in range(0, len(body), size)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        if cut:
            payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks[:len(chunks) // 2])
        else:
            payload += b"0\r\n\r\n"
    else:  # content-length
        headers.append(f"Content-Length: {len(body)}".encode())
        payload = body[:len(body) // 2] if cut else body
    return b"\r\n".join(headers) + b"\r\n\r\n" + payload


class Pages:
    """Page 1 holds rows 1-100, page 2 rows 101-200 (cut when `cut`), later pages none."""

    def __init__(self, kind: str, coding: str, cut: bool):
        self.kind, self.coding, self.cut = kind, coding, cut
        self.pages: list[int] = []

    def __call__(self, conn, request: bytes) -> None:
        line = request.split(b"\r\n", 1)[0].decode()
        page = int(line.split("page=", 1)[1].split()[0].split("&")[0]) if "page=" in line else 1
        self.pages.append(page)
        rows = ROWS[(page - 1) * 100:page * 100]
        conn.sendall(framed(BODIES[self.kind](rows), self.coding, self.cut and page == 2))


CODINGS = ["gzip", "deflate", "chunked", "content-length"]


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("kind", ["json", "xml", "csv"])
def test_a_cut_body_is_an_error_naming_the_page(tmp_path, kind, coding):
    pages = Pages(kind, coding, cut=True)
    with serve_raw(pages) as base:
        with pytest.raises(HttpError) as e:
            api.collect(profile(tmp_path, kind), options=[("BaseURL", base)], retries=1)
    message = str(e.value)
    assert message.startswith(f"GET {base}/items?page=2 (page 2): body truncated"), message
    assert message.endswith("after 2 attempts"), message
    assert e.value.exit_code == 1 and pages.pages.count(2) == 2


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("kind", ["json", "xml", "csv"])
def test_whole_bodies_load_every_row(tmp_path, kind, coding):
    with serve_raw(Pages(kind, coding, cut=False)) as base:
        result = api.collect(profile(tmp_path, kind), options=[("BaseURL", base)])
    assert result.rows == [(r["id"], r["name"]) for r in ROWS]


def test_a_cut_gzip_csv_writes_nothing(tmp_path):
    """The finding as it was seen: a gzip-encoded CSV whose stream is cut loaded 486 of 1,000 rows with exit 0."""
    with serve_raw(Pages("csv", "gzip", cut=True)) as base:
        r = rsd("run", profile(tmp_path, "csv"), "-o", f"BaseURL={base}", "--output", "sqlite:///cut.db",
                "--table", "cut", "--concurrency", "1", "--retries", "1", cwd=tmp_path, timeout=120)
    assert r.code == 1, r.stderr
    assert f"GET {base}/items?page=2 (page 2): body truncated: the gzip stream ends before its end" in r.stderr
    import sqlite3
    con = sqlite3.connect(tmp_path / "cut.db")
    try:
        tables = {row[0] for row in con.execute("select name from sqlite_master where type = 'table'")}
        assert "cut" not in tables  # the load was not committed
        assert con.execute("select status from _rsd_runs").fetchall() == [("failed",)]
    finally:
        con.close()
