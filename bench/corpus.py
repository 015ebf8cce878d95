"""What the corpus benchmarks (bench_read.py, bench_check.py) share: the command line and the timing loop.

The corpus is fetched as bench/fetch_corpus.md describes (default /tmp/rsd-corpus, or $RSD_CORPUS).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Optional


def corpus_args(description: str) -> Optional[argparse.Namespace]:
    """`[CORPUS_DIR] [-n REPETITIONS]`; None (after saying why on stderr) when the corpus folder is missing."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("corpus", nargs="?", default=os.environ.get("RSD_CORPUS", "/tmp/rsd-corpus"))
    ap.add_argument("-n", "--repetitions", type=int, default=20)
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print(f"{args.corpus}: no such folder (see bench/fetch_corpus.md)", file=sys.stderr)
        return None
    return args


def timed(fn: Callable[[], object], repetitions: int) -> list[float]:
    """Seconds taken by each of `repetitions` calls of `fn`."""
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
