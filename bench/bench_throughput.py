"""Benchmark of issue #8: rsd against the floor on its workload, concurrency under latency, memory against pages.

Everything runs side by side in one run, each measurement a fresh process (start-up included), median of
`--rounds` (default 5) rounds; the floor and rsd alternate within a round so that both see the same machine.

  1. workload: 200 pages x 1,000 people (bench/workload.py, bench/People.rsd: a nested city, a date-time, a boolean,
     a double, an array kept as aggregate JSON text; next-URL paging):
       floor  = a `requests.Session` + `orjson` loop doing the same extraction and writing the same JSON Lines,
       sqlite = the same loop loading a table with `sqlite3` `executemany` in one transaction (a new database each
                round, for rsd as for the floor: reloading a table of the previous round is bench_load.py's);
     ratios of wall time and CPU time (user + system of the process) of `rsd run` to each.
  2. latency: every page 50 ms late, 40 page-number pages with a total (bench/PeoplePages.rsd), `--concurrency 1`
     vs `--concurrency 8`: wall time of the process and of the run itself (the summary's seconds), output bytes
     compared; then the workload of 1. with every page 50 ms late (one round), where start-up weighs less.
  3. memory: peak RSS of `rsd run -> jsonl` at 50 and at 500 pages.
  4. start-up: wall time of `rsd check bench/People.rsd` (best of 5), of `rsd --version`, and of `rsd run` of one
     page against the floor's loop over the same page.

rsd's modules are compiled to bytecode first (`compileall`), as an installed wheel has them: a checkout run with
PYTHONDONTWRITEBYTECODE set would otherwise compile every module again in every process, which is not what a user
runs (the bytecode is in `__pycache__`, ignored by git).

    python bench/bench_throughput.py [--rounds 5] [--pages 200] [--skip-memory]
"""
from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workload import PeopleServer  # noqa: E402

_EXTRACT = r"""
import sys, orjson, requests
from urllib.parse import urljoin
url, out = sys.argv[1], sys.argv[2]
s = requests.Session()

def pages():
    nxt = url
    while nxt:
        doc = orjson.loads(s.get(nxt).content)
        yield [(p["id"], p["name"], p["email"], (p.get("address") or {}).get("city"), p["created_at"], p["active"],
                p["score"], orjson.dumps(p["tags"]).decode()) for p in doc["people"]]
        nxt = urljoin(nxt, doc["next"]) if doc.get("next") else None
"""

FLOOR_JSONL = _EXTRACT + r"""
names = ("id", "name", "email", "city", "created_at", "active", "score", "tags")
n = 0
with open(out, "wb") as f:
    for rows in pages():
        f.write(b"\n".join(orjson.dumps(dict(zip(names, r))) for r in rows) + b"\n")
        n += len(rows)
print(n)
"""

FLOOR_SQLITE = _EXTRACT + r"""
import sqlite3
db = sqlite3.connect(out, isolation_level=None)
db.execute("CREATE TABLE people (id INTEGER, name TEXT, email TEXT, city TEXT, created_at TEXT, active BOOLEAN, "
           "score REAL, tags TEXT)")
db.execute("BEGIN")
n = 0
for rows in pages():
    db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    n += len(rows)
db.execute("COMMIT")
print(n)
"""

# a parent per measurement: it runs the command and reports the child's CPU seconds and peak RSS
_MEASURE = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter()\n"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
            "wall = time.perf_counter() - t\n"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "sys.stderr.write(p.stderr)\n"
            "print(wall, u.ru_utime + u.ru_stime, u.ru_maxrss)\n"
            "print(p.stdout, end='')\n"
            "sys.exit(p.returncode)\n")


def measure(cmd: list[str]) -> tuple[float, float, int, str, str]:
    """Wall seconds, CPU seconds, peak RSS (KiB), stdout and stderr of `cmd` in a fresh process."""
    p = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    first, _, rest = p.stdout.partition("\n")
    wall, cpu, rss = first.split()
    return float(wall), float(cpu), int(rss), rest, p.stderr


