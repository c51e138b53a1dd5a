"""Harness for the network fault tests (no tests here): an in-process netns lab in a random free
10.x range, units of the static app, a FIS action context with an allow-all role, probes that
measure from the host or from inside a unit, and the leftovers check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
from fault_lab import free_vpc, needs_netns  # noqa: F401  (needs_netns: re-exported to the test_net_* modules)

from chaoslab.config import LabConfig
from chaoslab.faults.network_iptables import listing
from chaoslab.lab import Lab
from chaoslab.services.fis.executors import ActionContext
from chaoslab.services.fis.registry import REGISTRY
from chaoslab.services.fis.selection import Resource

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _host(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True).stdout


@contextlib.asynccontextmanager
async def net_lab(home: Path) -> AsyncIterator[Lab]:
    """A started netns lab with one VPC; afterwards nothing it made may be left on the host."""
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="netns")
    await lab.start()
    owned: dict[str, set[str]] = {}
    pids: set[int] = set()
    try:
        cidr, subnets = free_vpc()
        await lab.ec2.create_vpc(cidr, subnets)
        lab.iam.create_role("net-fis-role", json.dumps(TRUST))
        lab.iam.put_role_policy("net-fis-role", "all", json.dumps(ALLOW_ALL))
        yield lab
    finally:
        owned = {kind: set(lab.store.owned_resources(kind)) for kind in ("netns", "link")}
        pids = {pid for pid, _, _ in lab.store.owned_processes()}
        await lab.stop()
    netns = {line.split()[0] for line in _host(["ip", "netns", "list"]).splitlines() if line.strip()}
    links = {line.split(": ")[1].split("@")[0] for line in _host(["ip", "-o", "link", "show"]).splitlines()}
    alive = {p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE}
    assert not owned["netns"] & netns and not owned["link"] & links and not alive


def context(lab: Lab, action_id: str) -> ActionContext:
    """What the engine hands an executor."""
    role = lab.iam.get_role("net-fis-role")
    return ActionContext(
        lab,
        "EXPnettest" + str(random.randint(1000, 9999)),
        role.arn,
        "act",
        action_id,
        time_scale=1 / 60,
    )  # PT1M lasts one second


async def run_for(
    ctx: ActionContext, executor: str, targets: dict[str, list[Resource]], params: dict[str, str]
) -> asyncio.Task[None]:
    """Start a registered executor in the background; returns once its effect is in place: the
    executor said so (`fault.applied`, emitted after the fault took effect; a loaded machine can
    take a second to start the latency fault's proxy), and a moment more for faults on several
    units (disrupt-connectivity applies unit by unit)."""
    task = asyncio.create_task(REGISTRY[executor](ctx, targets, params))
    mine = {"experiment": ctx.experiment_id, "action": ctx.action_name}
    for _ in range(500):
        applied = ctx.lab.events.since(0, {"fault.applied"})
        if task.done() or any(all(e.get(k) == v for k, v in mine.items()) for e in applied):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    if task.done():
        task.result()
    return task


async def static_task(lab: Lab, az: str = "us-east-1a", capacity_provider: str | None = None, port: int = 80) -> Any:
    """A running ECS task of the static app in `az` (loopback labs share 127.0.x.y addresses with
    other labs on the host: give them an unusual port)."""
    family = f"net-static-{port}"
    lab.ecs.create_cluster("net")
    lab.ecs.task_definitions.register(
        {
            "family": family,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "chaoslab/static",
                    "essential": True,
                    "portMappings": [{"containerPort": port, "protocol": "tcp"}],
                }
            ],
        }
    )
    (task,) = await lab.ecs.run_task(
        "net",
        family,
        1,
        capacity_provider=capacity_provider,
        network_configuration={"awsvpcConfiguration": {"subnets": [lab.ec2.subnet(az).subnet_id]}},
    )
    deadline = time.monotonic() + 30
    while task.last_status != "RUNNING":
        assert time.monotonic() < deadline, f"task stayed {task.last_status}"
        await asyncio.sleep(0.05)
    await wait_port(task.private_ip, port)
    return task


def task_resource(task: Any) -> Resource:
    return Resource(task.arn, "aws:ecs:task", task.describe(), {})


async def wait_port(ip: str, port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await connects(ip, port, 0.5):
            return
        assert time.monotonic() < deadline, f"{ip}:{port} never answered"
        await asyncio.sleep(0.05)


async def connects(ip: str, port: int, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True


async def http_get_ms(ip: str, port: int = 80, timeout: float = 5) -> float:
    """One GET / on a fresh connection; milliseconds until the whole answer arrived."""
    start = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    writer.write(f"GET / HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n\r\n".encode())
    await asyncio.wait_for(reader.read(), timeout)
    writer.close()
    return (time.perf_counter() - start) * 1000


async def in_unit(unit: Any, code: str, timeout: float = 60) -> Any:
    """Run a Python snippet inside the unit's namespace; it prints one JSON value."""
    rc, out = await unit.sandbox.run([sys.executable, "-c", code], timeout=timeout)
    assert rc == 0, out
    return json.loads(out.strip().splitlines()[-1])


async def rules_of(unit: Any) -> str:
    return await listing(unit.sandbox.netns)


async def cut_off(unit: Any) -> bool:
    """Whether the unit's subnet ACL chains deny everything across its edge (disrupt-connectivity
    scope all in force): no entry admits anything before the final drop."""
    rules = await rules_of(unit)
    return "-A CLACL-in -j CLACL-in-r" in rules and "-A CLACL-in-r -s 0.0.0.0/0 -j RETURN" not in rules


def p50(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]
