"""The profiles in the documentation are real: every complete ```xml block of docs/authoring.md and README.md
passes `rsd check` without errors, and every block carrying a `<!-- demo API: ... -->` comment runs against
the bundled demo API with exactly the rows, pages and stop reason that comment states.

A block whose first line is `<!-- fragment -->` (or starts with `<!-- fragment:`) is a piece of a profile and
is only required to be marked as such.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import rsd
from rsd.check import check_paths
from rsd.demo.server import DemoServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "authoring.md", ROOT / "README.md")

_BLOCK = re.compile(r"^```xml[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_FRAGMENT = re.compile(r"\A\s*<!--\s*fragment\b")
# <!-- demo API: 237 rows in 3 pages; stops: <reason>[; inputs: a=1 b=2] -->
_DEMO = re.compile(r"<!--\s*demo API:\s*(\d+) rows? in (\d+) pages?; stops: (.*?)(?:; inputs: (.*?))?\s*-->")


def _blocks(path: Path) -> list[tuple[str, int, str]]:
    """(doc name, line of the opening fence, block text) of every ```xml block in `path`."""
    text = path.read_text(encoding="utf-8")
    return [(path.name, text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


ALL_BLOCKS = [b for doc in DOCS for b in _blocks(doc)]
COMPLETE = [b for b in ALL_BLOCKS if not _FRAGMENT.match(b[2])]
RUNNABLE = [(b, _DEMO.search(b[2])) for b in COMPLETE if _DEMO.search(b[2])]


def _id(block) -> str:
    return f"{block[0]}:{block[1]}"


def test_the_guide_has_examples():
    # a broken fence pattern must not make every test below vacuous
    assert len(COMPLETE) >= 15
    assert len(RUNNABLE) >= 12


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[_id(b) for b in ALL_BLOCKS])
def test_block_is_a_profile_or_marked_fragment(block):
    name, line, text = block
    if _FRAGMENT.match(text):
        return
    first = next(ln for ln in text.splitlines() if ln.strip())
    assert re.match(r"\s*<(api|rsb|arc):script\b", first), (
        f"{name}:{line}: an xml block must be a complete profile or start with <!-- fragment -->")


@pytest.mark.parametrize("block", COMPLETE, ids=[_id(b) for b in COMPLETE])
def test_complete_profiles_check_without_errors(block, tmp_path):
    name, line, text = block
    path = tmp_path / f"example_{line}.rsd"
    path.write_text(text, encoding="utf-8")
    errors = [d for d in check_paths([path]) if d.severity == "error"]
    assert not errors, f"{name}:{line}: " + "; ".join(f"{d.code} {d.message}" for d in errors)


@pytest.fixture(scope="module")
def demo():
    with DemoServer(require_auth=False) as srv:
        yield srv


@pytest.mark.parametrize("block,marker", RUNNABLE, ids=[_id(b) for b, _ in RUNNABLE])
def test_examples_run_against_the_demo_api(block, marker, demo, tmp_path):
    name, line, text = block
    rows, pages, reason, inputs = int(marker.group(1)), int(marker.group(2)), marker.group(3), marker.group(4)
    path = tmp_path / f"example_{line}.rsd"
    path.write_text(text, encoding="utf-8")
    given = [tuple(pair.split("=", 1)) for pair in (inputs or "").split()]
    result = rsd.collect(str(path), options=[("BaseURL", demo.url)], inputs=given)
    summary = result.summary
    assert len(result.rows) == rows, f"{name}:{line}: {len(result.rows)} rows, the guide says {rows}"
    assert summary.rows == rows
    assert summary.pages == pages, f"{name}:{line}: {summary.pages} pages, the guide says {pages}"
    assert summary.stop_reason == reason, f"{name}:{line}: stopped because {summary.stop_reason!r}"
