"""A tiny lab with only what IamBackend touches: config, a real SQLite store and an event log."""

from __future__ import annotations

import pytest
from iam_helpers import make_lab


@pytest.fixture
def lab(tmp_path):
    lab = make_lab(tmp_path)
    yield lab
    lab.store.close()


@pytest.fixture
def iam(lab):
    return lab.iam
