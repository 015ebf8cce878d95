"""The `table` format: a rich table for a terminal.

Owns: rendering the first `max_rows` rows as a table (numbers right-aligned, null shown dim, booleans as
`true`/`false`) and a line saying how many more rows there were. Must not: hold more than `max_rows` rows
(the rest are counted, not kept) or print anything when the run is aborted.
"""
from __future__ import annotations

import errno
from typing import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..mapping.types import Row
from .base import Sink
from .columns import SinkColumn
from .files import Output

_NULL = Text("null", style="dim")
_RIGHT = ("integer", "number")


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich exits the process (SystemExit(1)); a sink reports it instead, and the CLI ends quietly (`| head`)
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def _cell(value: object) -> Text | str:
    if value is None:
        return _NULL
    if value is True:
        return "true"
    if value is False:
        return "false"
    return Text(str(value))  # Text, not str: rich would read markup like "[b]" in API data


class TableSink(Sink):
    def __init__(self, columns: Sequence[SinkColumn], output: Output, *, max_rows: int = 100, title: str | None = None):
        super().__init__(columns)
        self.description = output.name
        self.output = output
        self.max_rows = max(0, max_rows)
        self.title = title
        self._rows: list[Row] = []

    def _write(self, rows: Iterable[Row]) -> int:
        keep = self._rows
        n = 0
        for row in rows:
            if len(keep) < self.max_rows:
                keep.append(row)
            n += 1
        return n

    def _commit(self) -> None:
        table = Table(title=self.title, show_lines=False, header_style="bold")
        for c in self.columns:
            table.add_column(c.name, justify="right" if c.type in _RIGHT else "left", overflow="fold")
        for row in self._rows:
            table.add_row(*(_cell(v) for v in row))
        console = _Console(file=self.output.file, highlight=False, soft_wrap=False)
        console.print(table)
        more = self.rows_written - len(self._rows)
        if more > 0:
            console.print(Text(
                f"… {more:,} more row{'s' if more != 1 else ''} not shown "
                f"({len(self._rows):,} of {self.rows_written:,} shown)", style="dim"))
        self._rows = []
        self.output.commit()

    def _rollback(self) -> None:
        self._rows = []
        self.output.discard()
