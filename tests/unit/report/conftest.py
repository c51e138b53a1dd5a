"""Fixtures for report tests: the realistic seed-003 journal."""

from __future__ import annotations

import pytest
from report_journal_fixture import make_journal


@pytest.fixture
def journal() -> dict:
    return make_journal()
