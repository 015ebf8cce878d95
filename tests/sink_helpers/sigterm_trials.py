"""SIGTERM at random moments around the commit of a load: does rsd tell the truth?

Each trial copies a SQLite database whose table holds version 1 of the demo accounts, starts `rsd run` loading
version 2 into it, and sends SIGTERM after a random delay drawn around the moment the load commits (calibrated from
uninterrupted runs). Then the table must hold exactly version 1 or exactly version 2, and what rsd said must match
it: exit 0 or "after the load in progress was committed" with version 2 and a new `ok` row in `_rsd_runs`; "the
load in progress was not committed" with version 1 and a new `interrupted` row; killed by the signal before rsd
could handle it (during start-up or exit) with no claim at all: version 1 and no row, or version 2 and an `ok` row.

Used by tests/test_signals.py (200 trials, marked slow); run more by hand:

    python tests/sink_helpers/sigterm_trials.py --trials 1000
"""
from __future__ import annotations

import collections
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]

from cli_support import rsd_popen  # noqa: E402
from job_helpers import write_profile  # noqa: E402

COMMITTED = "after the load in progress was committed"
NOT_COMMITTED = "the load in progress was not committed"


@dataclass
class Outcome:
    kind: str  # "completed", "committed-then-terminated", "not-committed", "killed-before", "killed-after"
    problem: str = ""  # empty when message, table and _rsd_runs agree


class Trials:
    """A demo API serving version 2 of `accounts` accounts and a template database holding version 1."""

    def __init__(self, folder: Path, srv, *, per_page: int = 200):
        self.folder, self.srv, self.per_page = folder, srv, per_page
        self.profile = write_profile(folder / "Items.rsd")
        self.template = folder / "template.db"
        assert self._load(self.template).wait(120) == 0
        self.pages = -(-len(srv.data["accounts"]) // per_page) + 1  # the last one is the empty page
        for a in srv.data["accounts"]:
            a["Name"] += " v2"
        self.v1 = self._table(self.template)
        self.v2 = sorted((a["Id"], a["Name"], a["NumberOfEmployees"]) for a in srv.data["accounts"])
        self.runs_before = len(self._runs(self.template))

    def _load(self, db: Path):
        return rsd_popen("run", self.profile, "-o", f"BaseURL={self.srv.url}", "-o", f"PerPage={self.per_page}",
                         "--output", f"sqlite:///{db}", "--table", "items", "-q", cwd=self.folder)

    @staticmethod
    def _table(db: Path) -> list:
        con = sqlite3.connect(db)
        try:
            return con.execute('SELECT "Id", "Name", "NumberOfEmployees" FROM items ORDER BY "Id"').fetchall()
        finally:
            con.close()

    @staticmethod
    def _runs(db: Path) -> list:
        con = sqlite3.connect(db)
        try:
            return con.execute("SELECT status, error FROM _rsd_runs ORDER BY id").fetchall()
        finally:
            con.close()

    def _served(self) -> int:
        return self.srv.stats.requests["/api/accounts"]

    def _start(self, db: Path):
        """Start a load; returns the process and the monotonic time its second-to-last page was served (the
        anchor: after it come the last page, the end of paging, the commit, the record, the summary, the exit)."""
        base = self._served()
        proc = self._load(db)
        while self._served() - base < self.pages - 1:
            if proc.poll() is not None:
                raise AssertionError(f"the load ended before its last pages: {proc.communicate()}")
            time.sleep(0.0005)
        return proc, time.monotonic()

    def calibrate(self, runs: int = 3) -> float:
        """Seconds from the anchor to the end of an uninterrupted load (the median of `runs`)."""
        tails = []
        for i in range(runs):
            db = self.folder / f"calibrate{i}.db"
            shutil.copy(self.template, db)
            proc, anchor = self._start(db)
            proc.communicate(timeout=120)
            tails.append(time.monotonic() - anchor)
            assert proc.returncode == 0
        return statistics.median(tails)

    def trial(self, i: int, delay: float) -> Outcome:
        db = self.folder / f"trial{i % 4}.db"
        shutil.copy(self.template, db)
        proc, anchor = self._start(db)
        time.sleep(max(0.0, anchor + delay - time.monotonic()))
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        table, runs = self._table(db), self._runs(db)[self.runs_before:]
        return judge(proc.returncode, err, table == self.v1, table == self.v2, runs)


def judge(code: int, err: str, old: bool, new: bool, runs: list) -> Outcome:
    statuses = [r[0] for r in runs]
    if not (old or new):
        return Outcome("partial", "the table holds neither the previous rows nor the new ones")
    if len(runs) > 1:
        return Outcome("twice", f"{len(runs)} rows in _rsd_runs for one run: {runs}")
    if code == 0:
        ok = new and statuses == ["ok"] and "terminated" not in err
        return Outcome("completed", "" if ok else f"exit 0 but table new={new}, runs {runs}, stderr {err!r}")
    if code == 143 and COMMITTED in err:
        ok = new and statuses == ["ok"]
        return Outcome("committed-then-terminated", "" if ok else f"said committed; table new={new}, runs {runs}")
    if code == 143 and NOT_COMMITTED in err:
        ok = old and statuses == ["interrupted"] and runs[0][1] == "interrupted (Terminated); nothing was committed"
        return Outcome("not-committed", "" if ok else f"said not committed; table new={new}, runs {runs}")
    if code == -signal.SIGTERM and "terminated" not in err and "interrupted" not in err:
        # the default action, before rsd's handler was installed or after it was removed: no claim was made
        if old and statuses == []:
            return Outcome("killed-before")
        if new and statuses == ["ok"]:
            return Outcome("killed-after")
        return Outcome("killed", f"killed silently; table new={new}, runs {runs}")
    return Outcome("unexpected", f"exit {code}, stderr {err!r}, table new={new}, runs {runs}")


def run_trials(folder: Path, count: int, *, seed: int = 14, report=None) -> tuple[collections.Counter, list[str]]:
    """`count` trials; returns how many of each outcome, and the problems found (none when rsd tells the truth)."""
    from rsd.demo.server import DemoServer

    rng = random.Random(seed)
    kinds: collections.Counter = collections.Counter()
    problems: list[str] = []
    with DemoServer(require_auth=False, records={"accounts": 5000}) as srv:
        trials = Trials(folder, srv)
        total = trials.calibrate()
        for i in range(count):
            # from the second-to-last page to a little after the process would have exited: the commit is in there
            delay = total * rng.uniform(0.0, 1.15)
            outcome = trials.trial(i, delay)
            kinds[outcome.kind] += 1
            if outcome.problem:
                problems.append(f"trial {i} (SIGTERM {delay:.3f} s after the anchor; the tail takes {total:.3f} s): "
                                f"{outcome.problem}")
            if report is not None:
                report(i, outcome, delay, total)
    return kinds, problems


def main(argv=None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        kinds, problems = run_trials(Path(tmp), args.trials, seed=args.seed,
                                     report=lambda i, o, d, t: print(f"{i:4d} {d:6.3f}/{t:.3f} s {o.kind}"
                                                                     f"{' PROBLEM ' + o.problem if o.problem else ''}",
                                                                     flush=True))
    print(dict(kinds))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
