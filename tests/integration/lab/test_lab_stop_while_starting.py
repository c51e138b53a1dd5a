"""A lab whose targets never become healthy: stopped while it waits, it stops at once (it used to
wait out the whole readiness timeout, 90 s, before it even looked at the signal); left to wait,
`up` says which targets do not serve and why instead of a bare "ready"."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml
from lab_helpers import free_port, status

from chaoslab.config import LabConfig
from chaoslab.daemon import READY_WAIT_SECONDS, cleanup_after_crash
from chaoslab.labctl import running_lab, start_detached, stop_lab
from chaoslab.store import Store

pytestmark = pytest.mark.netns_here


def never_healthy_stack(tmp: Path, octet: int) -> Path:
    """One static instance behind an ALB whose health check asks for a path the app 404s."""
    doc = {
        "name": "never-healthy",
        "vpc": {"cidr": f"10.{octet}.0.0/16", "subnets": {"us-east-1a": f"10.{octet}.10.0/24"}},
        "target_groups": [
            {
                "name": "tg",
                "port": 80,
                "target_type": "instance",
                "health_check": {"path": "/missing", "matcher": "200"},
            }
        ],
        "load_balancers": [{"name": "alb", "listeners": [{"port": 0, "target_group": "tg"}]}],
        "auto_scaling_groups": [
            {
                "name": "asg",
                "image": "chaoslab/static",
                "port": 80,
                "min": 1,
                "max": 1,
                "desired": 1,
                "azs": ["us-east-1a"],
                "target_groups": ["tg"],
            }
        ],
    }
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_sigterm_while_waiting_for_healthy_targets_stops_promptly(tmp_path: Path) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    config.ensure_home()
    octet = random.randint(101, 119)  # the own-range stream's band; 200-254 is the other stream's
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaoslab.daemon",
            "--stack",
            str(never_healthy_stack(tmp_path, octet)),
            "--fast",
            "--api-port",
            str(config.api_port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
    )
    owned: list[int] = []
    try:
        deadline = time.monotonic() + 60
        targets: list = []
        while time.monotonic() < deadline and not targets:  # built: the target is registered, not healthy
            time.sleep(0.2)
            info = running_lab(config)
            if info:
                try:
                    targets = status(info)["load_balancers"][0]["target_groups"][0]["targets"]
                except (OSError, IndexError, KeyError):
                    targets = []
        assert targets and targets[0]["state"] != "healthy"
        assert not running_lab(config).get("ready")
        owned = [pid for pid, _, _ in Store(config.home / "state.db").owned_processes()]
        assert owned, "the instance is a real process the lab recorded"
        sent = time.monotonic()
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=READY_WAIT_SECONDS / 2) == 130
        assert time.monotonic() - sent < 30
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
            cleanup_after_crash(config)  # what a killed lab left: its instance, namespaces, routes
    assert running_lab(config) is None
    assert [p for p in owned if psutil.pid_exists(p)] == []
    assert f"10.{octet}." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout


def test_up_names_the_targets_that_never_became_healthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    stack = never_healthy_stack(tmp_path, random.randint(101, 119))
    try:
        info = start_detached(config, str(stack), fast=True, ready_wait=4)
        out = capsys.readouterr().out
    finally:
        stop_lab(config, quiet=True)
    assert "started, but not everything is healthy" in out
    assert len(info["not_ready"]) == 1
    problem = info["not_ready"][0]
    assert problem.startswith("target i-") and " in tg: unhealthy" in problem
    assert "404" in problem or "mismatch" in problem.lower()  # the reason, as DescribeTargetHealth gives it
    assert problem in out
    assert running_lab(config) is None
