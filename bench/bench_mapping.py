"""Benchmark of rsd.mapping: parse + map + coerce a 1,000-record JSON page, 200 times.

Compared with a floor: `json.loads` and plain dict look-ups into tuples (what hand-written code would
do, no typing). Run: `python bench/bench_mapping.py [--pages N] [--records N]`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rsd.errors import Loc  # noqa: E402
from rsd.mapping import compile_coercer, compile_mapper, parse_document  # noqa: E402
from rsd.reader.ast import Column  # noqa: E402

LOC = Loc("bench.rsd", 1, 1)


def make_body(records: int) -> bytes:
    rows = []
    for i in range(records):
        rows.append({
            "id": i, "name": f"customer {i}", "email": f"c{i}@example.com", "active": i % 3 != 0,
            "balance": i * 1.25, "created": f"2024-01-{i % 28 + 1:02d}T10:{i % 60:02d}:00Z",
            "country": "DE" if i % 2 else "FR", "score": str(i % 100),
        })
    return json.dumps({"meta": {"page": 1, "next": "tok"}, "records": rows}).encode()


SPEC = [("id", "integer"), ("name", "string"), ("email", "string"), ("active", "boolean"),
        ("balance", "double"), ("created", "datetime"), ("country", "string"), ("score", "integer")]


def columns(absolute: bool) -> list[Column]:
    return [Column(name, LOC, type=t, xpath=f"/json/records/{name}" if absolute else None) for name, t in SPEC]


def nested_body(records: int) -> bytes:
    rows = [{"id": i, "person": {"name": {"first": f"F{i}", "last": f"L{i}"}, "age": i % 90},
             "address": {"city": "Berlin", "zip": "10115"}, "tags": ["a", "b"], "active": True,
             "created": 1700000000 + i} for i in range(records)]
    return json.dumps({"data": rows}).encode()


NESTED = [("id", "id", "integer"), ("first", "person/name/first", "string"), ("last", "person/name/last", "string"),
          ("age", "person/age", "integer"), ("city", "/json/data/address/city", "string"),
          ("zip", "address/zip", "string"), ("tags", "tags", "string"), ("created", "created", "datetime")]


def run(label: str, pages: int, body: bytes, fn) -> float:
    start = time.perf_counter()
    n = 0
    for _ in range(pages):
        n += fn(body)
    elapsed = time.perf_counter() - start
    print(f"{label:<48} {n:>9,} rows  {elapsed:6.2f} s  {n / elapsed:>12,.0f} rows/s")
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--records", type=int, default=1000)
    args = ap.parse_args()
    body = make_body(args.records)
    keys = [name for name, _ in SPEC]

    def floor(b: bytes) -> int:
        records = json.loads(b)["records"]
        rows = [tuple([r.get(k) for k in keys]) for r in records]
        return len(rows)

    def parse_only(b: bytes) -> int:
        return len(json.loads(b)["records"])

    print(f"{args.pages} pages x {args.records:,} records, {len(body):,} bytes a page, {len(SPEC)} columns")
    run("json.loads only", args.pages, body, parse_only)
    base = run("floor: json.loads + dict look-ups", args.pages, body, floor)

    for absolute in (False, True):
        cols = columns(absolute)
        mapper = compile_mapper(cols, repeat_paths="$.records")
        coerce = compile_coercer(cols)

        def mapped(b: bytes) -> int:
            return sum(1 for _ in mapper.rows(parse_document(b, "json")))

        def typed(b: bytes) -> int:
            return sum(1 for _ in map(coerce, mapper.rows(parse_document(b, "json"))))

        form = "/json/records/<name>" if absolute else "column names"
        r1 = run(f"rsd parse+map ({form})", args.pages, body, mapped)
        r2 = run(f"rsd parse+map+coerce ({form})", args.pages, body, typed)
        print(f"{'':<48} map {base / r1:.2f}x floor time, map+coerce {base / r2:.2f}x floor time")

    nbody = nested_body(args.records)
    ncols = [Column(n, LOC, xpath=x, type=t) for n, x, t in NESTED]
    nmapper = compile_mapper(ncols, repeat_paths="$.data")
    ncoerce = compile_coercer(ncols)
    run("rsd parse+map+coerce (nested paths, epoch dates)", args.pages, nbody,
        lambda b: sum(1 for _ in map(ncoerce, nmapper.rows(parse_document(b, "json")))))

    items = "".join(f"<Item><Id>{i}</Id><Name>n{i}</Name><Owner><User><Id>{i}</Id></User></Owner>"
                    f"<Date>2024-01-02T00:00:00Z</Date></Item>" for i in range(args.records))
    xbody = f"<Job><Count>{args.records}</Count>{items}</Job>".encode()
    xcols = [Column("Id", LOC, xpath="/Job/Item/Id", type="int"), Column("Name", LOC, xpath="Name"),
             Column("Owner", LOC, xpath="Owner/User/Id", type="int"), Column("Date", LOC, xpath="Date", type="datetime")]
    xmapper = compile_mapper(xcols, repeat_paths="/Job/Item", kind="xml")
    xcoerce = compile_coercer(xcols)
    run("rsd parse+map+coerce (XML, 4 columns)", max(1, args.pages // 4), xbody,
        lambda b: sum(1 for _ in map(xcoerce, xmapper.rows(parse_document(b, "xml")))))

    # mapping alone, 1,000,000 records: the per-record cost without parsing
    doc = parse_document(body, "json")
    start = time.perf_counter()
    n = 0
    mapper = compile_mapper(columns(True), repeat_paths="$.records")
    coerce = compile_coercer(columns(True))
    for _ in range(1_000_000 // args.records):
        for row in mapper.rows(doc):
            coerce(row)
            n += 1
    elapsed = time.perf_counter() - start
    print(f"{'map+coerce of parsed pages only':<48} {n:>9,} rows  {elapsed:6.2f} s  {n / elapsed:>12,.0f} rows/s")


if __name__ == "__main__":
    main()
