"""Benchmark the Spark data source on a latency workload: `pagePartitions=2` against one partition on `local[2]`.

    python bench/bench_spark.py [--pages 40] [--per-page 500] [--latency 0.05] [--repeat 3]

The bench server (bench/server.py) answers every page after `--latency` seconds, as a remote API would; the profile is
bench/Records.rsd (page numbers with a total pages hint, so its pages are addressable). Each read is
`spark.read.format("rsd")...load().count()` on one shared local[2] session (its start-up is not measured), run in
turn (1 partition, 2 partitions, 1, 2, ...), median of `--repeat`. Needs `pip install 'rsd-profiles[spark]'` and
Java 17+.

With 40 pages of 50 ms, one partition waits about 2 s for the API; two partitions on two cores wait half of that
each, in parallel, plus the probe that learns the total and the cost of a second Python worker.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from server import BenchServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--per-page", type=int, default=500)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from rsd.spark import RsdDataSource

    spark = (SparkSession.builder.master("local[2]").appName("rsd-bench").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.dataSource.register(RsdDataSource)
    rows = args.pages * args.per_page
    times: dict[int, list[float]] = {1: [], 2: []}
    with BenchServer(latency=args.latency, pages=args.pages, per_page=args.per_page) as srv:
        def read(partitions: int) -> float:
            df = (spark.read.format("rsd").option("profile", str(HERE / "Records.rsd")).option("BaseURL", srv.url)
                  .option("pagePartitions", str(partitions)).load())
            t0 = time.perf_counter()
            n = df.count()
            elapsed = time.perf_counter() - t0
            assert n == rows, (partitions, n)
            return elapsed

        read(2)  # warm-up: Python workers, imports
        for _ in range(args.repeat):
            for partitions in times:
                times[partitions].append(read(partitions))
    spark.stop()
    one = statistics.median(times[1])
    print(f"{args.pages} pages x {args.per_page} records = {rows:,} rows, {args.latency * 1000:.0f} ms a page; "
          f"local[2]; median of {args.repeat}")
    for partitions, ts in times.items():
        t = statistics.median(ts)
        print(f"pagePartitions={partitions}: {t:6.2f} s  {rows / t:10,.0f} rows/s  {t / one:5.2f} x one partition")


if __name__ == "__main__":
    main()
