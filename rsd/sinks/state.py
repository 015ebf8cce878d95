"""Incremental state: the high-water mark of a cursor column, as a database keeps it (`_rsd_state`) and as a file
output keeps it (a state file beside the output, committed with it).

Owns: the `_rsd_state` table's name, columns and statements (portable SQL every dialect of `DatabaseSink` runs in
the load's own transaction), the text form of a mark (`mark_text`: ISO 8601 for dates and datetimes, a plain number
for numbers, as the column's type says), which columns can be a cursor (`check_cursor`), and the file protocol
(`FileState`: the mark of a file output, replaced with the file so that a run killed at any point leaves the file
and its mark as the previous run left them). Must not: connect to a database, choose a mark's value (the caller
reads `MAX(cursor)`), or know the profile.

The file protocol, in two steps around the rename of the output (`os.replace`):
1. before it, the state file is rewritten with the old mark and a *pending* mark naming the new output file by
   identity (device, inode, size, modification time of the finished temporary file, which the rename keeps);
2. after it, the state file is rewritten with the new mark alone.
A kill between the two leaves a pending mark: the next run takes it if the output in place is that file (the
rename happened), else the old one. Each rewrite is itself atomic (temporary file, fsync, rename).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..atomic import write_atomically
from ..errors import OptionError
from ..mapping.documents import JsonValue
from .columns import SinkColumn
from .targets import quote_ident

STATE_TABLE = "_rsd_state"
#: the column types a cursor may have: values that grow as records change
CURSOR_TYPES = ("datetime", "date", "integer", "number", "string")

STATE_DDL = (f"CREATE TABLE IF NOT EXISTS {quote_ident(STATE_TABLE)} (target_table TEXT NOT NULL, "
             "cursor_column TEXT NOT NULL, mark TEXT, updated TEXT, PRIMARY KEY (target_table, cursor_column))")


def state_upsert(param: str) -> str:
    """The statement that stores one mark (`param` is the driver's placeholder: `?` or `%s`)."""
    marks = ", ".join([param] * 4)
    return (f"INSERT INTO {quote_ident(STATE_TABLE)} (target_table, cursor_column, mark, updated) VALUES ({marks}) "
            "ON CONFLICT (target_table, cursor_column) DO UPDATE SET mark = excluded.mark, updated = excluded.updated")


def check_cursor(columns: Sequence[SinkColumn], name: str) -> SinkColumn:
    """The profile's column `name` (case-insensitive), which must be of a type that can be a cursor."""
    for c in columns:
        if c.name.lower() == name.lower():
            if c.type not in CURSOR_TYPES:
                raise OptionError(f"--incremental {name}: the column is {c.type}; a cursor column must be a datetime, "
                                  f"date, number or text that grows as records change (such as updated_at)")
            return c
    raise OptionError(f"--incremental {name}: the profile has no column {name!r}",
                      hint="columns: " + ", ".join(c.name for c in columns))


def mark_text(value: object) -> Optional[str]:
    """A mark as the profile gets it in `[_input.NAME]`: ISO 8601 text (UTC written `Z`) for a date or datetime, a
    number without a needless `.0`, other values as text; None for no mark."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.utcoffset() == _dt.timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "is_integer") and hasattr(value, "as_integer_ratio"):  # Decimal
        return format(value, "f")
    return str(value)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def greatest(a: Optional[str], b: Optional[str], column: SinkColumn) -> Optional[str]:
    """The larger of two marks of `column` (numbers compared as numbers, anything else as text)."""
    if a is None or b is None:
        return a if b is None else b
    if column.type in ("integer", "number"):
        try:
            return a if float(a) >= float(b) else b
        except ValueError:
            pass
    return a if a >= b else b


# -- file outputs ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileIdentity:
    """What survives `os.replace`: the same inode, size and modification time."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> Optional["FileIdentity"]:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def to_json(self) -> list[int]:
        return [self.device, self.inode, self.size, self.mtime_ns]


class FileState:
    """The mark of one file output, kept in `state_path(output)`; see the module's docstring for the protocol."""

    def __init__(self, output: str, cursor: str):
        self.output = output
        self.cursor = cursor
        self.path = state_path(output)

    def read(self) -> Optional[str]:
        """The mark the output in place was written with (None: no state, or state for another cursor column)."""
        doc = self._load()
        entry = doc.get("cursors", {}).get(self.cursor.lower())
        if not isinstance(entry, dict):
            return None
        pending = entry.get("pending")
        if isinstance(pending, dict):
            now = FileIdentity.of(self.output)
            if now is not None and now.to_json() == pending.get("file"):
                return pending.get("mark")
        return entry.get("mark")

    def prepare(self, old: Optional[str], new: Optional[str], finished_temp: str) -> None:
        """Step 1, before the output's rename: the new mark, pending on the file that is about to be renamed."""
        ident = FileIdentity.of(finished_temp)
        self._write(old, {"mark": new, "file": ident.to_json() if ident else None})

    def commit(self, new: Optional[str]) -> None:
        """Step 2, after the rename."""
        self._write(new, None)

    def _load(self) -> dict[str, JsonValue]:
        try:
            doc = json.loads(Path(self.path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise OptionError(f"{self.path}: the incremental state file cannot be read ({exc}); delete it and run "
                              f"with --full-refresh") from exc
        return doc if isinstance(doc, dict) else {}

    def _write(self, mark: Optional[str], pending: Optional[dict[str, JsonValue]]) -> None:
        doc = self._load()
        doc["output"] = os.path.basename(self.output)
        cursors = doc.setdefault("cursors", {})
        entry: dict[str, JsonValue] = {"column": self.cursor, "mark": mark, "updated": utc_now()}
        if pending is not None:
            entry["pending"] = pending
        cursors[self.cursor.lower()] = entry
        write_atomically(self.path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def state_path(output: str) -> str:
    """`accounts.csv` -> `accounts.csv.rsd-state.json`, beside it."""
    return output + ".rsd-state.json"
