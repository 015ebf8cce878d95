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
