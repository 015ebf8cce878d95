"""Incremental loads into DuckDB: the tests SQLite and PostgreSQL pass (tests/test_incremental.py), run here with a
DuckDB `db` (the mark in `_rsd_state` of the file, committed with the rows; a SIGKILL between runs)."""
from __future__ import annotations

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from sink_helpers.backends import DuckDbBackend  # noqa: E402
from test_incremental import (  # noqa: E402,F401
    srv,
    test_incremental_with_a_numeric_cursor_sends_a_number,
    test_job_run_twice_loads_changes_only_and_a_kill_in_between_leaves_table_and_mark,
    test_run_incremental_then_full_refresh,
)


@pytest.fixture
def db(tmp_path):
    return DuckDbBackend(tmp_path)
