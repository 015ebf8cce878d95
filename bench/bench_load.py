"""Benchmark: loading 1,000,000 rows into database targets with `rsd run`, as a user runs it.

Starts bench/server.py on 127.0.0.1 (pre-rendered pages: 200 pages x 5,000 records of 8 fields by default, about
190 MB of JSON held by this process, not by the measured one), then runs `rsd run bench/Records.rsd` subprocesses:

  sqlite   truncate into a new table     (the first load: CREATE + INSERT ... SELECT from the TEMP staging table)
  sqlite   upsert over the 1,000,000 rows (ON CONFLICT (id) DO UPDATE: every row is a conflict)
  postgres truncate, postgres upsert     (when RSD_TEST_POSTGRES_URL is set; COPY per page into a TEMP table)

For each: seconds, rows/s (end to end: HTTP, JSON, typing, staging, the merge transaction) and the peak RSS of the
`rsd` process (paging streams: the peak does not grow with the row count). Row counts are checked after each load.

    python bench/bench_load.py [--pages 200] [--per-page 5000] [--no-postgres]
"""
from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from server import BenchServer  # noqa: E402

# Runs a command and prints the peak RSS (KiB) of that command alone: ru_maxrss of RUSAGE_CHILDREN in a fresh
# wrapper process is the peak of its only child.
_PEAK = ("import resource, subprocess, sys\n"
         "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
         "sys.stderr.write(p.stderr)\n"
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
         "sys.exit(p.returncode)\n")


def measure(cmd: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one command; exits with its stderr when it fails."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _PEAK, *cmd], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return seconds, int(p.stdout.strip().splitlines()[-1])


def sqlite_count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute('SELECT count(*) FROM "records"').fetchone()[0]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--per-page", type=int, default=5000)
    ap.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL even when RSD_TEST_POSTGRES_URL is set")
    args = ap.parse_args()
    rows = args.pages * args.per_page
    pg_url = None if args.no_postgres else os.environ.get("RSD_TEST_POSTGRES_URL")
    tmp = Path(tempfile.mkdtemp(prefix="rsd-bench-load-"))
    rsd = [sys.executable, "-m", "rsd.cli", "run", str(HERE / "Records.rsd"), "-q", "--table", "records"]

    print(f"rendering {args.pages} pages x {args.per_page:,} records ...", file=sys.stderr)
    results: list[tuple[str, float, int]] = []
    with BenchServer(pages=args.pages, per_page=args.per_page) as srv:
        print(f"  {srv.body_bytes / 1e6:.0f} MB of JSON in {srv.render_seconds:.1f} s", file=sys.stderr)
        base = rsd + ["-o", f"BaseURL={srv.url}"]

        db = tmp / "bench.db"
        for mode in ("truncate", "upsert"):
            t, rss = measure(base + ["--output", f"sqlite:///{db}", "--mode", mode])
            assert sqlite_count(db) == rows, f"sqlite {mode}: {sqlite_count(db)} rows, expected {rows}"
            results.append((f"sqlite {mode}", t, rss))

        if pg_url:
            import psycopg

            schema = "bench_" + secrets.token_hex(4)
            with psycopg.connect(pg_url, autocommit=True) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{pg_url}{'&' if '?' in pg_url else '?'}options={quote('-csearch_path=' + schema)}"
            try:
                for mode in ("truncate", "upsert"):
                    t, rss = measure(base + ["--output", url, "--mode", mode])
                    with psycopg.connect(url) as c:
                        n = c.execute('SELECT count(*) FROM "records"').fetchone()[0]
                    assert n == rows, f"postgres {mode}: {n} rows, expected {rows}"
                    results.append((f"postgres {mode}", t, rss))
            finally:
                with psycopg.connect(pg_url, autocommit=True) as c:
                    c.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(f"{rows:,} rows x 8 columns ({args.pages} pages of {args.per_page:,}), `rsd run` subprocess, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'target':20} {'seconds':>8} {'rows/s':>10} {'peak RSS':>10}")
    for name, t, rss in results:
        print(f"{name:20} {t:8.2f} {rows / t:10,.0f} {rss / 1024:7.1f} MB")
    if not pg_url:
        print("postgres: skipped (set RSD_TEST_POSTGRES_URL, e.g. eval \"$(bash .ci/start-postgres)\")")


if __name__ == "__main__":
    main()
