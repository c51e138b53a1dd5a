"""A lab of real EC2 and ECS backends whose units run on `FakeRuntime`: loopback-mode VPC (an
address pool, nothing made on the host), no processes, no load balancer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ecs.backend import EcsBackend
from chaoslab.store import Store


async def fake_lab(tmp_path: Path) -> SimpleNamespace:
    runtime = FakeRuntime()
    lab = SimpleNamespace(
        clock=LabClock(),
        config=LabConfig(home=tmp_path),
        events=EventLog(),
        store=Store(tmp_path / "lab.db"),
        run_id="fake",
        runtime=runtime,
        elbv2=SimpleNamespace(add_health_listener=lambda listener: None),
    )
    lab.ec2 = Ec2Backend(lab, runtime, "loopback")
    lab.ecs = EcsBackend(lab, runtime)
    await lab.ec2.create_vpc("10.0.0.0/16", {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"})
    lab.ec2.shutdown_seconds = 0.0
    lab.ecs.start_confirm_seconds = 0.0  # fake programs crash at once or not at all
    return lab


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until `condition()` is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
