"""Structural mutations of real-looking profiles, and the harness that runs them through `rsd check` and `rsd plan`.

`mutants(seed_texts, n, seed)` yields `n` mutated profile texts: elements' tags swapped or replaced by another
keyword, attributes dropped or moved, elements deleted, duplicated, moved or wrapped in up to 1,000 nested
keywords, attribute values cut or given unbalanced `[`, `]`, `{`, `(` and quotes, and now and then the text cut off
(broken XML). `exercise(text, folder)` checks and plans one of them in this process and returns what went wrong:
an exception that is not an `RsdError` (an internal error, a traceback for the user), or a step slower than
`LIMIT` seconds (a `SIGALRM` cuts a hang off there).

    python tests/fuzz_profiles.py [--count 10000] [--seed 0] [--cli 50]

runs the full campaign (issue #12: 10,000 mutants, 0 internal errors, 0 tracebacks, each within 5 s) and, with
`--cli N`, every N-th mutant also through the `rsd` command line, whose output must hold no traceback. The test
(tests/test_fuzz_run.py) runs 1,000 of them.
"""
from __future__ import annotations

import argparse
import copy
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
#: the texts mutated: the bundled samples and the check samples (the public corpus, when present, by the script)
SEED_DIRS = (ROOT / "samples", ROOT / "tests" / "check_samples")
CORPUS = Path("/tmp/rsd-corpus")
#: seconds one check or plan may take
LIMIT = 5.0

KEYWORDS = ("set", "call", "push", "if", "enum", "try", "catch", "select", "case", "default", "else", "check",
            "equals", "null", "exists", "validate", "throw", "first", "last", "break", "continue", "map", "unset",
            "setc", "setm", "finally", "info", "script", "include", "notequals", "sett")
WRAPPERS = ("if", "enum", "try", "call", "select", "check", "null", "first")
NASTY = ("[", "]", "[x", "x]", "{", "}", "{x", "[[", "]]", "(", "'", '"', "\\", "[x | f(", "[x |", "|", "$.a[",
         "/a[", "$..", "//", "${env:HOME}", "{_connection.Password}", "[_connection.[x]]", "1..99999999999",
         "a..z", "%", "&amp;", "\n", "")
API = "http://apiscript.com/ns?v1"


def seeds(corpus: bool = False) -> list[str]:
    paths = [p for d in SEED_DIRS for p in sorted(d.rglob("*.rsd"))]
    if corpus and CORPUS.is_dir():
        paths += sorted(CORPUS.rglob("*.rsd"))
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths]


def _parse(text: str) -> Optional[etree._Element]:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return None
    return root


def _tag(rnd: random.Random) -> str:
    return "{%s}%s" % (API, rnd.choice(KEYWORDS))


def _mutate(root: etree._Element, rnd: random.Random) -> None:
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    if not elements:
        return
    kind = rnd.randrange(12)
    a, b = rnd.choice(elements), rnd.choice(elements)
    if kind == 0:  # tags swapped
        a.tag, b.tag = b.tag, a.tag
    elif kind == 1:  # a tag replaced by another keyword (or a misspelt one)
        a.tag = _tag(rnd)
    elif kind == 2:  # attributes dropped
        for name in list(a.attrib):
            if rnd.random() < 0.5:
                del a.attrib[name]
    elif kind == 3:  # an attribute moved to another element
        if a.attrib:
            name = rnd.choice(list(a.attrib))
            b.set(name, a.attrib.pop(name))
    elif kind == 4 and a is not root:  # deleted
        parent = a.getparent()
        if parent is not None:
            parent.remove(a)
    elif kind == 5 and a is not root:  # duplicated
        parent = a.getparent()
        if parent is not None:
            parent.insert(parent.index(a), copy.deepcopy(a))
    elif kind == 6 and a is not root and b is not a and a not in b.iterancestors():  # moved inside another
        parent = a.getparent()
        if parent is not None and b not in a.iter():
            parent.remove(a)
            b.append(a)
    elif kind in (7, 8) and a is not root:  # wrapped in nested keywords, up to 1,000 deep
        depth = rnd.choice((2, 20, 99, 101, 300, 1000))
        parent = a.getparent()
        if parent is not None:
            index = parent.index(a)
            parent.remove(a)
            inner = a
            for _ in range(depth):
                wrapper = etree.Element(_tag(rnd) if rnd.random() < 0.2 else "{%s}%s" % (API, rnd.choice(WRAPPERS)))
                if rnd.random() < 0.3:
                    wrapper.set("exp", "true")
                wrapper.append(inner)
                inner = wrapper
            parent.insert(index, inner)
    elif kind == 9:  # a value cut, or given an unbalanced bracket, brace or quote
        if a.attrib:
            name = rnd.choice(list(a.attrib))
            value = a.attrib[name]
            cut = rnd.randrange(len(value) + 1)
            a.set(name, value[:cut] + rnd.choice(NASTY) + value[cut:] if rnd.random() < 0.7 else value[:cut])
    elif kind == 10:  # values swapped between elements
        if a.attrib and b.attrib:
            na, nb = rnd.choice(list(a.attrib)), rnd.choice(list(b.attrib))
            va, vb = a.attrib[na], b.attrib[nb]
            a.set(na, vb)
            b.set(nb, va)
    else:  # a new attribute with a nasty value
        a.set(rnd.choice(("attr", "value", "item", "op", "in", "out", "exp", "range", "list", "copyfrom",
                          "jsonpath", "xpath", "match", "operator", "action")), rnd.choice(NASTY))


