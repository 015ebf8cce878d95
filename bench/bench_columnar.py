"""Benchmark the columnar targets: 200 pages x 1,000 records (200k rows, 8 columns) from the bench server into
JSON Lines, Parquet and DuckDB, in one process, as ratios to the JSON Lines run.

    python bench/bench_columnar.py [--pages 200] [--per-page 1000] [--repeat 3]

Each target is run `--repeat` times through `rsd.api.run` (the same path as `rsd run`, start-up excluded), in turn
(jsonl, parquet, duckdb, jsonl, ...) so that a slow moment of a shared machine touches all of them; the median
is reported. Pages arrive as Arrow batches for Parquet and DuckDB (`rsd.sinks.arrow.page_writer`), as row
tuples for JSON Lines. Peak Python allocations (tracemalloc) are reported per target with `--memory`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from rsd import api  # noqa: E402
from server import BenchServer  # noqa: E402

TARGETS = {
    "jsonl": lambda tmp: (str(tmp / "out.jsonl"), None),
    "parquet": lambda tmp: (str(tmp / "out.parquet"), None),
    "duckdb": lambda tmp: (f"duckdb:///{tmp / 'out.duckdb'}", None),
}


def one_run(target: str, srv: BenchServer, tmp: Path) -> float:
    output, fmt = TARGETS[target](tmp)
    t0 = time.perf_counter()
    summary = api.run(str(HERE / "Records.rsd"), options=[("BaseURL", srv.url)], output=output, fmt=fmt,
                      table="records", mode="replace")
    elapsed = time.perf_counter() - t0
    assert summary.rows == srv.total_records, (target, summary.rows)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--per-page", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also measure peak Python allocations (slower)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rsd-bench-columnar-"))
    times: dict[str, list[float]] = {t: [] for t in TARGETS}
    with BenchServer(pages=args.pages, per_page=args.per_page) as srv:
        one_run("jsonl", srv, tmp)  # warm-up: imports, connection pool
        for _ in range(args.repeat):
            for target in TARGETS:
                times[target].append(one_run(target, srv, tmp))
        peaks = {}
        if args.memory:
            import tracemalloc
            for target in TARGETS:
                tracemalloc.start()
                one_run(target, srv, tmp)
                peaks[target] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    rows = args.pages * args.per_page
    base = statistics.median(times["jsonl"])
    print(f"{args.pages} pages x {args.per_page} records = {rows:,} rows, 8 columns; median of {args.repeat}; "
          f"Python {sys.version.split()[0]}")
    print(f"{'target':8} {'seconds':>8} {'rows/s':>10} {'x jsonl':>8} {'file MB':>8}" +
          (f" {'peak py MB':>10}" if peaks else ""))
    sizes = {"jsonl": tmp / "out.jsonl", "parquet": tmp / "out.parquet", "duckdb": tmp / "out.duckdb"}
    for target, ts in times.items():
        t = statistics.median(ts)
        line = (f"{target:8} {t:8.2f} {rows / t:10,.0f} {t / base:8.2f} "
                f"{os.path.getsize(sizes[target]) / 1e6:8.1f}")
        if peaks:
            line += f" {peaks[target] / 1e6:10.1f}"
        print(line)


if __name__ == "__main__":
    main()
