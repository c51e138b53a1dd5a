"""Journal file: round trip, non-finite numbers become null, bad files are user errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.report import read_journal, write_journal


def test_round_trip_and_readable_mode(journal: dict, tmp_path: Path) -> None:
    path = write_journal(journal, tmp_path / "deep" / "journal.json")
    assert read_journal(path) == json.loads(json.dumps(journal))
    assert os.stat(path).st_mode & 0o044  # others can read a shared report
    assert [p.name for p in path.parent.iterdir()] == ["journal.json"]  # no temp left


def test_nan_becomes_null(journal: dict, tmp_path: Path) -> None:
    journal["windows"]["recovery_time_s"] = float("nan")
    path = write_journal(journal, tmp_path / "j.json")
    assert read_journal(path)["windows"]["recovery_time_s"] is None


def test_not_a_journal(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ChaoslabError):
        read_journal(bad)
    with pytest.raises(ChaoslabError):
        read_journal(tmp_path / "missing.json")
