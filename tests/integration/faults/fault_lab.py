"""A small in-process lab for fault tests: a VPC in a random free 10.x range, real units in
network namespaces, and a check that every process, namespace, link, route and cgroup it made
is gone."""

from __future__ import annotations

import contextlib
import ipaddress
import random
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from chaoslab.config import LabConfig
from chaoslab.lab import Lab

needs_netns = pytest.mark.netns_here  # skipped or failed by the one rule in tests/conftest.py


def free_vpc() -> tuple[str, dict[str, str]]:
    """A /16 in 10.125-169 (in the own-range test stream's band, which `make test` runs these
    tests in) that no host route covers (other labs may be running)."""
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True).stdout
    taken = []
    for line in routes.splitlines():
        with contextlib.suppress(ValueError, IndexError):
            taken.append(ipaddress.IPv4Network(line.split()[1 if line.startswith("unreachable") else 0], strict=False))
    for _ in range(50):
        second = random.randint(125, 169)
        net = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if not any(net.overlaps(t) for t in taken):
            return str(net), {"us-east-1a": f"10.{second}.10.0/24", "us-east-1b": f"10.{second}.11.0/24"}
    pytest.skip("no free 10.x.0.0/16 on this host")


def host_netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def snapshot(lab: Lab) -> dict[str, set]:
    """What this lab owns on the host right now (names recorded in its store)."""
    return {kind: set(lab.store.owned_resources(kind)) for kind in ("netns", "link", "route", "cgroup")}


def assert_clean(owned: dict[str, set], pids: set[int]) -> None:
    left_ns = owned["netns"] & host_netns()
    left_links = owned["link"] & host_links()
    alive = {p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
    left_cgroups = {path for path in owned["cgroup"] if Path(path).exists()}
    assert not (left_ns or left_links or alive or left_cgroups), (left_ns, left_links, alive, left_cgroups)


@contextlib.asynccontextmanager
async def fault_lab(home: Path) -> AsyncIterator[Lab]:
    """A started lab (SSM included) with one VPC."""
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="netns")
    await lab.start()
    owned: dict[str, set] = {}
    pids: set[int] = set()
    try:
        cidr, subnets = free_vpc()
        await lab.ec2.create_vpc(cidr, subnets)
        yield lab
    finally:
        owned.update(snapshot(lab))
        pids.update(pid for pid, _, _ in lab.store.owned_processes())
        await lab.stop()
    assert_clean(owned, pids)


async def running_instance(lab: Lab, az: str = "us-east-1a"):
    """An EC2 instance of the static app, running (its app answers)."""
    return await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet(az), tags={"Project": "chaos-lab"})


def _cpu_seconds(unit) -> float:
    total = 0.0
    for proc in [*unit.processes.values(), *unit.extras.values()]:
        for member in proc.tree():
            with contextlib.suppress(psutil.Error):
                t = member.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    return total


async def unit_cpu(unit, seconds: float) -> float:
    """CPU of all the unit's processes over `seconds`, in percent of one core. Measured here
    rather than with `unit.cpu_percent()`, whose window the lab's metrics publisher resets."""
    import asyncio
    import time

    c0, t0 = _cpu_seconds(unit), time.monotonic()
    await asyncio.sleep(seconds)
    return (_cpu_seconds(unit) - c0) / (time.monotonic() - t0) * 100
