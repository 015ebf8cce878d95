"""Run history: one row per run (or job step) in `_rsd_runs` of the target database.

Owns: the `_rsd_runs` columns and `record_run`. Must not: redact (the caller passes error text already redacted),
decide a run's status, or speak a dialect (each database sink's `record` creates the table with its types and
inserts the row).

Columns (types as each dialect declares them): id (identity), job, step, target_table, started and finished
(timestamps, ISO 8601 UTC where the database has no timestamp type), rows, pages, requests, status, error, warnings
(a JSON array of the run's warnings, null when there were none).

Columns added after the table's first shape are listed in `ADDED_COLUMNS` (name -> canonical type): each dialect's
`record` adds the missing ones to an existing `_rsd_runs` in place, so older history stays where it is.
"""
from __future__ import annotations

import datetime as _dt
import json
from typing import Optional, Sequence, Union

from ..errors import OptionError
from .registry import DATABASES
from .targets import RUNS_TABLE, DatabaseTarget, parse_target

Instant = Union[_dt.datetime, float, int, str, None]

FIELDS = ("job", "step", "target_table", "started", "finished", "rows", "pages", "requests", "status", "error",
          "warnings")

#: columns of `_rsd_runs` added since its first release (name -> canonical type): migrated in place
ADDED_COLUMNS = {"warnings": "string"}


def _iso(value: Instant) -> Optional[str]:
    """A datetime (naive = local time), an epoch number or ISO text -> ISO 8601 in UTC."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).isoformat()


def record_run(
    target_url: str,
    *,
    job: Optional[str],
    step: Optional[str],
    started: Instant,
    finished: Instant,
    rows: Optional[int],
    pages: Optional[int],
    requests: Optional[int],
    status: str,
    error: Optional[str],
    table: Optional[str] = None,
    base_dir: str = ".",
    warnings: Sequence[str] = (),
) -> None:
    """Insert one row into `_rsd_runs` of the database `target_url` (created if absent)."""
    target = parse_target(target_url, base_dir)
    if not isinstance(target, DatabaseTarget):
        raise OptionError(f"run history needs a database target ({', '.join(d.example for d in DATABASES.values())}),"
                          f" not {target_url!r}")
    values = (job, step, table, _iso(started), _iso(finished), rows, pages, requests, status, error,
              json.dumps(list(warnings), ensure_ascii=False) if warnings else None)
    DATABASES[target.kind].load().record(target, RUNS_TABLE, FIELDS, values, added=ADDED_COLUMNS)
