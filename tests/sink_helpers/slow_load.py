"""Test helper: load rows into a database target slowly, page by page, so a test can kill it mid-load.

    python slow_load.py URL TABLE --pages N --page-rows R [--delay S] [--progress FILE] [--raise-on-term] [--tag T]

After each page it appends a line to the progress file. `--raise-on-term` turns SIGTERM into SystemExit (as a
CLI would) so the sink's abort path runs; without it SIGTERM kills the process like SIGKILL.
"""
import argparse
import signal
import sys
import time

from rsd.sinks import SinkColumn, open_sink

COLUMNS = [
    SinkColumn("id", "integer", True),
    SinkColumn("name", "string"),
    SinkColumn("amount", "number"),
    SinkColumn("active", "boolean"),
    SinkColumn("day", "date"),
]


def page_rows(page: int, size: int, tag: str):
    for i in range(size):
        n = page * size + i
        yield (n, f"{tag}-{n}", n * 1.25, n % 2 == 0, f"2024-01-{n % 28 + 1:02d}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("table")
    p.add_argument("--pages", type=int, default=5)
    p.add_argument("--page-rows", type=int, default=100)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--progress")
    p.add_argument("--mode", default="truncate")
    p.add_argument("--tag", default="new")
    p.add_argument("--raise-on-term", action="store_true")
    a = p.parse_args()
    if a.raise_on_term:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with open_sink(a.url, None, COLUMNS, table=a.table, mode=a.mode) as sink:
        for page in range(a.pages):
            sink.write(page_rows(page, a.page_rows, a.tag))
            if a.progress:
                with open(a.progress, "a") as f:
                    f.write(f"{page}\n")
            time.sleep(a.delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
