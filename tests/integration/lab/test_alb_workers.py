"""The ALB's data plane runs in worker processes of the lab, and they die with it: after
`chaoslab down` and after the lab process is SIGKILLed (no `down`, no chance to clean up); a
worker killed on its own is replaced."""

from __future__ import annotations

import json
import os
import random
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml
from lab_helpers import free_port, status

from chaoslab.config import LabConfig
from chaoslab.daemon import cleanup_after_crash
from chaoslab.labctl import running_lab, start_detached, stop_lab
from chaoslab.runtime.network import unused_vpc_octet

pytestmark = pytest.mark.netns_here


def alb_only_stack(tmp: Path, octet: int) -> Path:
    """An ALB with a listener and an empty target group (nothing else to start), two workers."""
    doc = {
        "name": "alb-workers",
        "alb": {"workers": 2},
        "vpc": {"cidr": f"10.{octet}.0.0/16", "subnets": {"us-east-1a": f"10.{octet}.10.0/24"}},
        "target_groups": [{"name": "tg", "port": 80, "target_type": "ip"}],
        "load_balancers": [{"name": "alb", "listeners": [{"port": 0, "target_group": "tg"}]}],
    }
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def alb_workers(lab_pid: int) -> list[psutil.Process]:
    return [
        p for p in psutil.Process(lab_pid).children(recursive=True) if "chaoslab.net.albworker" in " ".join(p.cmdline())
    ]


def gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_alb_workers_serve_the_listener_and_end_with_the_lab(tmp_path: Path) -> None:
    octet = unused_vpc_octet(random.randint(101, 119))  # the own-range stream's band
    stack = str(alb_only_stack(tmp_path, octet))
    config = LabConfig(home=tmp_path / "home", api_port=free_port())

    # `down`: the workers that answered the listener are gone with the lab.
    info = start_detached(config, stack, fast=True, quiet=True)
    workers = [p.pid for p in alb_workers(info["pid"])]
    assert len(workers) == 2
    url = status(info)["load_balancers"][0]["listeners"][0]
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(url + "/", timeout=5)
    assert answer.value.code == 503 and answer.value.headers["Server"] == "awselb/2.0"  # no targets
    with urllib.request.urlopen(f"{info['api']}/_chaoslab/alb-requests?since=0", timeout=5) as resp:
        records = json.loads(resp.read())["requests"]
    assert [(r["status"], r["error"]) for r in records] == [(503, "no_targets")]

    # A worker killed while the lab runs is replaced, and the listener keeps answering.
    os.kill(workers[0], signal.SIGKILL)
    assert gone(workers[:1], within=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(alb_workers(info["pid"])) < 2:
        time.sleep(0.05)
    replaced = [p.pid for p in alb_workers(info["pid"])]
    assert len(replaced) == 2 and workers[0] not in replaced
    for _ in range(4):  # whichever worker takes the connection answers
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(url + "/", timeout=5)
        assert answer.value.code == 503
    workers = replaced
    stop_lab(config, quiet=True)
    assert gone(workers, within=5), "ALB workers outlived `down`"

    # SIGKILL: the kernel ends the workers with the lab.
    info = start_detached(config, stack, fast=True, quiet=True)
    workers = [p.pid for p in alb_workers(info["pid"])]
    assert len(workers) == 2
    try:
        os.kill(info["pid"], signal.SIGKILL)
        assert gone(workers, within=5), "ALB workers outlived a SIGKILLed lab"
    finally:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and running_lab(config):
            time.sleep(0.1)
        cleanup_after_crash(config)
    assert running_lab(config) is None
