"""Faults never outlive their lab: SIGKILL the lab with each fault family active (and while it
starts and while it stops), and within 5 s its watchdog has reverted the fault and left nothing —
no process, no namespace, no link, no route, no volume mount, no fill file — without anybody
running `up` or `down`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from lab_helpers import free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import daemon_args, start_detached
from chaoslab.store import Store
from realistic import needs_netns_here

pytestmark = needs_netns_here
GONE_WITHIN_S = 5.0
CIDR_OCTET = 97
FAULTS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "cpu-stress": ("AWSFIS-Run-CPU-Stress", {"LoadPercent": ["60"]}),
    "memory-stress": ("AWSFIS-Run-Memory-Stress", {"Percent": ["5"]}),
    "io-stress": ("AWSFIS-Run-IO-Stress", {"Percent": ["5"]}),
    "disk-fill": ("AWSFIS-Run-Disk-Fill", {"Percent": ["1"]}),
    "latency": ("AWSFIS-Run-Network-Latency", {"DelayMilliseconds": ["200"]}),
    "packet-loss": ("AWSFIS-Run-Network-Packet-Loss", {"LossPercent": ["30"]}),
    "blackhole": ("AWSFIS-Run-Network-Blackhole-Port", {"Port": ["80"], "Protocol": ["tcp"]}),
}


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True).stdout


def _snapshot(home: Path, lab_pid: int) -> dict[str, Any]:
    """What the lab owns right now: its process tree and the store's records."""
    store = Store(home / "state.db")
    try:
        pids = {p.pid for p in psutil.Process(lab_pid).children(recursive=True)}
        pids |= {pid for pid, _, _ in store.owned_processes()}
        resources = {kind: store.owned_resources(kind) for kind in ("netns", "link", "cgroup")}
        dog = store.get("runtime", "watchdog")
    finally:
        store.close()
    return {"pids": pids, "resources": resources, "watchdog": dog["pid"] if dog else None}


