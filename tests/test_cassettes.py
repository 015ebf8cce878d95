"""Cassettes (docs/reference/contract.md §10, docs/testing.md): `rsd run --record DIR` keeps every exchange with every
secret scrubbed; `--replay DIR` answers from it with the API stopped and writes byte for byte the recorded run's
output; a request the cassette does not hold is exit 1 naming it.

Every sample runs against a real demo API (OAuth 2 with short-lived tokens: token exchanges, 401s and refreshes are
recorded too), which is stopped before the replay: a replay that reached for the network would fail."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cli_support import ROOT, assert_no_secret, demo_oauth, in_profile, record_tokens, with_checkout
from rsd.cli import main
from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer
from rsd.http.cassette import INDEX, ReplayAdapter, scrub_request_body, scrub_response
from rsd.http.redact import Redactor

SAMPLES = sorted((ROOT / "samples" / "demo").glob("*.rsd")) + [ROOT / "samples" / "oauth" / "InProfileToken.rsd"]
#: PATH for the documented shell commands: this interpreter's `rsd` first
BIN = f"{Path(sys.executable).parent}:/usr/bin:/bin"
SECRETS = {"CLIENT_ID": DEMO_CLIENT_ID, "CLIENT_SECRET": DEMO_CLIENT_SECRET, "REFRESH_TOKEN": DEMO_REFRESH_TOKEN}


@pytest.fixture
def env(monkeypatch):
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def options_for(sample: Path, srv) -> list[str]:
    return in_profile(srv) if sample.name == "InProfileToken.rsd" else demo_oauth(srv)


def cassette_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))


def exchanges(folder: Path) -> list[dict]:
    index = json.loads((folder / INDEX).read_text())
    return [json.loads((folder / name).read_text()) for name in index["exchanges"]]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_a_recorded_run_replays_with_the_api_stopped_byte_for_byte(env, tmp_path, capsys, sample):
    # Accounts: tokens that expire after 0.2 s on a slow API (0.05 s a response), so the recording holds a 401 and
    # a second token exchange. The server says expires_in=1 (rounded up), so the client would refresh on its own
    # only at 0.5 s: any request sent between 0.2 s and 0.5 s after a token was issued gets the 401. The run's 7
    # requests take at least 0.35 s, and a window of 0.3 s holds several of them even on a loaded machine.
    slow = sample.name == "Accounts.rsd"
    srv = DemoServer(token_lifetime=0.2 if slow else 30, latency=0.05 if slow else 0)
    issued = record_tokens(srv)
    cassette = tmp_path / "cassette"
    try:
        options = options_for(sample, srv)
        code, _, err = cli(capsys, "run", sample, *options, "--record", cassette, "-f", "csv",
                           "--output", tmp_path / "recorded.csv")
        assert code == 0, err
        asked = srv.stats.total_requests
    finally:
        srv.close()
    code, _, err = cli(capsys, "run", sample, *options, "--replay", cassette, "-f", "csv",
                       "--output", tmp_path / "replayed.csv")
    assert code == 0, err
    recorded, replayed = (tmp_path / "recorded.csv").read_bytes(), (tmp_path / "replayed.csv").read_bytes()
    assert replayed == recorded and recorded.count(b"\n") > 1

    held = exchanges(cassette)
    assert len(held) == asked  # every exchange, token requests and 401s included
    assert any(e["request"]["url"].endswith("/services/oauth2/token") for e in held)
    if slow:
        assert [e["response"]["status"] for e in held].count(401) >= 1 and len(issued) >= 2
    assert_no_secret(cassette_text(cassette), [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, *issued], "the cassette")
    assert issued and all(t not in cassette_text(cassette) for t in issued)


def test_grep_finds_no_secret_in_the_cassette_folder(env, tmp_path, capsys):
    with DemoServer(token_lifetime=30) as srv:
        issued = record_tokens(srv)
        options = demo_oauth(srv, OAuthClientAuth="basic")  # the client's credentials in a Basic header too
        assert cli(capsys, "run", SAMPLES[0], *options, "--record", tmp_path / "c", "-f", "csv")[0] == 0
    for secret in [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, *issued]:
        found = subprocess.run(["grep", "-rlF", secret, str(tmp_path / "c")], capture_output=True, text=True)
        assert found.returncode == 1 and found.stdout == "", f"{secret[:4]}... found in {found.stdout}"
    token_request = exchanges(tmp_path / "c")[0]["request"]
    assert "Authorization: Basic ***" in token_request["headers"]
    assert token_request["body"] == "grant_type=refresh_token&refresh_token=***"


def test_a_request_the_cassette_does_not_hold_is_exit_1_naming_it(env, tmp_path, capsys):
    with DemoServer() as srv:
        options = demo_oauth(srv)
        assert cli(capsys, "run", SAMPLES[0], *options, "--record", tmp_path / "c", "-f", "csv")[0] == 0
    code, out, err = cli(capsys, "run", SAMPLES[0], *options, "--replay", tmp_path / "c", "-f", "csv",
                         "-o", "CustomUrlParams=region=eu")
    assert code == 1
    assert err.startswith(f"rsd: error: --replay {tmp_path / 'c'}: no recorded exchange for GET {srv.url}/api/accounts"
                          f"?page=1&per_page=50&region=eu; the cassette holds 7 exchanges (6 for GET /api/accounts, "
                          f"e.g. {srv.url}/api/accounts?page=6&per_page=50)\n")
    assert "hint: the profile, its options or the API changed since the recording" in err
    assert "Traceback" not in err


def test_an_api_catch_cannot_swallow_a_replay_miss(tmp_path, capsys):
    profile = tmp_path / "Caught.rsd"
    profile.write_text("""<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Caught"><attr name="sku" xs:type="string" other:xPath="/json/products/sku" /></api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/api/products" />
  <api:set attr="JSONPath" value="$.products" />
  <api:script method="GET">
    <api:try>
      <api:call op="jsonproviderGet"><api:push /></api:call>
      <api:catch code="*"><api:set attr="_input.failed" value="yes" /></api:catch>
    </api:try>
  </api:script>
