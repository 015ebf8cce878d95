"""Output of `rsd check`: text lines, JSON, and the summary line.

Owns: how a list of diagnostics is printed. Must not: decide what is a diagnostic.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from ..errors import Diagnostic


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.loc.path, d.loc.line, d.loc.column, d.code)


def format_text(diagnostics: Iterable[Diagnostic]) -> str:
    """One `path:line:col: severity: [CODE] message` entry a diagnostic, each with its `hint:` line."""
    return "\n".join(d.format() for d in diagnostics)


def to_json(diagnostics: Iterable[Diagnostic]) -> list[dict[str, Any]]:
    return [d.to_json() for d in diagnostics]


def format_json(diagnostics: Iterable[Diagnostic]) -> str:
    """A JSON array of `{path,line,column,severity,code,message,hint}`."""
    return json.dumps(to_json(diagnostics), ensure_ascii=False, indent=2)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(diagnostics: Sequence[Diagnostic], files: int) -> str:
    """`N errors, M warnings in K files`."""
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(files, 'file')}"
