"""Volume I/O faults: the control file is journaled before it changes, the revert clears it (and
is idempotent, with or without the volume), and a second fault on a busy volume is refused before
it is journaled, so its revert can never clear the first one's setting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.faults.base import FaultStartError
from chaoslab.faults.volume_io import VolumeLatency, VolumePause
from chaoslab.runtime.volume_control import IoControl, read_control, write_control

DEAD_LAB = SimpleNamespace(ec2=None, ecs=None, ssm=None, gateway=None)


def _latency(path: Path) -> VolumeLatency:
    return VolumeLatency(path, "vol-1", read_ms=0, write_ms=50, read_percent=100.0, write_percent=100.0)


def test_pause_is_journaled_before_it_takes_effect_and_reverted_once(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    write_control(path, IoControl())
    seen: list[tuple[str, IoControl]] = []
    record = asyncio.run(VolumePause(path, "vol-1").apply(lambda name, _: seen.append((name, read_control(path)))))
    assert seen == [("volume.pause", IoControl())] and read_control(path) == IoControl(paused=True)
    assert record == {"control": str(path), "target": "vol-1"}
    for _ in range(2):
        asyncio.run(VolumePause.revert(DEAD_LAB, record))
        assert read_control(path) == IoControl()


def test_latency_sets_the_asked_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    record = asyncio.run(_latency(path).apply(lambda *_: None))
    assert read_control(path).write_latency_ms == 50
    asyncio.run(VolumeLatency.revert(DEAD_LAB, record))
    assert read_control(path) == IoControl()


def test_a_second_fault_on_a_busy_volume_is_refused_unjournaled(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    asyncio.run(VolumePause(path, "vol-1").apply(lambda *_: None))
    journal: list[Any] = []
    with pytest.raises(FaultStartError, match="already has an I/O fault"):
        asyncio.run(_latency(path).apply(lambda *entry: journal.append(entry)))
    assert journal == [] and read_control(path) == IoControl(paused=True)


def test_revert_of_a_deleted_volume_does_nothing(tmp_path: Path) -> None:
    record = {"control": str(tmp_path / "gone" / "control.json"), "target": "vol-1"}
    asyncio.run(VolumePause.revert(DEAD_LAB, record))
    assert not (tmp_path / "gone").exists()