def run_seconds(stderr: str) -> float:
    m = re.search(r"rows? from .*?, ([\d.]+) s", stderr)
    if not m:
        raise SystemExit(f"no summary in:\n{stderr}")
    return float(m.group(1))


def med(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    py = sys.executable
    import compileall
    import rsd
    compileall.compile_dir(str(Path(rsd.__file__).parent), quiet=1)
    rsd = [py, "-m", "rsd.cli", "run"]
    tmp = Path(tempfile.mkdtemp(prefix="rsd-bench-"))
    print(f"machine: {platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}; median of {args.rounds} rounds")

    # -- 1. the workload ------------------------------------------------------------------------------------------
    rows = args.pages * 1000
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in ("floor", "rsd", "floor_sqlite", "rsd_sqlite")}
    with PeopleServer(pages=args.pages, per_page=1000) as srv:
        url = f"{srv.url}/people?page=1"
        base = rsd + [str(HERE / "People.rsd"), "-o", f"BaseURL={srv.url}", "-q"]
        for r in range(args.rounds):
            for name, cmd in (
                ("floor", [py, "-c", FLOOR_JSONL, url, str(tmp / "floor.jsonl")]),
                ("rsd", base + ["-f", "jsonl", "--output", str(tmp / "rsd.jsonl")]),
                ("floor_sqlite", [py, "-c", FLOOR_SQLITE, url, str(tmp / f"floor{r}.db")]),
                # a new database each round, as the floor's: the same work (a reload, which first deletes the rows
                # of the previous round, is measured by bench_load.py)
                ("rsd_sqlite", base + ["--output", f"sqlite:///{tmp / f'rsd{r}.db'}", "--table", "people"]),
            ):
                wall, cpu, _, out, _ = measure(cmd)
                if name.startswith("floor"):
                    assert int(out.strip()) == rows, out
                times[name].append((wall, cpu))
    got = sum(1 for _ in open(tmp / "rsd.jsonl", encoding="utf-8"))
    assert got == rows, f"rsd wrote {got} rows, expected {rows}"
    print(f"\n1. workload: {args.pages} pages x 1,000 records, 8 columns, next-URL paging ({rows:,} rows)")
    print(f"   {'what':30} {'wall s':>8} {'CPU s':>8} {'rows/s':>10} {'wall ratio':>11} {'CPU ratio':>10}")
    for name, floor in (("floor", "floor"), ("rsd", "floor"), ("floor_sqlite", "floor_sqlite"),
                        ("rsd_sqlite", "floor_sqlite")):
        wall = med([w for w, _ in times[name]])
        cpu = med([c for _, c in times[name]])
        fw, fc = med([w for w, _ in times[floor]]), med([c for _, c in times[floor]])
        label = {"floor": "floor: requests + orjson -> jsonl", "rsd": "rsd run -> jsonl",
                 "floor_sqlite": "floor: ... -> sqlite3 loader", "rsd_sqlite": "rsd run -> sqlite"}[name]
        print(f"   {label:30} {wall:8.2f} {cpu:8.2f} {rows / wall:10,.0f} {wall / fw:11.2f} {cpu / fc:10.2f}")

    # -- 2. latency -----------------------------------------------------------------------------------------------
    lat: dict[str, list[tuple[float, float]]] = {"1": [], "8": []}
    outputs = {}
    with PeopleServer(pages=40, per_page=100, latency=0.05) as srv:
        for _ in range(args.rounds):
            for c in ("1", "8"):
                out = tmp / f"lat{c}.jsonl"
                wall, _, _, _, err = measure(rsd + [str(HERE / "PeoplePages.rsd"), "-o", f"BaseURL={srv.url}",
                                                    "-f", "jsonl", "--output", str(out), "--concurrency", c])
                lat[c].append((wall, run_seconds(err)))
                outputs[c] = out.read_bytes()
    same = outputs["1"] == outputs["8"]
    w1, w8 = med([w for w, _ in lat["1"]]), med([w for w, _ in lat["8"]])
    r1, r8 = med([r for _, r in lat["1"]]), med([r for _, r in lat["8"]])
    print("\n2. latency: 40 page-number pages with a total, each 50 ms late")
    print(f"   --concurrency 1: {w1:.2f} s wall ({r1:.2f} s run); --concurrency 8: {w8:.2f} s wall ({r8:.2f} s run)")
    print(f"   speed-up: {w1 / w8:.1f}x wall, {r1 / r8:.1f}x run (start-up excluded); identical output bytes: {same}")

    # the workload of section 1 (200 pages x 1,000 people, page numbers with a total) on a network: each page 50 ms
    # late. One round: the sequential run alone takes 10 s of waiting
    big: dict[str, tuple[float, float]] = {}
    with PeopleServer(pages=args.pages, per_page=1000, latency=0.05) as srv:
        for c in ("1", "8"):
            out = tmp / f"big{c}.jsonl"
            wall, _, _, _, err = measure(rsd + [str(HERE / "PeoplePages.rsd"), "-o", f"BaseURL={srv.url}",
                                                "-f", "jsonl", "--output", str(out), "--concurrency", c])
            big[c] = (wall, run_seconds(err))
            outputs[f"big{c}"] = out.read_bytes()
    same = outputs["big1"] == outputs["big8"]
    print(f"   {args.pages} pages x 1,000 people, each 50 ms late (one round): --concurrency 1 {big['1'][0]:.2f} s "
          f"wall, --concurrency 8 {big['8'][0]:.2f} s: {big['1'][0] / big['8'][0]:.1f}x wall; identical output bytes: "
          f"{same}")

    # -- 3. memory ------------------------------------------------------------------------------------------------
    if not args.skip_memory:
        peaks = {}
        for pages in (50, 500):
            with PeopleServer(pages=pages, per_page=1000) as srv:
                rss = []
                for _ in range(min(3, args.rounds)):
                    _, _, peak, _, _ = measure(rsd + [str(HERE / "People.rsd"), "-o", f"BaseURL={srv.url}", "-q",
                                                      "-f", "jsonl", "--output", str(tmp / "mem.jsonl")])
                    rss.append(peak)
                peaks[pages] = med(rss) / 1024
        print(f"\n3. memory: rsd run -> jsonl peak RSS {peaks[50]:.1f} MB at 50 pages, {peaks[500]:.1f} MB at 500 "
              f"pages ({(peaks[500] / peaks[50] - 1) * 100:+.1f}%)")
    print("\n4. start-up")
    startup(rsd, args.rounds, tmp)


