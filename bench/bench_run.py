"""Benchmark: `rsd run` against pre-rendered pages, compared with the floor (plain requests + json).

Starts bench/server.py on 127.0.0.1 (200 pages x 1,000 records of 8 fields by default), then in one run:
  1. the floor: a `requests.Session` + `json.loads` loop that fetches every page and writes the same CSV;
  2. `rsd run bench/Records.rsd -f csv --output FILE` (a subprocess, as a user runs it);
  3. `rsd run bench/Records.rsd --output sqlite:///FILE.db`;
  4. memory: peak RSS of `rsd run` to CSV with 50 pages and with the full page count (flat = paging streams).
Prints rows/s, seconds, peak RSS and the ratio to the floor.

    python bench/bench_run.py [--pages 200] [--per-page 1000]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from server import BenchServer  # noqa: E402

FLOOR = r"""
import csv, json, sys, requests
url, pages, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cols = ["id", "key", "name", "email", "amount", "active", "created_at", "category"]
s = requests.Session()
n = 0
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    page = 1
    while True:
        doc = json.loads(s.get(url, params={"page": page}).content)
        recs = doc["records"]
        w.writerows([[r[c] for c in cols] for r in recs])
        n += len(recs)
        if page >= doc["total_pages"] or not recs:
            break
        page += 1
print(n)
"""


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Seconds, peak RSS (KiB) of the child, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    # a fresh process per measurement: ru_maxrss of RUSAGE_CHILDREN is the max over waited-for children,
    # so each measurement runs under its own `python -c` wrapper that reports its child's peak
    wrapper = ("import resource,subprocess,sys;"
               "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "sys.stderr.write(p.stderr);"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
               "print(p.stdout,end='');sys.exit(p.returncode)")
    p = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    first, _, rest = p.stdout.partition("\n")
    del before
    return dt, int(first), rest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--per-page", type=int, default=1000)
    args = ap.parse_args()
    rsd = [sys.executable, "-m", "rsd.cli"]
    profile = str(HERE / "Records.rsd")
    tmp = Path(tempfile.mkdtemp(prefix="rsd-bench-"))
    rows = args.pages * args.per_page
    with BenchServer(pages=args.pages, per_page=args.per_page) as srv:
        url = f"{srv.url}/bench/records"
        base = ["run", profile, "-o", f"BaseURL={srv.url}", "-q"]
        results = []
        t, rss, out = timed([sys.executable, "-c", FLOOR, url, str(args.pages), str(tmp / "floor.csv")])
        assert int(out.strip()) == rows, out
        results.append(("floor: requests + json -> csv", t, rss))
        t, rss, _ = timed(rsd + base + ["-f", "csv", "--output", str(tmp / "rsd.csv")])
        results.append(("rsd run -> csv", t, rss))
        t, rss, _ = timed(rsd + base + ["--output", f"sqlite:///{tmp / 'rsd.db'}"])
        results.append(("rsd run -> sqlite", t, rss))
        small = max(1, args.pages // 4)
        t_small, rss_small, _ = timed(rsd + base + ["-f", "csv", "--output", str(tmp / "small.csv"),
                                                    "--max-pages", str(small)])
    with open(tmp / "rsd.csv") as f:
        got = sum(1 for _ in f) - 1
    assert got == rows, f"rsd wrote {got} rows, expected {rows}"
    floor_t = results[0][1]
    print(f"{args.pages} pages x {args.per_page} records = {rows:,} rows, 8 columns; Python {sys.version.split()[0]}")
    print(f"{'what':34} {'seconds':>8} {'rows/s':>10} {'peak RSS':>10} {'x floor':>8}")
    for name, t, rss in results:
        print(f"{name:34} {t:8.2f} {rows / t:10,.0f} {rss / 1024:8.1f} MB {t / floor_t:8.2f}")
    print(f"memory: rsd run -> csv peak RSS {rss_small / 1024:.1f} MB at {small} pages, "
          f"{results[1][2] / 1024:.1f} MB at {args.pages} pages")


if __name__ == "__main__":
    main()
