"""SIGTERM and Ctrl-C during `rsd run`: what rsd says about the load matches what the table holds (issue #14).

A signal that arrives while a load commits waits until the rows are committed and the run recorded
(`rsd.api.CommitGate`), so the outcome is one of two truths: not committed (previous table, `_rsd_runs` says
interrupted, "the load in progress was not committed") or committed (new table, `_rsd_runs` says ok, "after the load
in progress was committed"). The slow test sends 200 SIGTERMs at random moments around the commit
(tests/sink_helpers/sigterm_trials.py, which also runs more by hand).
"""
from __future__ import annotations

import signal
import time

import pytest

from rsd.api import CommitGate
from rsd.demo.server import DemoServer

from cli_support import rsd_popen
from job_helpers import runs, write_profile
from sink_helpers.backends import make_backend
from sink_helpers.sigterm_trials import COMMITTED, NOT_COMMITTED, judge, run_trials


class Stop(BaseException):
    pass


def test_an_interrupt_during_the_commit_waits_until_it_is_done():
    gate = CommitGate()
    done = []
    with pytest.raises(Stop):
        with gate.committing():
            gate.interrupt(Stop())  # a signal handler, mid-commit: held back
            done.append("committed")
            gate.committed = True
            done.append("recorded")
    assert done == ["committed", "recorded"] and gate.committed
    gate.begin()
    assert not gate.committed
    with pytest.raises(Stop):
        gate.interrupt(Stop())  # outside a commit: at once


def test_an_interrupt_held_back_replaces_a_failure_of_the_commit():
    gate = CommitGate()
    with pytest.raises(Stop) as e:
        with gate.committing():
            gate.interrupt(Stop())
            raise ValueError("the commit failed")
    assert isinstance(e.value.__context__, ValueError) and not gate.committed


def test_ctrl_c_mid_paging_rolls_back_and_says_so(tmp_path):
    db = make_backend("sqlite", tmp_path)
    profile = write_profile(tmp_path / "Items.rsd")
    with DemoServer(require_auth=False, latency=0.2) as srv:
        proc = rsd_popen("run", profile, "-o", f"BaseURL={srv.url}", "--output", db.url, "--table", "items", "-q")
        deadline = time.monotonic() + 30
        while srv.stats.requests["/api/accounts"] < 2:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (130, "rsd: interrupted; nothing was committed\n")
    assert not db.exists("items")
    assert [(r[6], r[7]) for r in runs(db)] == [("interrupted", "interrupted (KeyboardInterrupt); nothing was "
                                                                 "committed")]


def test_the_verdicts_of_the_trials():
    # judge() is what the 200 trials apply: exercise its verdicts on the outcomes they can meet
    assert judge(0, "items: 3 rows ...\n", False, True, [("ok", None)]).problem == ""
    assert judge(143, f"rsd: terminated (SIGTERM) {COMMITTED} (it is complete and recorded)\n", False, True,
                 [("ok", None)]).problem == ""
    assert judge(143, f"rsd: terminated (SIGTERM); {NOT_COMMITTED}\n", True, False,
                 [("interrupted", "interrupted (Terminated); nothing was committed")]).problem == ""
    # the defect issue #14 reported: committed, yet called "not committed" and recorded as interrupted
    assert judge(143, f"rsd: terminated (SIGTERM); {NOT_COMMITTED}\n", False, True,
                 [("interrupted", "interrupted (Terminated); nothing was committed")]).problem
    assert judge(-signal.SIGTERM, "", True, True, []).problem == ""  # no claim made (v1 == v2 only in this call)
    assert judge(1, "", True, False, []).kind == "unexpected"


@pytest.mark.slow
def test_200_sigterms_around_the_commit_message_and_rsd_runs_match_the_table(tmp_path):
    # Each trial starts rsd (~0.5 s of start-up on a 2-core machine), waits for its second-to-last page and sends
    # SIGTERM within 1.15 x the time the rest of an uninterrupted run takes (calibrated in the same run): late
    # paging, the commit, the record, the summary and the exit are all hit. About 6 minutes in all.
    kinds, problems = run_trials(tmp_path, 200, seed=14)
    assert not problems, "\n".join(problems[:10])
    assert sum(kinds.values()) == 200
    # the trials really straddle the commit: some stopped before it, some right after it
    assert kinds["not-committed"] >= 1 and kinds["committed-then-terminated"] >= 1, dict(kinds)
