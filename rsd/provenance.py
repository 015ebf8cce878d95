"""Provenance of text: which characters came from a response (data) rather than from the profile or the user.

Owns: the two text types that carry it and the operations that keep it. `Data` is text that came from a response (a
mapped value, an element map, a response header or URL, an error the API wrote); `Spliced` is text a template
rendered from profile text and data, with the (start, end) `spans` of the data. Both are `str`, so everything that
reads text reads them unchanged; what must not treat data as profile source asks `data_spans`: `{name}` placeholders
are expanded only outside data (`rsd.engine.request.fill_placeholders`), and a name in which data would choose the
item (or an option of `_connection`) is not followed (`data_chooses_item`). `[...]` templates are compiled from
profile text only, never from values, so data is never template source either. Values leave the engine as plain
`str` (`plain`) before they are typed and written.

Must not: import anything of rsd, or decide what to do with data (its users do).
"""
from __future__ import annotations

from typing import Iterable, Optional

Spans = tuple[tuple[int, int], ...]


class Data(str):
    """Text that came from a response: data, never profile source."""

    __slots__ = ()


class Spliced(str):
    """Text rendered from profile text and response data. `spans` are the (start, end) ranges of the data, worked
    out from the pieces it was joined from when first asked (most rendered text is never asked)."""

    _pieces: tuple[str, ...]
    _spans: Optional[Spans]

    @property
    def spans(self) -> Spans:
        spans = self.__dict__.get("_spans")
        if spans is None:
            spans = self._spans = _spans_of(self._pieces)
            del self._pieces
        return spans


def _spliced(text: str, pieces: tuple[str, ...]) -> Spliced:
    out = Spliced(text)
    out._pieces = pieces
    return out


def _from_spans(text: str, spans: Spans) -> str:
    out = Spliced(text)
    out._spans = spans
    return out


DATA_TYPES = frozenset({Data, Spliced})


def mark(value: object) -> object:
    """A value read from a response, as the engine keeps it: text that could act as source becomes `Data`.

    Only text holding a `{` (a placeholder), a `.` (an `item.attr` name) or starting with `file:` (a scheme) could
    ever be taken for profile source; any other text is data whatever it is called, so it stays a plain `str` and
    costs nothing (most values of most rows)."""
    if type(value) is str and ("{" in value or "." in value or value[:5].lower() == "file:"):
        return Data(value)
    return value


def plain(value: object) -> object:
    """A value as it leaves the engine (to typing and output): `Data`/`Spliced` become a plain `str`."""
    return str.__str__(value) if type(value) in DATA_TYPES else value


def data_spans(text: object) -> Spans:
    """The (start, end) ranges of `text` that came from a response; () for profile text."""
    if isinstance(text, Spliced):
        return text.spans
    if type(text) is Data:
        return ((0, len(text)),) if text else ()
    return ()


def is_data(text: object) -> bool:
    """Whether any of `text` came from a response."""
    return bool(data_spans(text))


def overlaps(spans: Spans, start: int, end: int) -> bool:
    """Whether [start, end) touches data."""
    return any(s < end and start < e for s, e in spans)


def _spans_of(pieces: Iterable[str]) -> Spans:
    spans: list[tuple[int, int]] = []
    at = 0
    for p in pieces:
        t = type(p)
        if t is Data or t is Spliced:
            for s, e in data_spans(p):
                if spans and spans[-1][1] == at + s:
                    spans[-1] = (spans[-1][0], at + e)  # adjacent data: one span
                else:
                    spans.append((at + s, at + e))
        at += len(p)
    return tuple(spans)


def splice(pieces: Iterable[str], exact: bool = False) -> str:
    """The pieces joined, keeping where the data is: a plain `str` when none is data.

    Unless `exact`, text that starts with data and whose other pieces hold no `{` is `Data` as a whole: nothing in
    it is a placeholder and its scheme is the data's, which is all a URI asks (the common case, and the cheap one)."""
    parts = tuple(pieces)
    text = "".join(parts)
    types = set(map(type, parts))
    if DATA_TYPES.isdisjoint(types):
        return text
    if not exact and Spliced not in types:
        first = next((p for p in parts if p), "")
        if type(first) is Data and not any("{" in p for p in parts if type(p) is str):
            return Data(text)
    return _spliced(text, parts)


def cut(text: str, start: int, end: Optional[int] = None) -> str:
    """`text[start:end]`, keeping where the data is."""
    end = len(text) if end is None else end
    part = str(str.__getitem__(text, slice(start, end)))
    spans = tuple((max(s, start) - start, min(e, end) - start) for s, e in data_spans(text) if s < end and start < e)
    if not spans:
        return part
    if spans == ((0, len(part)),):
        return Data(part)
    return _from_spans(part, spans)


def data_chooses_item(name: str) -> bool:
    """Whether response data in a reference or attribute name (`item.attr`) would decide what it reaches: data in
    the item part (before the first dot), or data in any name of `_connection`, whose values are the user's options
    and secrets. A response must not choose what a profile reads or writes there."""
    spans = data_spans(name)
    if not spans:
        return False
    dot = name.find(".")
    if dot < 0:
        return False
    return overlaps(spans, 0, dot) or name[:dot].strip().lower() == "_connection"
