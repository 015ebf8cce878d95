"""Template benchmark: compile N distinct templates, then render a typical one many times.

    python bench/bench_template.py [--renders 1000000] [--compiles 2000]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from rsd.template import compile_template
from rsd.template.compiler import parse_cached
from rsd.template.template import _compile


class Scope:
    __slots__ = ("values",)

    def __init__(self, values: dict):
        self.values = {k.lower(): v for k, v in values.items()}

    def resolve(self, name: str):
        return self.values.get(name.lower())


TYPICAL = "[_input.offset | def('0') | add([pagesize])]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--renders", type=int, default=1_000_000)
    ap.add_argument("--compiles", type=int, default=2_000)
    opts = ap.parse_args()

    compile_template("[warm | up]")  # builds the lark parser once
    _compile.cache_clear()
    parse_cached.cache_clear()
    texts = [f"https://api.example.com/v{i}/[ResourceName]?start=[rows@next | def('{i}') | split(',', 1)]"
             f"&key=[_connection.ApiKey | urlencode]&n=[_input.[name{i}]]" for i in range(opts.compiles)]
    t0 = time.perf_counter()
    for text in texts:
        compile_template(text)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for text in texts:
        compile_template(text)
    cached_s = time.perf_counter() - t0

    scope = Scope({"_input.offset": "100", "pagesize": "50"})
    render = compile_template(TYPICAL).render
    assert render(scope) == "150"
    t0 = time.perf_counter()
    for _ in range(opts.renders):
        render(scope)
    render_s = time.perf_counter() - t0

    literal = compile_template("application/json").render
    t0 = time.perf_counter()
    for _ in range(opts.renders):
        literal(scope)
    literal_s = time.perf_counter() - t0

    print(f"compile (cold):   {opts.compiles} templates in {compile_s:.3f}s = {opts.compiles / compile_s:,.0f}/s")
    print(f"compile (cached): {opts.compiles / cached_s:,.0f}/s")
    print(f"render {TYPICAL!r}: {opts.renders:,} in {render_s:.3f}s = {opts.renders / render_s:,.0f} ops/s")
    print(f"render literal: {opts.renders / literal_s:,.0f} ops/s")


if __name__ == "__main__":
    main()
