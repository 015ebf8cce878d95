"""Time `rsd check` (read + every rule) over the compatibility corpus.

Usage: python bench/bench_check.py [CORPUS_DIR] [-n REPETITIONS]
The corpus is fetched as bench/fetch_corpus.md describes (default /tmp/rsd-corpus). Prints the time for
the whole corpus and per file, and splits it into reading and checking.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from corpus import corpus_args, timed  # noqa: E402
from rsd.check import check_profile, check_report  # noqa: E402
from rsd.reader import read_paths  # noqa: E402


def main() -> int:
    args = corpus_args(__doc__.splitlines()[0])
    if args is None:
        return 2

    report = check_report([args.corpus])  # warm-up (grammar, registries), and the counts
    profiles = read_paths([args.corpus])
    n = report.files
    whole = timed(lambda: check_report([args.corpus]), args.repetitions)
    rules = timed(lambda: [check_profile(p) for p in profiles], args.repetitions)
    mean, best = sum(whole) / len(whole), min(whole)
    rules_mean = sum(rules) / len(rules)
    print(f"{n} files, {args.repetitions} repetitions: {report.summary()}")
    print(f"read + check, whole corpus: best {best * 1000:.1f} ms, mean {mean * 1000:.1f} ms")
    print(f"per file: {mean / n * 1000:.2f} ms (rules alone {rules_mean / n * 1000:.2f} ms)  "
          f"({n / mean:.0f} files/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
