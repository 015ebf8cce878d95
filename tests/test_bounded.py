"""Issue #12, findings 6, 7 and 9: what a hostile API or profile can make rsd spend (docs/reference/contract.md §11).

A 1 MB gzip bomb stops at `MaxResponseBytes` (256 MiB by default) with exit 1 naming the cap, the process staying
under 400 MB; a server that drips a byte at a time is cut off at `Timeout`, headers or body; a 1 MB `.apip` bomb is
refused member by member without being inflated; statements nested 1,000 deep are a diagnostic (RSD006) for
`rsd check` and `rsd plan` rather than a RecursionError, while 100 levels still run; a loop that never ends stops at
the step budget.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
import zlib

import pytest

from rsd import api
from rsd.engine import runner as runner_module
from rsd.errors import HttpError, ProfileError

try:
    from cli_support import CLI, rsd, with_checkout
    from servers import serve_raw
except ImportError:  # tests/ imported as a package
    from tests.cli_support import CLI, rsd, with_checkout
    from tests.servers import serve_raw

PROFILE = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="B" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/items"/>
  <api:set attr="JSONPath" value="$.items"/>
  <api:script method="GET">{body}</api:script>
</api:script>
"""
PUSH = '<api:call op="jsonproviderGet"><api:push/></api:call>'


def write(tmp_path, body: str = PUSH, name: str = "B.rsd") -> str:
    path = tmp_path / name
    path.write_text(PROFILE.format(body=body), encoding="utf-8")
    return str(path)


def head(status: bytes = b"200 OK", **headers: str) -> bytes:
    lines = [b"HTTP/1.1 " + status] + [f"{k.replace('_', '-')}: {v}".encode() for k, v in headers.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros in a 1 MB gzip member (about 2 s to make, once)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    return b"".join([c.compress(block) for _ in range(1024)] + [c.flush()])


def run_measured(*args: str, cwd) -> tuple[int, str, float, float]:
    """`rsd ARGS` as a child process: exit code, stderr, its peak RSS in MB (its own, from wait4), seconds."""
    started = time.monotonic()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd,
                            env=with_checkout(os.environ))
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, stderr, usage.ru_maxrss / 1024, time.monotonic() - started


def test_a_gzip_bomb_stops_at_max_response_bytes(tmp_path, gzip_bomb):
    assert len(gzip_bomb) < 1_100_000

    def handle(conn, request):
        conn.sendall(head(Content_Type="application/json", Content_Encoding="gzip",
                          Content_Length=str(len(gzip_bomb))) + gzip_bomb)

    with serve_raw(handle) as base:
        code, stderr, peak_mb, _ = run_measured("run", write(tmp_path), "-o", f"BaseURL={base}",
                                                "--output", "out.csv", cwd=tmp_path)
    assert code == 1, stderr
    assert (f"rsd: error: GET {base}/items (page 1): the response is larger than MaxResponseBytes "
            f"(268,435,456 bytes, 256 MiB); stopped reading it") in stderr
    assert "Traceback" not in stderr and not (tmp_path / "out.csv").exists()
    assert peak_mb < 400, f"peak RSS {peak_mb:.0f} MB"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "identity"])
def test_max_response_bytes_is_an_option(tmp_path, coding):
    page = json.dumps({"items": [{"id": i, "pad": "x" * 50} for i in range(100)]}).encode()
    sent = {"gzip": lambda b: zlib.compress(b, wbits=16 + zlib.MAX_WBITS), "deflate": zlib.compress,
            "identity": lambda b: b}[coding](page)

    def handle(conn, request):
        conn.sendall(head(Content_Type="application/json", Content_Encoding=coding,
                          Content_Length=str(len(sent))) + sent)

    with serve_raw(handle) as base:
        assert len(api.collect(write(tmp_path), options=[("BaseURL", base)]).rows) == 100
        with pytest.raises(HttpError, match=r"larger than MaxResponseBytes \(5,000 bytes\)") as e:
            api.collect(write(tmp_path), options=[("BaseURL", base), ("MaxResponseBytes", "5000")])
    assert e.value.exit_code == 1


