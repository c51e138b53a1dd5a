"""A task definition's CPU and memory are the task's real limits (cgroups): CPU stress at 100 %
uses a quarter core in a 256-unit task and CloudWatch reports the service at ~100 %
CPUUtilization, as AWS computes it; a container that outgrows the task's memory is killed by the
kernel and reported as ECS reports it. Skipped where the host gives the lab no cgroups."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from fault_lab import fault_lab, needs_netns

from chaoslab.faults import stress
from chaoslab.lab import Lab
from chaoslab.runtime import cgroups
from chaoslab.store import Store

pytestmark = needs_netns

HOG = "import time\nx = []\nwhile True:\n    x.append(bytearray(8 << 20))\n    time.sleep(0.005)\n"


@pytest.fixture(autouse=True)
def _needs_cgroups(tmp_path: Path) -> None:
    store = Store(tmp_path / "probe.db")
    found, why = cgroups.detect(store, "probe")
    store.close()
    if found is None:
        pytest.skip(f"no cgroups for the lab here: {why}")


def register(lab: Lab, family: str, container: dict[str, Any], cpu: str, memory: str) -> None:
    lab.ecs.task_definitions.register(
        {
            "family": family,
            "networkMode": "awsvpc",
            "cpu": cpu,
            "memory": memory,
            "containerDefinitions": [{"name": "app", "essential": True, **container}],
        }
    )


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_cpu_and_memory_of_a_task_are_its_limits(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with fault_lab(tmp_path) as lab:
            lab.ecs.create_cluster("limits")
            net = {"awsvpcConfiguration": {"subnets": [lab.ec2.subnet("us-east-1a").subnet_id]}}
            register(
                lab, "quarter", {"image": "chaoslab/static", "portMappings": [{"containerPort": 80}]}, "256", "512"
            )
            register(lab, "hog", {"image": "hog", "command": ["python3", "-c", HOG]}, "256", "128")
            svc = lab.ecs.create_service("limits", "quarter", "quarter", 1, network_configuration=net)
            (hog,) = await lab.ecs.run_task("limits", "hog", 1, network_configuration=net)
            await until(lambda: any(t.last_status == "RUNNING" for t in lab.ecs._service_tasks(svc)), 30, "the task")
            task = next(t for t in lab.ecs._service_tasks(svc) if t.last_status == "RUNNING")
            unit = task.unit
            assert unit.cgroup is not None
            armed = stress.cpu(unit, percent=100, workers=1, duration=30)
            await armed.arm()
            lab.store.journal_add("test", armed.name, armed.record)
            await armed.go()
            await asyncio.sleep(0.5)
            c0, t0 = unit.cgroup.cpu_seconds(), time.monotonic()
            await asyncio.sleep(3.0)
            used = (unit.cgroup.cpu_seconds() - c0) / (time.monotonic() - t0) * 100
            end = lab.clock.now()
            rows = lab.cloudwatch.statistics(
                "AWS/ECS", "CPUUtilization", {"ClusterName": "limits", "ServiceName": "quarter"}, end - 3, end, 1
            )
            await stress.Stress.revert(lab, armed.record)
            await until(lambda: hog.last_status == "STOPPED", 20, "the memory hog to be killed")
            return {
                "used": used,
                "reported": sum(a.total for _, a in rows) / sum(a.count for _, a in rows) if rows else None,
                "hog": hog.describe(),
                "cgroup_dirs": [Path(f).parent for f in unit.cgroup.cgroups.procs_files(unit.cgroup.rel)],
            }

    m = asyncio.run(scenario())
    print(f"\n256-unit task under 100 % CPU stress: {m['used']:.1f}% of a core, CPUUtilization {m['reported']:.0f}%")
    assert 18 <= m["used"] <= 32  # a quarter core (the app answering nothing meanwhile)
    assert m["reported"] is not None and 80 <= m["reported"] <= 125
    container = m["hog"]["containers"][0]
    assert container["exitCode"] == 137
    assert container["reason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert m["hog"]["stoppedReason"] == "Essential container in task exited"  # the OOM is the container's reason
    assert not any(d.exists() for d in m["cgroup_dirs"])  # the lab leaves no cgroup behind
