"""`chaoslab run --time-scale N` against a running lab on another scale stops before anything
runs, and says both scales (docs/timing.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaoslab import labctl
from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.experiment.session import run_experiment


def test_a_running_lab_on_another_scale_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = {"pid": 4242, "api": "http://127.0.0.1:1", "stack": "default"}
    monkeypatch.setattr(labctl, "running_lab", lambda config: info)
    monkeypatch.setattr(labctl, "fetch_status", lambda found: {"time_scale": 60.0})

    def no_lab_may_start(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a lab is running: none may start")

    monkeypatch.setattr(labctl, "start_detached", no_lab_may_start)
    with pytest.raises(ChaoslabError) as refused:
        run_experiment({}, LabConfig(home=tmp_path), time_scale=10, report_dir=tmp_path / "out")
    assert "runs at time scale 60, not 10" in str(refused.value)
    assert "without --time-scale" in refused.value.hint