@pytest.mark.parametrize("drip", ["body", "headers"])
def test_a_slow_drip_ends_at_the_timeout(tmp_path, drip):
    """The server sends a byte every 0.5 s, for ever: of its body, or of its status line and headers."""
    served = []

    def handle(conn, request):
        started = time.monotonic()
        text = head(Content_Type="application/json", Content_Length="100000")
        if drip == "body":
            conn.sendall(text)
            text = b" " * 100000
        try:
            for i in range(len(text)):
                conn.sendall(text[i:i + 1])
                time.sleep(0.5)
        except OSError:
            pass
        finally:
            served.append(time.monotonic() - started)

    with serve_raw(handle) as base:
        code, stderr, _, seconds = run_measured("run", write(tmp_path), "-o", f"BaseURL={base}", "-o", "Timeout=3",
                                                "-f", "csv", cwd=tmp_path)
        deadline = time.monotonic() + 5
        while not served and time.monotonic() < deadline:
            time.sleep(0.05)
    assert code == 1, stderr
    assert f"GET {base}/items (page 1): no complete response within 3 s (Timeout)" in stderr
    # the server saw the connection go 3 s after the request (1.5 s of margin for a loaded machine: the bound the
    # issue sets is 5 s); the whole process, start-up included, within 10 s on a machine shared by seven builds
    assert served and 2.9 <= served[0] < 4.5, served
    assert seconds < 10


def apip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, make in members.items():
            with zf.open(name, "w", force_zip64=True) as out:
                make(out)


def test_an_apip_bomb_is_refused_without_inflating_it(tmp_path):
    zero = bytes(1 << 20)
    statement = b'<api:set attr="x" value="[y | add(1)]"/>\n'
    bomb = tmp_path / "bomb.apip"
    apip(bomb, {
        "A_huge.rsd": lambda out: [out.write(zero) for _ in range(1024)],  # 1 GiB of zeros
        **{f"B_{i:03d}.rsd": (lambda out: out.write(b"<api:script>" + statement * 20_000)) for i in range(50)},
        "C_ok.rsd": lambda out: out.write(PROFILE.format(body=PUSH).encode()),
    })
    assert bomb.stat().st_size < 1_300_000
    code, stderr, peak_mb, seconds = run_measured("check", str(bomb), cwd=tmp_path)
    out = subprocess.run([*CLI, "check", str(bomb)], capture_output=True, text=True, cwd=tmp_path,
                         env=with_checkout(os.environ)).stdout
    assert code == 2 and "Traceback" not in stderr
    assert f"{bomb}/A_huge.rsd:1:1: error: [RSD011] not read: the member holds 1,073,741,824 bytes once " \
           f"decompressed; a profile may hold at most 1,048,576" in out
    assert f"{bomb}/B_000.rsd:1:1: error: [RSD011] not read: the member decompresses" in out
    assert "C_ok.rsd" not in out  # the real profile among them is checked, and clean
    assert seconds < 10 and peak_mb < 200, (seconds, peak_mb)


def test_a_large_loose_file_is_not_read(tmp_path):
    big = tmp_path / "big.rsd"
    big.write_bytes(b"<api:script>" + b" " * (1 << 20) + b"</api:script>")
    r = rsd("check", str(big))
    assert r.code == 2
    assert "[RSD011] not read: the file holds more than 1,048,576 bytes, the most a profile may hold" in r.stdout


def nested(keyword: str, depth: int) -> str:
    inner = PUSH if keyword != "call" else "<api:push/>"
    for _ in range(depth):
        inner = {"if": '<api:if exp="true">{}</api:if>', "enum": '<api:enum range="1..1">{}</api:enum>',
                 "try": "<api:try>{}</api:try>", "call": '<api:call op="jsonproviderGet">{}</api:call>'}[keyword]\
            .format(inner)
    return inner


def test_nesting_a_thousand_deep_is_a_diagnostic(tmp_path):
    path = write(tmp_path, nested("if", 1000))
    checked, planned = rsd("check", path), rsd("plan", path)
    assert checked.code == 2 and planned.code == 2
    for out in (checked.stdout, planned.stderr):
        assert "[RSD006] statements nested more than 100 deep" in out and "internal error" not in out


