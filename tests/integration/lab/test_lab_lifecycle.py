"""The lab's lifecycle, checked as a user would: up, round robin over two AZs, seed 003's
walk-through, a unit killed and replaced, down leaving nothing behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import psutil
import pytest
from lab_helpers import free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab, start_detached, stop_lab
from chaoslab.store import Store

pytestmark = pytest.mark.netns_here


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_round_robin_over_two_instances_in_two_azs(default_lab) -> None:
    seen = {}
    for _ in range(6):
        code, body = http("GET", default_lab.alb + "/")
        assert code == 200
        seen[body["instance_id"]] = (body["availability_zone"], body["private_ip"])
    assert len(seen) == 2
    assert sorted(az for az, _ in seen.values()) == ["us-east-1a", "us-east-1b"]
    assert all(ip.startswith("10.91.") for _, ip in seen.values())


def test_seed_003_walk_through(default_lab) -> None:
    alb = default_lab.alb
    code, body = http("GET", alb + "/products")
    assert code == 200 and body["count"] == 10
    code, order = http("POST", alb + "/orders", {"product_id": 3, "quantity": 2})
    assert code == 201 and order["total"] == 259.98 and order["product_name"] == "Mechanical Keyboard"
    assert http("GET", alb + "/products/3")[1]["stock"] == 48
    code, again = http("GET", alb + f"/orders/{order['order_id']}")
    assert code == 200 and again["quantity"] == 2 and again["total"] == 259.98
    code, refused = http("POST", alb + "/orders", {"product_id": 3, "quantity": 999})
    assert code == 409 and refused == {"error": "insufficient stock", "available": 48, "requested": 999}


def test_status_shows_targets_database_and_network_mode(default_lab) -> None:
    st = default_lab.status()
    assert st["network_mode"] == "netns"
    targets = st["load_balancers"][0]["target_groups"][0]["targets"]
    assert [t["state"] for t in targets] == ["healthy", "healthy"]
    assert st["databases"][0]["writer"] == "chaos-lab-aurora-1"
    out = subprocess.run(
        [sys.executable, "-m", "chaoslab", "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHAOSLAB_HOME": str(default_lab.config.home)},
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert "chaos-lab-tg" in out.stdout and "healthy" in out.stdout and "netns" in out.stdout


def test_killed_unit_is_marked_unhealthy_and_replaced(default_lab) -> None:
    """kill -9 of one instance's app: the ALB marks it unhealthy after the threshold, the group
    (health-check type ELB, grace shortened by --fast) replaces it, the replacement turns healthy."""
    before = {i["id"]: i for i in default_lab.status()["instances"] if i["state"] == "running"}
    victim_id, victim = sorted(before.items())[0]
    ns_pids = subprocess.run(
        ["ip", "netns", "pids", _netns_of(victim["ip"])], capture_output=True, text=True
    ).stdout.split()
    for pid in ns_pids:
        os.kill(int(pid), 9)
    marked = replaced = None
    start = time.monotonic()
    while time.monotonic() - start < 60 and not replaced:
        st = default_lab.status()
        targets = {t["id"]: t["state"] for t in st["load_balancers"][0]["target_groups"][0]["targets"]}
        if marked is None and targets.get(victim_id) in ("unhealthy", "draining"):
            marked = time.monotonic() - start
        running = [i for i in st["instances"] if i["state"] == "running" and i["id"] not in before]
        if running and targets.get(running[0]["id"]) == "healthy":
            replaced = (time.monotonic() - start, running[0])
        time.sleep(0.2)
    assert marked is not None, "the ALB never marked the dead target unhealthy"
    assert replaced is not None, "the group never brought a healthy replacement"
    assert replaced[1]["az"] == victim["az"], "the replacement restores the AZ balance"
    # 2 failed checks at 1 s intervals (+1 s timeout) in --fast mode
    assert marked < 6


def _netns_of(ip: str) -> str:
    for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"):
        name = ns.split(" ")[0]
        if name and ip in subprocess.run(["ip", "-n", name, "-4", "addr"], capture_output=True, text=True).stdout:
            return name
    raise AssertionError(f"no namespace holds {ip}")


def test_up_twice_is_refused_and_down_leaves_nothing(tmp_path) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, 92)), fast=True, quiet=True)
    st = json.loads(urllib.request.urlopen(f"{info['api']}/_chaoslab/status", timeout=5).read())
    alb_port = int(st["load_balancers"][0]["listeners"][0].rsplit(":", 1)[1])
    db_port = st["databases"][0]["port"]
    second = subprocess.run(
        [sys.executable, "-m", "chaoslab", "up", "--detach"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
        timeout=30,
    )
    assert second.returncode == 1 and "already running" in second.stderr
    owned = [pid for pid, _, _ in Store(config.home / "state.db").owned_processes()]
    assert owned, "the lab records the processes it starts"
    lab_pid = info["pid"]

    stop_lab(config, quiet=True)

    assert running_lab(config) is None
    assert not psutil.pid_exists(lab_pid)
    alive = [p for p in owned if psutil.pid_exists(p)]
    assert alive == [], f"processes of ours survived down: {alive}"
    ours = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline", "cwd"])
        if str(config.home) in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or "")
    ]
    assert ours == []
    for port in (alb_port, config.api_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"
    assert "10.92." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    _ = db_port


def test_malformed_stack_is_one_clear_error_and_starts_nothing(tmp_path) -> None:
    bad = lab_stack(tmp_path, 93)
    text = bad.read_text().replace("health_check_type: ELB", "health_check_type: ALB")
    bad.write_text(text)
    home = tmp_path / "home"
    out = subprocess.run(
        [sys.executable, "-m", "chaoslab", "up", "--detach", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "CHAOSLAB_HOME": str(home)},
        timeout=30,
    )
    assert out.returncode == 1
    assert "$.auto_scaling_groups[0].health_check_type" in out.stderr
    assert "allowed values: EC2, ELB" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (home / "lab.json").exists() and not (home / "state.db").exists()
