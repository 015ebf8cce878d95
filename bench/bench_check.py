"""Time `rsd check` (read + every rule) over the compatibility corpus.

Usage: python bench/bench_check.py [CORPUS_DIR] [-n REPETITIONS]
The corpus is fetched as bench/fetch_corpus.md describes (default /tmp/rsd-corpus). Prints the time for
the whole corpus and per file, and splits it into reading and checking.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rsd.check import check_profile, check_report  # noqa: E402
from rsd.reader import read_paths  # noqa: E402


def _timed(fn, repetitions: int) -> list[float]:
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=os.environ.get("RSD_CORPUS", "/tmp/rsd-corpus"))
    ap.add_argument("-n", "--repetitions", type=int, default=20)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print(f"{args.corpus}: no such folder (see bench/fetch_corpus.md)", file=sys.stderr)
        return 2

    report = check_report([args.corpus])  # warm-up (grammar, registries), and the counts
    profiles = read_paths([args.corpus])
    n = report.files
    whole = _timed(lambda: check_report([args.corpus]), args.repetitions)
    rules = _timed(lambda: [check_profile(p) for p in profiles], args.repetitions)
    mean, best = sum(whole) / len(whole), min(whole)
    rules_mean = sum(rules) / len(rules)
    print(f"{n} files, {args.repetitions} repetitions: {report.summary()}")
    print(f"read + check, whole corpus: best {best * 1000:.1f} ms, mean {mean * 1000:.1f} ms")
    print(f"per file: {mean / n * 1000:.2f} ms (rules alone {rules_mean / n * 1000:.2f} ms)  "
          f"({n / mean:.0f} files/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
