"""Run history: one row per run (or job step) in `_rsd_runs` of the target database.

Owns: the `_rsd_runs` schema (created when absent) and `record_run`. Must not: redact (the caller passes error
text already redacted) or decide a run's status.

Schema (SQLite types in brackets): id bigint identity [INTEGER PRIMARY KEY], job text, step text, target_table
text, started timestamptz [TEXT, ISO 8601 UTC], finished timestamptz [TEXT], rows bigint, pages bigint,
requests bigint, status text, error text.
"""
from __future__ import annotations

import datetime as _dt
from typing import Optional, Union

from ..errors import OptionError, SinkError
from . import postgres, sqlite
from .targets import RUNS_TABLE, parse_target, redact_url

Instant = Union[_dt.datetime, float, int, str, None]

_FIELDS = ("job", "step", "target_table", "started", "finished", "rows", "pages", "requests", "status", "error")
_SQLITE_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{RUNS_TABLE}" (id INTEGER PRIMARY KEY, job TEXT, step TEXT, target_table TEXT, '
    "started TEXT, finished TEXT, rows INTEGER, pages INTEGER, requests INTEGER, status TEXT, error TEXT)"
)
_POSTGRES_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{RUNS_TABLE}" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text, '
    "step text, target_table text, started timestamptz, finished timestamptz, rows bigint, pages bigint, "
    "requests bigint, status text, error text)"
)


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
) -> None:
    """Insert one row into `_rsd_runs` of the SQLite or PostgreSQL database `target_url` (created if absent)."""
    target = parse_target(target_url, base_dir)
    values = (job, step, table, _iso(started), _iso(finished), rows, pages, requests, status, error)
    columns = ", ".join(f'"{f}"' for f in _FIELDS)
    if target.kind == "sqlite":
        conn = sqlite.connect(target.location)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SQLITE_DDL)
            conn.execute(f'INSERT INTO "{RUNS_TABLE}" ({columns}) VALUES ({", ".join("?" * len(_FIELDS))})', values)
            conn.execute("COMMIT")
        except Exception as exc:
            raise SinkError(f"recording the run in {target_url}: {exc}") from exc
        finally:
            conn.close()
        return
    if target.kind == "postgres":
        psycopg = postgres.import_psycopg()
        conn = postgres.connect(target.location)
        try:
            with conn.transaction():
                # Serialise concurrent first runs: CREATE TABLE IF NOT EXISTS can race on the catalog.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('rsd._rsd_runs'))")
                conn.execute(_POSTGRES_DDL)
                conn.execute(
                    f'INSERT INTO "{RUNS_TABLE}" ({columns}) VALUES ({", ".join(["%s"] * len(_FIELDS))})', values
                )
        except psycopg.Error as exc:
            message = postgres.scrub(f"recording the run in {redact_url(target_url)}: {exc}", target.location)
            raise SinkError(message) from exc
        finally:
            conn.close()
        return
    raise OptionError(f"run history needs a database target (sqlite:/// or postgresql://), not {target_url!r}")
