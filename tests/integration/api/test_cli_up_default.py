"""The README's first command, as typed: `chaoslab up --detach` with no stack argument starts the
bundled default stack (seed 003's Chaos Shop on 10.0.0.0/16, ALB on 8080), and `chaoslab down`
stops it. The default range and port are why this lives in the shared-range stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_lab import free_port

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]


def chaoslab(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAOSLAB_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "chaoslab", *args], capture_output=True, text=True, env=env, timeout=90
    )


def test_up_without_a_stack_starts_the_default_stack(tmp_path: Path) -> None:
    home = tmp_path / "home"
    up = chaoslab(home, "up", "--detach", "--fast", "--api-port", str(free_port()))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "ready" in up.stdout and "127.0.0.1:8080" in up.stdout
        lab = json.loads((home / "lab.json").read_text())
        assert lab["stack"] == "chaos-lab"  # the default stack's name
    finally:
        down = chaoslab(home, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (home / "lab.json").exists()
