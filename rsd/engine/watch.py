"""No silent wrong loads: the warnings a run gives about its own profile, from what the data showed.

Owns: noticing (1) a non-empty response whose repeating element matched nothing, so the page gave no rows, and
(2) a column that is null in every row of a run that returned rows because its path matched nothing; and the
warning text for each (the path, what the document holds there, a did-you-mean). CData's semantics stay: a
missing path is null and the rows are not changed; these are warnings about the profile, which `--strict` turns
into a failed run. Must not: touch rows, or cost anything per value: pages are looked at once, columns once per
written batch (in C, `map`/`filter`), and only while some column has not been seen with a value.

A column whose path exists in the sample page and holds null there is data, not a wrong path: no warning.
"""
from __future__ import annotations

from functools import partial
from operator import is_not, itemgetter
from typing import TYPE_CHECKING, Optional, Sequence

from ..mapping.diagnose import Miss, explain_column, explain_repeat
from ..reader.ast import Column

if TYPE_CHECKING:
    from ..mapping import Document, Mapper
    from ..mapping.types import Row

_MISSING = object()
_not_none = partial(is_not, None)


class LoadWatch:
    """One per run: `page()` for every response page, `batch()` for every batch of typed rows written,
    `warnings()` at the end."""

    __slots__ = ("columns", "unseen", "rows", "_samples", "_explained", "_warnings")

    def __init__(self, columns: Sequence[Column]):
        self.columns = tuple(columns)
        self.unseen = set(range(len(self.columns)))  # column indexes not yet seen holding a value
        self.rows = 0
        self._samples: dict[Mapper, Document] = {}  # mapper -> the first page it mapped rows from
        self._explained: set[Mapper] = set()  # mappers whose empty pages were already explained
        self._warnings: list[str] = []

    def page(self, mapper: Mapper, doc: Document, rows: int, source: str, size: int) -> None:
        """A data page: `rows` rows mapped from `doc` (the response of `source`, `size` bytes)."""
        if rows:
            if mapper not in self._samples:
                self._samples[mapper] = doc
            return
        if mapper in self._explained:
            return
        miss = explain_repeat(mapper, doc)
        if miss is not None:
            self._explained.add(mapper)
            self._warnings.append(f"{source}: a response of {size:,} bytes gave no rows: the repeating element "
                                  f"{miss.describe()}")

    def batch(self, rows: Sequence[Row]) -> None:
        """Typed rows about to be written."""
        self.rows += len(rows)
        if not self.unseen:
            return
        for i in tuple(self.unseen):
            if next(filter(_not_none, map(itemgetter(i), rows)), _MISSING) is not _MISSING:
                self.unseen.discard(i)

    def warnings(self) -> list[str]:
        out = list(self._warnings)
        if not self.rows or not self.unseen:
            return out
        for i in sorted(self.unseen):
            miss = self._explain(i)
            if miss is None:
                continue
            column = self.columns[i]
            where = f" ({column.loc})" if getattr(column, "loc", None) else ""
            out.append(f"column {column.name!r}{where} is null in all {self.rows:,} rows: its path "
                       f"{miss.describe()}")
        return out

    def _explain(self, index: int) -> Optional[Miss]:
        for mapper, doc in self._samples.items():
            if index < len(mapper.columns) and mapper.columns[index] is self.columns[index]:
                return explain_column(mapper, doc, index)
        return None
