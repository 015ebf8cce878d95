"""`{name}` URI placeholders (Matillion URI parameters, API-driver `{List}`): find and substitute them.

Only identifier-like names are placeholders — `{date-in}`, `{List}`, `{_input.id}` — so JSON such as
`{"a":1}` or `{}` is never touched. Not part of template evaluation; the engine applies these after
rendering a URI, and only to the profile's text: a `{name}` inside response data (`rsd.provenance`) stays as it
is. Must not: decide where values come from (the caller's `lookup` does).
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from rsd.formatters import to_text
from rsd.provenance import Data, cut, data_spans, is_data, overlaps, splice

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
    passed through `encode`, e.g. URL quoting); placeholders without a value are left as they are.

    A `{name}` inside text that came from a response (`rsd.provenance`) is data, not a placeholder: it is left as
    it is and `lookup` is not asked. The result keeps where the data is (a value that is data stays data)."""
    spans = data_spans(text)
    if not spans:
        def one(m: re.Match[str]) -> str:
            value = lookup(m.group(1))
            if value is None:
                return str(m.group(0))
            out = to_text(value)
            if type(out) is not str:
                raise _HasData()
            return encode(out) if encode else out

        try:
            return PLACEHOLDER.sub(one, text)
        except _HasData:
            pass  # a value is data: build the result piece by piece, below
    pieces: list[str] = []
    at = 0
    for m in PLACEHOLDER.finditer(text):
        if overlaps(spans, m.start(), m.end()):
            continue
        value = lookup(m.group(1))
        if value is None:
            continue
        out = to_text(value)
        encoded = encode(str.__str__(out)) if encode else str.__str__(out)
        pieces += [cut(text, at, m.start()), Data(encoded) if is_data(out) and encoded else encoded]
        at = m.end()
    pieces.append(cut(text, at))
    return splice(pieces)


class _HasData(Exception):
    """A placeholder's value is response data: the fast substitution cannot say where it is."""