@pytest.mark.parametrize("keyword", ["if", "enum", "try", "call"])
def test_a_hundred_levels_check_plan_and_run(tmp_path, keyword):
    (tmp_path / "d.json").write_text(json.dumps({"items": [{"id": 7}]}))
    body = nested(keyword, 99 if keyword == "call" else 98)  # with the call and the push inside: 100 levels
    path = tmp_path / "N.rsd"
    path.write_text(PROFILE.format(body=body).replace("[_connection.BaseURL]/items",
                                                      (tmp_path / "d.json").as_uri()), encoding="utf-8")
    from rsd.check import check_paths
    assert not [d for d in check_paths([str(path)]) if d.is_error]
    assert api.plan(str(path))["request"]["url"] == (tmp_path / "d.json").as_uri()
    assert api.collect(str(path)).rows == [(7,)]


LOOP = '<api:enum range="1..100000000000"><api:set attr="x" value="[_value]"/></api:enum>'


def test_a_plan_that_loops_for_ever_stops(tmp_path):
    r = rsd("plan", write(tmp_path, LOOP), timeout=60)
    assert r.code == 2
    assert "B.rsd:7:28: the dry run went through 100,000 loop iterations without reaching a request" in r.stderr


def test_a_run_that_loops_without_progress_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_module, "RUN_STEP_BUDGET", 20_000)  # 1,000,000 in a real run: about 5 s
    with pytest.raises(ProfileError, match="went through 20,000 loop iterations without sending a request or "
                                           "pushing a row"):
        api.collect(write(tmp_path, LOOP))
    # pushing rows is progress: a generator of 50,000 rows runs to its end
    rows = '<api:enum range="1..50000"><api:set attr="id" value="[_value]"/><api:push/></api:enum>'
    assert len(api.collect(write(tmp_path, rows)).rows) == 50_000


if sys.platform != "linux":  # os.wait4's peak RSS and named pipes: the machines CI runs on
    pytestmark = pytest.mark.skip("Linux only")


def test_recording_a_cassette_reads_within_max_response_bytes(tmp_path):
    # `--record` reads each body itself (to keep it): an endless body stops at the cap there too, with the same
    # message, and the cassette keeps nothing of it
    def handle(conn, request):
        conn.sendall(head(Content_Type="application/json") + b'{"items": [')  # no length: ends when the socket does
        try:
            while True:
                conn.sendall(b'{"id": 1, "pad": "' + b"x" * 4000 + b'"}, ')
        except OSError:
            pass

    with serve_raw(handle) as base:
        with pytest.raises(HttpError, match=r"GET .*/items \(page 1\): the response is larger than MaxResponseBytes "
                                            r"\(100,000 bytes"):
            api.collect(write(tmp_path), options=[("BaseURL", base), ("MaxResponseBytes", "100000")],
                        record=str(tmp_path / "cassette"), retries=0)
    kept = sorted(p.name for p in (tmp_path / "cassette").iterdir())
    assert kept == ["cassette.json"], kept


def _within(seconds: float, done) -> bool:
    """Whether `done()` becomes true within `seconds` (a liveness bound far above the 0.1 s asked, not a timing)."""
    end = time.monotonic() + seconds
    while not done():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_the_watchdog_expires_every_deadline_whatever_order_they_come_in():
    # the watchdog thread is woken only by a deadline sooner than the first it waits for; a later one is seen when
    # that one is due. Both ways, every deadline that passes is expired, and one that has not passed is not
    from rsd.http.transport import Deadline, _Watchdog

    dog = _Watchdog()
    late, soon = Deadline(600), Deadline(0.1)
    dog.watch(late)
    dog.watch(soon)  # sooner than the 600 s it waits for: wakes it
    assert _within(10, lambda: soon.expired)
    first, second = Deadline(0.1), Deadline(0.2)
    dog.watch(first)
    dog.watch(second)  # after `first`: no wake-up, seen when `first` is due
    assert _within(10, lambda: first.expired and second.expired)
    assert not late.expired
    late.finish()