def _leftovers(home: Path, snap: dict[str, Any]) -> list[str]:
    left = [
        f"pid {pid}"
        for pid in snap["pids"] | {snap["watchdog"]}
        if pid and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    namespaces = _ip("netns", "list")
    left += [f"netns {ns}" for ns in snap["resources"]["netns"] if ns in namespaces]
    links = _ip("-o", "link")
    left += [f"link {link}" for link in snap["resources"]["link"] if f" {link}:" in links or f" {link}@" in links]
    left += [f"cgroup {path}" for path in snap["resources"]["cgroup"] if Path(path).exists()]
    if f"10.{CIDR_OCTET}." in _ip("route"):
        left.append(f"route 10.{CIDR_OCTET}.0.0/16")
    with open("/proc/self/mounts") as mounts:  # the instances' volume mounts (FUSE)
        left += [f"mount {line.split()[1]}" for line in mounts if line.split()[1].startswith(str(home))]
    store = Store(home / "state.db")
    try:
        left += [f"undo entry {e['fault']}" for e in store.journal_pending()]
    finally:
        store.close()
    return left


def _assert_all_gone(home: Path, snap: dict[str, Any]) -> float:
    started = time.monotonic()
    while (left := _leftovers(home, snap)) and time.monotonic() - started < GONE_WITHIN_S:
        time.sleep(0.1)
    assert left == [], f"still there {GONE_WITHIN_S:.0f} s after the lab was killed: {left}"
    return time.monotonic() - started


def _fill_files(home: Path) -> list[Path]:
    return [p for p in (home / "units").rglob("*") if p.is_file()] if (home / "units").exists() else []


@pytest.mark.parametrize("family", sorted(FAULTS))
def test_sigkill_with_a_fault_active_leaves_nothing(tmp_path: Path, family: str) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, CIDR_OCTET)), fast=True, quiet=True)
    ssm = boto3.client(
        "ssm", endpoint_url=info["api"], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    instance = sorted(
        i["InstanceId"]
        for r in boto3.client(
            "ec2",
            endpoint_url=info["api"],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).describe_instances()["Reservations"]
        for i in r["Instances"]
    )[0]
    document, params = FAULTS[family]
    command = ssm.send_command(
        DocumentName=document, InstanceIds=[instance], Parameters={"DurationSeconds": ["120"], **params}
    )["Command"]["CommandId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Store(config.home / "state.db").journal_pending():
        time.sleep(0.1)
    assert Store(config.home / "state.db").journal_pending(), f"{family} ({command}) never took effect"
    snap = _snapshot(config.home, info["pid"])

    psutil.Process(info["pid"]).send_signal(signal.SIGKILL)

    took = _assert_all_gone(config.home, snap)
    assert not [p for p in _fill_files(config.home) if p.stat().st_size > 0], "the fault's files are gone too"
    print(f"\n{family}: everything gone {took:.2f} s after SIGKILL")


def _start_daemon(config: LabConfig, stack: Path) -> subprocess.Popen[bytes]:
    """The lab process exactly as `chaoslab up --detach` starts it, without waiting for ready."""
    argv = [sys.executable, "-m", "chaoslab.daemon", *daemon_args(str(stack), True, config.api_port, "auto")]
    return subprocess.Popen(
        argv,
        env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _has_units(home: Path) -> bool:
    path = home / "state.db"
    if not path.exists():
        return False
    store = Store(path)
    try:
        return bool(store.owned_resources("netns"))
    finally:
        store.close()


@pytest.mark.parametrize("phase", ["starting", "stopping"])
def test_sigkill_while_the_lab_starts_or_stops_leaves_nothing(tmp_path: Path, phase: str) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    stack = lab_stack(tmp_path, CIDR_OCTET)
    if phase == "starting":
        lab = _start_daemon(config, stack)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _has_units(config.home):
            time.sleep(0.02)  # killed once it has units, before it is ready
        snap = _snapshot(config.home, lab.pid)
        lab.kill()
        lab.wait()
    else:
        info = start_detached(config, str(stack), fast=True, quiet=True)
        snap = _snapshot(config.home, info["pid"])
        lab_proc = psutil.Process(info["pid"])
        lab_proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # in the middle of stopping its units
        lab_proc.send_signal(signal.SIGKILL)
    _assert_all_gone(config.home, snap)


def test_down_cleans_up_when_the_watchdog_died_with_the_lab(tmp_path: Path) -> None:
    """The lab and its watchdog SIGKILLed together (a killed CI job, a killed session): nothing
    recovers by itself, and `chaoslab down` reverts the fault and removes everything, mounts too."""
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, CIDR_OCTET)), fast=True, quiet=True)
    ssm = boto3.client(
        "ssm", endpoint_url=info["api"], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    ec2 = boto3.client(
        "ec2", endpoint_url=info["api"], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    instance = sorted(i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"])[0]
    document, params = FAULTS["packet-loss"]
    ssm.send_command(DocumentName=document, InstanceIds=[instance], Parameters={"DurationSeconds": ["120"], **params})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Store(config.home / "state.db").journal_pending():
        time.sleep(0.1)
    snap = _snapshot(config.home, info["pid"])
    assert snap["watchdog"] and Store(config.home / "state.db").journal_pending()
    with open("/proc/self/mounts") as mounts:
        assert any(line.split()[1].startswith(str(config.home)) for line in mounts), "the instance has a FUSE volume"

    for pid in (snap["watchdog"], info["pid"]):
        psutil.Process(pid).send_signal(signal.SIGKILL)
    time.sleep(1.0)
    assert _leftovers(config.home, snap), "nothing recovers without the watchdog"

    down = subprocess.run(
        [sys.executable, "-m", "chaoslab", "down"],
        env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 0, down.stderr
    assert "cleaned up after a crashed one (1 fault(s) reverted" in down.stdout, down.stdout
    assert _leftovers(config.home, snap) == []
