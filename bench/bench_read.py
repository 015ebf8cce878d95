"""Time reading the compatibility corpus with rsd.reader.

Usage: python bench/bench_read.py [CORPUS_DIR] [-n REPETITIONS]
The corpus is fetched as bench/fetch_corpus.md describes (default /tmp/rsd-corpus).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from corpus import corpus_args, timed  # noqa: E402
from rsd.reader import read_paths  # noqa: E402


def main() -> int:
    args = corpus_args(__doc__.splitlines()[0])
    if args is None:
        return 2

    profiles = read_paths([args.corpus])  # warm-up, and the file count
    problems = [d for p in profiles for d in p.diagnostics]
    times = timed(lambda: read_paths([args.corpus]), args.repetitions)
    n = len(profiles)
    best, mean = min(times), sum(times) / len(times)
    print(f"{n} profiles, {args.repetitions} repetitions, {len(problems)} reader diagnostics")
    print(f"whole corpus: best {best * 1000:.1f} ms, mean {mean * 1000:.1f} ms")
    print(f"per file: {mean / n * 1000:.2f} ms  ({n / mean:.0f} files/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
