"""Fixtures for the RDS integration tests: a state dir whose postmasters are checked on exit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rds_helpers import assert_no_postgres_left

from chaoslab.services.rds.postgres import pg_root


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert_no_postgres_left(pg_root(tmp_path))