def mutants(texts: list[str], n: int, seed: int = 0) -> Iterator[str]:
    rnd = random.Random(seed)
    for _ in range(n):
        text = rnd.choice(texts)
        root = _parse(text)
        if root is None:
            yield text
            continue
        for _ in range(rnd.randint(1, 4)):
            try:
                _mutate(root, rnd)
            except (ValueError, TypeError):  # a name lxml will not set (an unbound prefix): another mutation
                continue
        out = etree.tostring(root, encoding="unicode")
        if rnd.random() < 0.05:  # broken XML now and then
            out = out[:rnd.randrange(len(out) + 1)]
        yield out


class _Slow(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only when something hangs
    raise _Slow()


def exercise(text: str, folder: Path, name: str = "M.rsd") -> list[str]:
    """Check and plan one profile text; the problems (an internal error, a slow step), empty when all is well."""
    from rsd import api
    from rsd.check import check_profile
    from rsd.errors import RsdError
    from rsd.reader import read_text

    path = folder / name
    path.write_text(text, encoding="utf-8")
    problems: list[str] = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for step in ("check", "plan"):
            started = time.monotonic()
            signal.setitimer(signal.ITIMER_REAL, LIMIT + 1)
            try:
                if step == "check":
                    check_profile(read_text(text, str(path)))
                else:
                    api.plan(str(path), options=[("BaseURL", "http://127.0.0.1:9")], inputs={"k": "x"})
            except RsdError:
                pass
            except _Slow:
                problems.append(f"{step}: still running after {LIMIT + 1:g} s")
                continue
            except Exception as e:  # an internal error: what the user would see as a traceback
                problems.append(f"{step}: {type(e).__name__}: {str(e)[:200]}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.monotonic() - started
            if seconds > LIMIT:
                problems.append(f"{step}: {seconds:.1f} s")
    finally:
        signal.signal(signal.SIGALRM, previous)
    return problems


def through_cli(path: Path) -> list[str]:
    """`rsd check` and `rsd plan` of a file as a user runs them: no traceback, no internal error, exit 0 to 2."""
    problems = []
    for args in (["check", str(path)], ["plan", str(path), "-o", "BaseURL=http://127.0.0.1:9"]):
        done = subprocess.run([sys.executable, "-m", "rsd.cli", *args], capture_output=True, text=True,
                              cwd=path.parent, timeout=60)
        out = done.stdout + done.stderr
        if done.returncode not in (0, 1, 2) or "Traceback" in out or "internal error" in out:
            problems.append(f"rsd {args[0]}: exit {done.returncode}: {out[-300:]}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli", type=int, default=0, metavar="N", help="also run every N-th mutant through the CLI")
    args = ap.parse_args()
    import tempfile
    sys.path.insert(0, str(ROOT))
    texts = seeds(corpus=True)
    failures: list[tuple[int, str, list[str]]] = []
    slowest = 0.0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rsd-fuzz-") as tmp:
        folder = Path(tmp)
        for i, text in enumerate(mutants(texts, args.count, args.seed)):
            t0 = time.monotonic()
            problems = exercise(text, folder)
            if args.cli and i % args.cli == 0:
                problems += through_cli(folder / "M.rsd")
            slowest = max(slowest, time.monotonic() - t0)
            if problems:
                failures.append((i, text, problems))
                (folder.parent / f"rsd-fuzz-failure-{args.seed}-{i}.rsd").write_text(text, encoding="utf-8")
            if (i + 1) % 1000 == 0:
                print(f"{i + 1:,} mutants, {len(failures)} failing, slowest {slowest:.2f} s, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
    for i, _, problems in failures[:20]:
        print(f"mutant {i}: " + "; ".join(problems))
    print(f"{args.count:,} mutants from {len(texts)} profiles (seed {args.seed}): {len(failures)} with internal "
          f"errors or slower than {LIMIT:g} s; slowest check + plan {slowest:.2f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
