"""Benchmark: a daily incremental load against a full reload, as a user runs them (`rsd run` subprocesses).

Starts the demo API on 127.0.0.1 with 20,000 contacts (200 a page, 50 ms a response), loads them once, changes 2 % of
them (`DemoServer.touch`), then times in turn, each from a copy of the same starting target:

  incremental  --incremental updated_at --since-input updated_since: asks only for the changes, upserts them
  full         --full-refresh: asks for everything (the same profile, no mark sent), upserts it

into SQLite and into a CSV file (whose merge copies the previous file's other rows). Prints the median seconds of
each, the requests each made, and the ratio incremental / full: the work a daily run saves.

    python bench/bench_incremental.py [--contacts 20000] [--changed 0.02] [--runs 5] [--latency 0.05]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from rsd.demo.server import DemoServer  # noqa: E402

PROFILE = ROOT / "samples" / "demo" / "ContactsIncremental.rsd"
INCREMENTAL = ("--incremental", "updated_at", "--since-input", "updated_since")


def rsd(*args: str, cwd: Path) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rsd.cli", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--changed", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the API takes per response")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, DemoServer(require_auth=False, latency=args.latency,
                                                         records={"contacts": args.contacts}) as srv:
        work = Path(tmp)
        profile = work / "Contacts.rsd"
        profile.write_text(PROFILE.read_text(encoding="utf-8").replace('value="25"', 'value="200"'))
        common = ("run", str(profile), "-o", f"BaseURL={srv.url}", "-q")
        targets = {"sqlite": ("--output", "sqlite:///start.db", "--table", "contacts"),
                   "csv": ("--output", "start.csv")}
        for target in targets.values():
            rsd(*common, *target, *INCREMENTAL, cwd=work)
        changed = int(args.contacts * args.changed)
        srv.touch("contacts", range(0, args.contacts, max(1, args.contacts // changed)), score=1.0)
        print(f"{args.contacts:,} contacts, {changed:,} changed since the last load, {args.latency:g} s a response; "
              f"median of {args.runs} runs")
        for name, target in targets.items():
            times: dict[str, list[float]] = {"incremental": [], "full": []}
            requests: dict[str, int] = {}
            for _ in range(args.runs):
                for kind, extra in (("incremental", ()), ("full", ("--full-refresh",))):
                    for suffix in ("db", "csv", "csv.rsd-state.json"):
                        if (work / f"start.{suffix}").exists():
                            shutil.copy(work / f"start.{suffix}", work / f"run.{suffix}")
                    run_target = tuple(t.replace("start.", "run.") for t in target)
                    before = srv.stats.requests["/api/contacts"]
                    times[kind].append(rsd(*common, *run_target, *INCREMENTAL, *extra, cwd=work))
                    requests[kind] = srv.stats.requests["/api/contacts"] - before
            inc, full = statistics.median(times["incremental"]), statistics.median(times["full"])
            print(f"  {name:6} incremental {inc:6.2f} s ({requests['incremental']} requests)   "
                  f"full {full:6.2f} s ({requests['full']} requests)   ratio {inc / full:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
