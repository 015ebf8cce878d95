"""Fixtures shared by test modules."""
from __future__ import annotations

import pytest

from sink_helpers.backends import BACKENDS, make_backend


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path):
    """An empty database, once SQLite and once PostgreSQL (skipped without RSD_TEST_POSTGRES_URL)."""
    backend = make_backend(request.param, tmp_path)
    yield backend
    backend.close()


@pytest.fixture(autouse=True)
def _collector_as_found():
    """The cyclic garbage collector as each test found it: `rsd run` and `rsd job run` tune their own process's
    collector after the first page (`rsd.commands.freeze_after_first`), and tests run commands in this process."""
    import gc

    threshold = gc.get_threshold()
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*threshold)