def startup(rsd: list[str], rounds: int, tmp: Path) -> None:
    import time
    for label, args in (("rsd check bench/People.rsd", ["check", str(HERE / "People.rsd")]),
                        ("rsd --version", ["--version"])):
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rsd.cli", *args], capture_output=True, check=True)
            best = min(best, time.perf_counter() - t)
        print(f"   {label}: {best * 1000:.0f} ms wall (best of 5)")
    # one page of 1,000 people: start-up and set-up, then one request, as `rsd run` and as the floor
    py = sys.executable
    one: dict[str, list[tuple[float, float]]] = {"floor": [], "rsd": []}
    with PeopleServer(pages=1, per_page=1000) as srv:
        for _ in range(rounds):
            one["floor"].append(measure([py, "-c", FLOOR_JSONL, f"{srv.url}/people?page=1",
                                         str(tmp / "one-floor.jsonl")])[:2])
            one["rsd"].append(measure(rsd + [str(HERE / "People.rsd"), "-o", f"BaseURL={srv.url}", "-q", "-f",
                                             "jsonl", "--output", str(tmp / "one-rsd.jsonl")])[:2])
    fw, fc = med([w for w, _ in one["floor"]]), med([c for _, c in one["floor"]])
    rw, rc = med([w for w, _ in one["rsd"]]), med([c for _, c in one["rsd"]])
    print(f"   one page (start-up included): floor {fw * 1000:.0f} ms wall, {fc * 1000:.0f} ms CPU; rsd run "
          f"{rw * 1000:.0f} ms wall, {rc * 1000:.0f} ms CPU ({rc - fc:+.3f} s CPU)")


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    main()