</api:script>""")
    with DemoServer(require_auth=False) as srv:
        assert cli(capsys, "run", profile, "-o", f"BaseURL={srv.url}", "--record", tmp_path / "c", "-f", "csv")[0] == 0
    code, _, err = cli(capsys, "run", profile, "-o", f"BaseURL={srv.url}", "-o", "CustomUrlParams=x=1",
                       "--replay", tmp_path / "c", "-f", "csv")
    assert code == 1 and "no recorded exchange for GET" in err


def test_cassette_options_and_folders(env, tmp_path, capsys):
    code, _, err = cli(capsys, "run", SAMPLES[0], "-o", "BaseURL=http://127.0.0.1:9", "--replay", tmp_path / "none")
    assert code == 2 and f"--replay {tmp_path / 'none'}: no cassette there (cassette.json is missing)" in err
    with pytest.raises(SystemExit) as stop:
        main(["run", str(SAMPLES[0]), "--record", "a", "--replay", "b"])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with DemoServer(require_auth=False) as srv:
        folder = tmp_path / "c"
        products = ROOT / "samples" / "demo" / "Products.rsd"
        assert cli(capsys, "run", products, "-o", f"BaseURL={srv.url}", "--record", folder, "-f", "csv")[0] == 0
        (folder / "notes.txt").write_text("mine")
        first = sorted(p.name for p in folder.iterdir())
        assert cli(capsys, "run", products, "-o", f"BaseURL={srv.url}", "--max-pages", "1", "--record", folder,
                   "-f", "csv")[0] == 0
    # recording again replaces the recording, and leaves other files alone
    assert sorted(p.name for p in folder.iterdir()) == ["0001-GET-api_products.json", "cassette.json", "notes.txt"]
    assert len(first) == 5


# -------------------------------------------------------------------------------------------- the pieces

def test_scrubbing_forms_bodies_and_lengths():
    r = Redactor(["s3cr3t-value", "tok-12345"])
    assert scrub_request_body("grant_type=password&username=ann&password=hunter22&client_secret=s3cr3t-value",
                              "application/x-www-form-urlencoded", r) == \
        "grant_type=password&username=ann&password=***&client_secret=***"
    assert scrub_request_body('{"q": "tok-12345"}', "application/json", r) == '{"q": "***"}'
    assert scrub_request_body(b"\xff\x00", "", r) == "b64:/wA="
    assert scrub_request_body(None, "", r) is None
    body = b'{"access_token":"tok-12345","next":"/x?code=abc"}'
    resp = scrub_response(200, "OK", [("Content-Length", str(len(body))), ("Set-Cookie", "sid=tok-12345"),
                                      ("Link", "<http://h/x?page=2>; rel=\"next\"")], body, r)
    assert resp["body"] == '{"access_token":"***","next":"/x?code=abc"}'  # data that only looks secret stays
    assert resp["headers"] == ["Set-Cookie: ***", 'Link: <http://h/x?page=2>; rel="next"',
                               f"Content-Length: {len(resp['body'])}"]
    cut = scrub_response(200, "OK", [("Content-Length", "100")], b'{"t":"tok-12345"', r)  # 16 of 100 bytes
    assert cut["headers"] == ["Content-Length: 94"]  # still short by 84: the replay sees the same cut-off body
    gz = scrub_response(200, "OK", [("Content-Encoding", "gzip"), ("Content-Length", "20")], b"[1,2,3]", r)
    assert gz["headers"] == ["Content-Length: 7"]  # kept decoded


@pytest.mark.parametrize("body", [
    '{"echo": "tok\\/9&k<\\u00e9"}',  # PHP's json_encode: `/` escaped, non-ASCII as \u
    '{"echo": "tok\\/9&k<\\u00E9"}',  # upper-case hex
    '<r echo="tok/9&amp;k&lt;\u00e9"/>',  # XML attribute
    '<r><echo>tok/9&amp;k&lt;\u00e9</echo></r>',  # XML text
])
def test_a_secret_an_api_echoes_escaped_is_scrubbed_from_a_recorded_body(body):
    secret = "tok/9&k<\u00e9"
    r = Redactor([secret])
    kept = scrub_response(200, "OK", [("Content-Length", str(len(body.encode())))], body.encode(), r)["body"]
    assert "***" in kept and "tok" not in kept, kept


def test_replay_serves_recordings_in_order_then_repeats_the_last(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    names = []
    for i, status in enumerate((503, 200)):
        doc = {"request": {"method": "GET", "url": "http://api.test/x", "headers": [], "body": None},
               "response": {"status": status, "reason": "", "headers": ["Content-Type: application/json"],
                            "body": json.dumps({"n": i}), "body_base64": None}}
        names.append(f"{i:04d}.json")
        (folder / names[-1]).write_text(json.dumps(doc))
    (folder / INDEX).write_text(json.dumps({"rsd_cassette": 1, "exchanges": names}))
    session = requests.Session()
    session.mount("http://", ReplayAdapter(folder, Redactor()))
    got = [session.get("http://api.test/x") for _ in range(3)]
    assert [(r.status_code, r.json()) for r in got] == [(503, {"n": 0}), (200, {"n": 1}), (200, {"n": 1})]


def test_the_ci_recipe_of_docs_testing_md_runs(tmp_path):
    """docs/testing.md's CI script, as written: record once against the API, then in CI replay and compare the rows
    with the expected-rows file (exit 0), and a profile change makes it fail (exit 1)."""
    doc = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    record = re.search(r"```sh\n# record\n(.*?)```", doc, re.S).group(1)
    ci = re.search(r"```sh\n# ci\n(.*?)```", doc, re.S).group(1)
    work = tmp_path / "repo"
    (work / "profiles").mkdir(parents=True)
    (work / "profiles" / "Contacts.rsd").write_text((ROOT / "samples" / "demo" / "Contacts.rsd").read_text())
    with DemoServer(require_auth=False) as srv:
        (work / "ci.options").write_text(f"BaseURL={srv.url}\n")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", record], cwd=work, capture_output=True, text=True,
                              env=with_checkout({"PATH": BIN}))
        assert done.returncode == 0, done.stderr
    expected = (work / "tests" / "expected" / "Contacts.jsonl").read_text().splitlines()
    assert len(expected) == 123 and json.loads(expected[0])["id"] == 1
    env = with_checkout({"PATH": BIN})
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", ci], cwd=work, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    profile = work / "profiles" / "Contacts.rsd"
    profile.write_text(profile.read_text().replace("/json/data/email", "/json/data/mail"))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", ci], cwd=work, capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "column 'email'" in done.stderr



# -------------------------------------------------------------------------------------------- write-back

TASKS = ROOT / "samples" / "demo" / "Tasks.rsd"


def test_writes_are_recorded_and_replayed_too(env, tmp_path, capsys):
    new = tmp_path / "new.csv"
    new.write_text("title,priority\nfirst,1\nsecond ✓,2\nthird,\n", encoding="utf-8")
    steps = [("insert", ["--from", new]), ("update", ["-i", "id=2", "-i", "title=changed", "-i", "done=true"]),
             ("delete", ["-i", "id=1"])]
    with DemoServer(tasks=0) as srv:
        options = demo_oauth(srv)
        for command, rows in steps:
            code, _, err = cli(capsys, command, TASKS, *options, *rows, "--record", tmp_path / command, "-f", "jsonl",
                               "--output", tmp_path / f"{command}.recorded.jsonl")
            assert code == 0, err
        stored = [(t["id"], t["title"], t["done"]) for t in srv.tasks.all()]
        assert stored == [(2, "changed", True), (3, "third", False)]
    for command, rows in steps:  # the API is stopped: every answer comes from the cassette
        code, _, err = cli(capsys, command, TASKS, *options, *rows, "--replay", tmp_path / command, "-f", "jsonl",
                           "--output", tmp_path / f"{command}.replayed.jsonl")
        assert code == 0, err
        assert (tmp_path / f"{command}.replayed.jsonl").read_bytes() == \
            (tmp_path / f"{command}.recorded.jsonl").read_bytes()
    assert [json.loads(line)["id"] for line in (tmp_path / "insert.replayed.jsonl").read_text().splitlines()] == [
        1, 2, 3]
    new.write_text("title,priority\nfirst,1\nsecond ✓,2\nfourth,4\n", encoding="utf-8")
    code, _, err = cli(capsys, "insert", TASKS, *options, "--from", new, "--replay", tmp_path / "insert")
    assert code == 1
    assert f"no recorded exchange for POST {srv.url}/api/tasks with body '{{\"title\": \"fourth\", " \
           f"\"priority\": 4}}'" in err


def test_a_concurrent_recording_replays_one_request_at_a_time(tmp_path, capsys):
    # page numbers without a total: a concurrent run asks pages ahead of the empty last one, how many depends on
    # timing; the replay goes one page at a time and asks only pages the recording holds
    profile = tmp_path / "Ahead.rsd"
    profile.write_text((ROOT / "samples" / "demo" / "Inventory.rsd").read_text().replace(
        '  <api:set attr="totalpagespath" value="/inventory/@pages" />\n', ""))
    with DemoServer(require_auth=False, latency=0.02) as srv:
        code, _, err = cli(capsys, "run", profile, "-o", f"BaseURL={srv.url}", "--concurrency", "4", "--record",
                           tmp_path / "c", "-f", "csv", "--output", tmp_path / "recorded.csv")
        assert code == 0, err
    asked = [e["request"]["url"] for e in exchanges(tmp_path / "c")]
    assert len(asked) >= 5  # 4 pages of items, the empty 5th, and perhaps more asked ahead
    code, _, err = cli(capsys, "run", profile, "-o", f"BaseURL={srv.url}", "--concurrency", "4", "--replay",
                       tmp_path / "c", "-f", "csv", "--output", tmp_path / "replayed.csv")
    assert code == 0, err
    assert (tmp_path / "replayed.csv").read_bytes() == (tmp_path / "recorded.csv").read_bytes()
