"""Time reading the compatibility corpus with rsd.reader.

Usage: python bench/bench_read.py [CORPUS_DIR] [-n REPETITIONS]
The corpus is fetched as bench/fetch_corpus.md describes (default /tmp/rsd-corpus).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rsd.reader import read_paths  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=os.environ.get("RSD_CORPUS", "/tmp/rsd-corpus"))
    ap.add_argument("-n", "--repetitions", type=int, default=20)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print(f"{args.corpus}: no such folder (see bench/fetch_corpus.md)", file=sys.stderr)
        return 2

    profiles = read_paths([args.corpus])  # warm-up, and the file count
    problems = [d for p in profiles for d in p.diagnostics]
    times = []
    for _ in range(args.repetitions):
        start = time.perf_counter()
        read_paths([args.corpus])
        times.append(time.perf_counter() - start)
    n = len(profiles)
    best, mean = min(times), sum(times) / len(times)
    print(f"{n} profiles, {args.repetitions} repetitions, {len(problems)} reader diagnostics")
    print(f"whole corpus: best {best * 1000:.1f} ms, mean {mean * 1000:.1f} ms")
    print(f"per file: {mean / n * 1000:.2f} ms  ({n / mean:.0f} files/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
