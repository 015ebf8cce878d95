"""Benchmark: `rsd insert` (write-back, one request per row) compared with the floor (plain requests + json).

Starts the demo API (no authentication) on 127.0.0.1 in this process, writes N task rows to a CSV file, then times,
as separate processes, each RUNS times in turn:
  1. the floor: a `requests.Session` loop that reads the same CSV and POSTs each row's JSON to /api/tasks;
  2. `rsd insert samples/demo/Tasks.rsd --from FILE -f csv --output FILE` (the POST script once per row: the
     template-built JSON body, the request, the created record mapped, typed and written).
Prints the median seconds, rows/s and the ratio to the floor. Each request costs the demo server the same in both,
so the ratio is rsd's own cost per row on top of an HTTP round trip.

    python bench/bench_write.py [--rows 2000] [--runs 3]
"""
from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rsd.demo.server import DemoServer  # noqa: E402

FLOOR = r"""
import csv, json, sys, requests
url, source = sys.argv[1], sys.argv[2]
s = requests.Session()
n = 0
with open(source, newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        body = {"title": row["title"], "notes": row["notes"] or None,
                "priority": int(row["priority"]) if row["priority"] else None, "done": row["done"] == "true"}
        r = s.post(url, data=json.dumps(body), headers={"Content-Type": "application/json"})
        r.raise_for_status()
        json.loads(r.content)
        n += 1
print(n)
"""


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rsd-bench-write-"))
    source = tmp / "tasks.csv"
    with open(source, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["title", "notes", "priority", "done"])
        for i in range(args.rows):
            w.writerow([f"Task \"{i}\", café", "" if i % 3 else f"note {i}", "" if i % 4 else 1 + i % 5,
                        "true" if i % 2 else "false"])
    floor_times, rsd_times = [], []
    with DemoServer(require_auth=False, tasks=0) as srv:
        for _ in range(args.runs):  # in turn, so that a drift of the machine's speed hits both alike
            floor_times.append(timed([sys.executable, "-c", FLOOR, f"{srv.url}/api/tasks", str(source)]))
            rsd_times.append(timed([sys.executable, "-m", "rsd.cli", "insert", str(ROOT / "samples/demo/Tasks.rsd"),
                                    "-o", f"BaseURL={srv.url}", "--from", str(source), "-f", "csv",
                                    "--output", str(tmp / "created.csv"), "-q"]))
        stored = len(srv.tasks.all())
    assert stored == 2 * args.runs * args.rows, stored
    floor, ours = statistics.median(floor_times), statistics.median(rsd_times)
    print(f"{args.rows:,} rows, one POST each, median of {args.runs} runs; Python {sys.version.split()[0]}")
    print(f"{'what':40} {'seconds':>8} {'rows/s':>8} {'x floor':>8}")
    print(f"{'floor: requests + json, POST per row':40} {floor:8.2f} {args.rows / floor:8,.0f} {1.0:8.2f}")
    print(f"{'rsd insert Tasks.rsd --from CSV':40} {ours:8.2f} {args.rows / ours:8,.0f} {ours / floor:8.2f}")


if __name__ == "__main__":
    main()
