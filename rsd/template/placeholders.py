"""`{name}` URI placeholders (Matillion URI parameters, API-driver `{List}`): find and substitute them.

Only identifier-like names are placeholders — `{date-in}`, `{List}`, `{_input.id}` — so JSON such as
`{"a":1}` or `{}` is never touched. Not part of template evaluation; the engine applies these after
rendering a URI. Must not: decide where values come from (the caller's `lookup` does).
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from rsd.formatters import to_text

PLACEHOLDER = re.compile(r"\{([^\W\d][\w.:@#\-]*)\}")


def placeholders(text: str) -> list[str]:
    """Names of the `{name}` placeholders in `text`, in order, without duplicates."""
    seen: dict[str, None] = {}
    for m in PLACEHOLDER.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def substitute_placeholders(text: str, lookup: Callable[[str], Optional[object]],
                            encode: Optional[Callable[[str], str]] = None) -> str:
    """Replace each `{name}` for which `lookup(name)` is not None (rendered as template text, then
    passed through `encode`, e.g. URL quoting); placeholders without a value are left as they are."""
    def one(m: re.Match[str]) -> str:
        value = lookup(m.group(1))
        if value is None:
            return str(m.group(0))
        out = to_text(value)
        return encode(out) if encode else out

    return PLACEHOLDER.sub(one, text)
