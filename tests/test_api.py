"""The library surface: what `rsd` exports (pinned, as httpx's test_exported_members.py does), the examples of
docs/api.md (run against the demo API), `collect`/`iter_rows` taking `run`'s arguments, and `iter_rows` streaming:
rows as pages arrive, nothing committed, no request and no open session once the consumer stops."""
from __future__ import annotations

import contextlib
import inspect
import io
import re
import subprocess
import sys
import threading
import time
import typing
from itertools import islice
from pathlib import Path

import pytest

import rsd
from rsd import api
from rsd.demo.server import DemoServer

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = str(ROOT / "samples" / "demo" / "Accounts.rsd")

EXPECTED = [
    "AuthError", "Diagnostic", "FinishCallback", "HttpError", "Incremental", "InvalidInputError", "Loc",
    "OptionError", "PageCallback", "Profile", "ProfileError", "Row", "RowCallback", "RsdError", "RunError",
    "RunResult", "ScriptThrow", "SinkError", "Summary", "TotalCallback", "TraceCallback", "WriteError",
    "WriteSummary", "check", "collect", "iter_rows", "load", "plan", "run", "write",
]


def test_the_public_surface_is_pinned():
    assert sorted(rsd.__all__) == EXPECTED
    for name in rsd.__all__:
        assert getattr(rsd, name) is not None, name
    assert set(rsd.__all__) <= set(dir(rsd))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rsd.nope  # noqa: B018


def test_every_public_name_is_documented():
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in rsd.__all__ if not re.search(rf"`{n}[`(]", doc) and f"`{n}`" not in doc
               and n not in ("InvalidInputError", "OptionError", "AuthError", "RunError", "HttpError", "ScriptThrow",
                             "SinkError")]  # documented as "RsdError and its subclasses"
    assert not missing


def test_the_package_is_typed():
    assert (ROOT / "rsd" / "py.typed").is_file()
    for proto in (rsd.TraceCallback, rsd.PageCallback, rsd.FinishCallback, rsd.RowCallback):
        assert typing.Protocol in proto.__mro__
    for fn in (rsd.run, rsd.collect, rsd.iter_rows):  # annotations as written (postponed evaluation)
        params = inspect.signature(fn).parameters
        assert params["on_page"].annotation == "Optional[PageCallback]"
        assert params["trace"].annotation == "Optional[TraceCallback]"
    assert inspect.signature(rsd.run).parameters["on_finish"].annotation == "Optional[FinishCallback]"


def test_check_stays_callable_after_the_check_package_is_imported():
    import rsd.check  # what any run does: `rsd.check` becomes the package

    found = rsd.check([str(ROOT / "tests" / "check_samples" / "RSD202_unknown_formatter.rsd")])
    assert [d.code for d in found] == ["RSD202"]


def test_docs_api_md_lists_every_argument():
    doc = " ".join((ROOT / "docs" / "api.md").read_text(encoding="utf-8").split())
    shared = re.search(r"`iter_rows` share: (.*?)\. `run` adds (.*?)\. ", doc)
    assert shared, "docs/api.md: the sentence listing the arguments is gone"
    listed = re.findall(r"`(\w+)`(?! references)", shared.group(1))
    run_params = [n for n in inspect.signature(rsd.run).parameters if n != "profile"]
    assert [n for n in listed if n in run_params] == [n for n in run_params if n not in api.OUTPUT_ARGS], \
        "docs/api.md: list the arguments run, collect and iter_rows share, in their order"
    own = [n for n in re.findall(r"`(\w+)`", shared.group(2)) if n in run_params]
    assert own == list(api.OUTPUT_ARGS), "docs/api.md: list run's own arguments, in their order"


def test_collect_and_iter_rows_take_runs_arguments_less_the_output_ones():
    run_params = inspect.signature(rsd.run).parameters
    expected = [(n, p.default) for n, p in run_params.items() if n not in api.OUTPUT_ARGS]
    for fn in (rsd.collect, rsd.iter_rows):
        assert [(n, p.default) for n, p in inspect.signature(fn).parameters.items()] == expected, fn.__name__
    assert set(api.OUTPUT_ARGS) <= set(run_params)


_EXAMPLE = re.compile(r"^```python\n# example\n(.*?)^```$", re.S | re.M)


def test_the_examples_of_docs_api_md_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = _EXAMPLE.findall((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 8
    namespace: dict = {}
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            for i, block in enumerate(blocks):
                exec(compile(block, f"docs/api.md example {i + 1}", "exec"), namespace)
    finally:
        if "demo" in namespace:
            namespace["demo"].close()
    printed = re.search(r"^```text\n(.*?)^```$", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.S | re.M)
    assert out.getvalue() == printed.group(1)  # the output the page shows
    assert out.getvalue().startswith("001DM0000000000 Acme Dynamics 0 Ltd\n")


@pytest.fixture
def big_demo():
    # 2,000 accounts at 50 a page: 40 pages, far more than a consumer of three rows may cause to be fetched
    with DemoServer(require_auth=False, records={"accounts": 2000}) as demo:
        yield demo


def _page_requests(demo) -> int:
    return sum(1 for r in list(demo.history) if r.path == "/api/accounts")


def test_iter_rows_yields_what_collect_returns(big_demo):
    options = [("BaseURL", big_demo.url)]
    streamed = rsd.iter_rows(ACCOUNTS, options=options)
    assert inspect.isgenerator(streamed)
    assert list(streamed) == rsd.collect(ACCOUNTS, options=options).rows


def test_iter_rows_stops_requesting_and_closes_its_session_when_the_consumer_stops(big_demo, monkeypatch):
    from rsd.http.client import HttpClient

    closed: list[HttpClient] = []
    real_close = HttpClient.close

    def close(self):
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(HttpClient, "close", close)
    rows = rsd.iter_rows(ACCOUNTS, options=[("BaseURL", big_demo.url)])
    assert [r[0] for r in islice(rows, 3)] == ["001DM0000000000", "001DM0000000001", "001DM0000000002"]
    assert closed == []  # still running, a few pages ahead at most
    rows.close()
    assert len(closed) == 1
    assert not [t for t in threading.enumerate() if t.name == "rsd-iter-rows"]
    fetched = _page_requests(big_demo)
    # the worker hands over 100 rows at a time and may be two hand-overs ahead of the consumer, plus the one it
    # is filling: at most 4 batches of 2 pages, well short of the 41 requests of the whole run
    assert 1 <= fetched <= 10
    time.sleep(0.3)  # nothing more arrives once the generator is closed
    assert _page_requests(big_demo) == fetched


def test_iter_rows_raises_a_run_error_in_the_consumer_and_closes(big_demo):
    rows = rsd.iter_rows(ACCOUNTS, options=[("BaseURL", big_demo.url + "/nowhere")])
    with pytest.raises(rsd.HttpError) as info:
        next(rows)
    assert info.value.exit_code == 1 and "404" in str(info.value)
    assert not [t for t in threading.enumerate() if t.name == "rsd-iter-rows"]


def test_iter_rows_limit_and_an_invalid_profile():
    with pytest.raises(rsd.ProfileError):
        next(rsd.iter_rows(str(ROOT / "tests" / "check_samples" / "RSD202_unknown_formatter.rsd")))
    with DemoServer(require_auth=False) as demo:
        assert len(list(rsd.iter_rows(ACCOUNTS, options=[("BaseURL", demo.url)], limit=7))) == 7


def test_python_m_rsd_is_the_command():
    res = subprocess.run([sys.executable, "-m", "rsd", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert (res.returncode, res.stdout) == (0, f"rsd {rsd.__version__}\n")
