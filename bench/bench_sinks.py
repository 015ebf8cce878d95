"""Benchmark the sinks: N rows x 8 columns into CSV, SQLite and (when RSD_TEST_POSTGRES_URL is set) PostgreSQL.

    python bench/bench_sinks.py [--rows 1000000] [--page 1000] [--targets csv,sqlite,postgres] [--tracemalloc]

Each target runs in its own process so peak RSS (getrusage ru_maxrss) is that target's alone; rows are generated
lazily, page by page, as a run would deliver them. `--tracemalloc` also reports the peak of Python allocations
(slower).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from rsd.sinks import SinkColumn, open_sink  # noqa: E402

COLUMNS = [
    SinkColumn("id", "integer", True), SinkColumn("name", "string"), SinkColumn("email", "string"),
    SinkColumn("amount", "number"), SinkColumn("active", "boolean"), SinkColumn("created", "date"),
    SinkColumn("updated", "datetime"), SinkColumn("score", "integer"),
]


def pages(total: int, size: int):
    for start in range(0, total, size):
        yield (
            (i, f"name {i}", f"user{i}@example.com", i * 0.01, i % 3 == 0, f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
             f"2024-01-01T{i % 24:02d}:{i % 60:02d}:00Z", i % 1000)
            for i in range(start, min(start + size, total))
        )


def run_one(target: str, rows: int, page: int, use_tracemalloc: bool) -> dict:
    if use_tracemalloc:
        import tracemalloc
        tracemalloc.start()
    tmp = tempfile.mkdtemp(prefix="rsd-bench-")
    if target == "csv":
        url, fmt = os.path.join(tmp, "out.csv"), "csv"
    elif target == "sqlite":
        url, fmt = f"sqlite:///{tmp}/bench.db", None
    else:
        url, fmt = os.environ["RSD_TEST_POSTGRES_URL"], None
    t0 = time.perf_counter()
    with open_sink(url, fmt, COLUMNS, table="bench", mode="replace") as sink:
        for p in pages(rows, page):
            sink.write(p)
    elapsed = time.perf_counter() - t0
    result = {
        "target": target, "rows": sink.rows_written, "seconds": round(elapsed, 2),
        "rows_per_s": int(sink.rows_written / elapsed),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if use_tracemalloc:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return result


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--page", type=int, default=1000)
    p.add_argument("--targets", default="csv,sqlite,postgres")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--one", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.rows, a.page, a.tracemalloc)))
        return 0
    print(f"{a.rows:,} rows x {len(COLUMNS)} columns, pages of {a.page:,}")
    for target in a.targets.split(","):
        if target == "postgres" and not os.environ.get("RSD_TEST_POSTGRES_URL"):
            print("postgres: skipped (RSD_TEST_POSTGRES_URL not set; see .ci/start-postgres)")
            continue
        cmd = [sys.executable, __file__, "--one", target, "--rows", str(a.rows), "--page", str(a.page)]
        if a.tracemalloc:
            cmd.append("--tracemalloc")
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        extra = f", tracemalloc peak {r['tracemalloc_peak_mb']} MB" if "tracemalloc_peak_mb" in r else ""
        print(f"{target:9} {r['rows']:>10,} rows in {r['seconds']:>6.2f} s = {r['rows_per_s']:>9,} rows/s, "
              f"peak RSS {r['peak_rss_mb']} MB{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
