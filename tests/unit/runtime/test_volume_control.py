"""The volume I/O control channel: what the file says, how the server's gate reads it (only when
it changed), that a pause holds an operation until it is cleared and that a latency is added to
the share of operations it names. The real mount is in
tests/integration/api/test_boto3_ebs.py; where the host lacks FUSE, `chaoslab up` says so."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from chaoslab.runtime import hostcaps
from chaoslab.runtime.volume_control import Gate, IoControl, read_control, write_control


def test_the_file_round_trips_and_no_file_is_no_fault(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    assert read_control(path) == IoControl()
    setting = IoControl(paused=True, read_latency_ms=5, write_latency_ms=50, read_percent=10.0)
    write_control(path, setting)
    assert read_control(path) == setting
    assert [p.name for p in tmp_path.iterdir()] == ["control.json"]  # the temporary file is renamed away


def test_an_unreadable_file_is_no_fault(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    path.write_text("{half")
    assert read_control(path) == IoControl()
    path.write_text('["paused"]')
    assert read_control(path) == IoControl()
    path.write_text('{"paused": true, "from_a_newer_lab": 1}')
    assert read_control(path) == IoControl(paused=True)


def test_latency_applies_to_its_kind_and_share() -> None:
    slow = IoControl(read_latency_ms=200, write_latency_ms=50, read_percent=10.0)
    assert slow.delay("write", 99.9) == 0.05
    assert slow.delay("read", 9.9) == 0.2
    assert slow.delay("read", 10.0) == 0.0
    assert IoControl().delay("write", 0.0) == 0.0


def test_the_share_of_delayed_operations_follows_the_percentage() -> None:
    rng = random.Random(7)
    control = IoControl(read_latency_ms=1, read_percent=25.0)
    draws = [control.delay("read", rng.random() * 100.0) for _ in range(4000)]
    assert 0.22 < sum(1 for d in draws if d) / len(draws) < 0.28


def test_the_gate_rereads_only_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    gate = Gate(path)
    assert gate.refresh() == IoControl()
    write_control(path, IoControl(write_latency_ms=7))
    assert gate.refresh().write_latency_ms == 7
    seen = gate.control
    assert gate.refresh() is seen  # unchanged: not parsed again
    path.unlink()
    assert gate.refresh() == IoControl()


def test_a_pause_holds_an_operation_until_it_is_cleared(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    write_control(path, IoControl(paused=True))
    gate = Gate(path)
    threading.Timer(0.3, write_control, (path, IoControl())).start()
    held = gate.wait("write")
    assert 0.28 < held < 0.6


def test_a_latency_is_added_to_each_operation(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    write_control(path, IoControl(write_latency_ms=30))
    gate = Gate(path)
    started = time.monotonic()
    for _ in range(5):
        gate.wait("write")
    assert 0.15 <= time.monotonic() - started < 0.4
    assert gate.wait("read") < 0.02


def test_a_host_without_fuse_is_said_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostcaps, "fuse_unavailable", lambda: "there is no /dev/fuse")
    [note] = [n for n in hostcaps.limitations("netns") if "volume" in n]
    assert "there is no /dev/fuse" in note and "pause-volume-io" in note
    monkeypatch.setattr(hostcaps, "fuse_unavailable", lambda: None)
    assert not [n for n in hostcaps.limitations("netns") if "volume" in n]
