"""What the SQLite and PostgreSQL sinks share: load modes, the staging-table name, and the column check.

Owns: `MODES`, checking a mode against the columns (upsert needs key columns), comparing an existing table with
the profile's columns (a different set of names, an incompatible type, or for upsert different key columns is a
`SinkError` that says to use `--mode replace`). Must not: talk to a database (the dialect modules do).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from ..errors import OptionError, SinkError
from .base import Sink
from .columns import SinkColumn
from .targets import STAGE_PREFIX

MODES = ("truncate", "append", "replace", "upsert")
BATCH_ROWS = 5000


def check_mode(mode: str, columns: Sequence[SinkColumn], table: str) -> str:
    m = (mode or "truncate").lower()
    if m not in MODES:
        raise OptionError(f"invalid --mode {mode!r}: use one of {', '.join(MODES)}")
    if not columns:
        raise OptionError(f"table {table!r}: the profile has no columns to load")
    seen: dict[str, str] = {}
    for c in columns:
        k = c.name.lower()
        if k in seen:
            raise OptionError(f"table {table!r}: duplicate column name {c.name!r} (also {seen[k]!r})")
        seen[k] = c.name
    if m == "upsert" and not any(c.key for c in columns):
        raise OptionError(
            f"--mode upsert into {table!r} needs key columns: mark them key=\"true\" in api:info",
            hint="or use --mode truncate, append or replace",
        )
    return m


def stage_name(table: str) -> str:
    """`_rsd_stage_<table>_<random>`, short enough for PostgreSQL's 63-byte identifiers."""
    short = table.rsplit(".", 1)[-1][:40]
    return f"{STAGE_PREFIX}{short}_{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class ExistingColumn:
    name: str
    declared: str  # the type as the database reports it
    family: str  # what `declared` is compatible with: see the dialect's `family`
    key: bool


def compare_columns(
    table: str,
    mode: str,
    expected: Sequence[SinkColumn],
    existing: Sequence[ExistingColumn],
    accepts: Callable[[SinkColumn, ExistingColumn], bool],
    *,
    fold_case: bool,
) -> Optional[str]:
    """None when `existing` can take the rows as they are; otherwise a message naming the differences."""
    norm = (lambda s: s.lower()) if fold_case else (lambda s: s)
    have = {norm(c.name): c for c in existing}
    want = {norm(c.name): c for c in expected}
    missing = [c.name for k, c in want.items() if k not in have]
    extra = [c.name for k, c in have.items() if k not in want]
    changed = [
        f"{c.name} ({have[k].declared} -> {c.type})"
        for k, c in want.items()
        if k in have and not accepts(c, have[k])
    ]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if extra:
        problems.append("not in the profile " + ", ".join(extra))
    if changed:
        problems.append("type changed " + ", ".join(changed))
    if not problems and mode == "upsert":
        keys_want = sorted(norm(c.name) for c in expected if c.key)
        keys_have = sorted(norm(c.name) for c in existing if c.key)
        if keys_want != keys_have:
            problems.append(
                f"primary key is ({', '.join(c.name for c in existing if c.key) or 'none'}), "
                f"the profile's key columns are ({', '.join(c.name for c in expected if c.key)})"
            )
    if not problems:
        return None
    return (
        f"table {table} exists with different columns ({'; '.join(problems)}); "
        f"--mode {mode} keeps the table definition: use --mode replace to recreate it"
    )


class DatabaseSink(Sink):
    """Common shape of the database sinks: rows go to a private staging table, `close` merges them in one
    transaction, `abort` drops the staging table and leaves the target untouched."""

    url_redacted: str = ""
    table: str = ""
    mode: str = "truncate"

    def columns_changed(self, existing: Sequence[ExistingColumn]) -> None:
        message = compare_columns(self.table, self.mode, self.columns, existing, self._accepts,
                                  fold_case=self._fold_case)
        if message:
            raise SinkError(f"{self.url_redacted}: {message}", hint="rsd run ... --mode replace")

    _fold_case = False

    def _accepts(self, column: SinkColumn, existing: ExistingColumn) -> bool:
        raise NotImplementedError
