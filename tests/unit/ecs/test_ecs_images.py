"""A task definition's image as the ECS agent treats it: pulled (present to the runtime) or
refused as ECS refuses it, the task's and container's limits as the engine gets them, and an
OOM kill reported in ECS's words."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.base import InImage
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.runtime.sandbox import Sandbox
from chaoslab.runtime.unit import ExitInfo
from chaoslab.services.ecs.backend import OOM_REASON, EcsBackend, StartFailure
from chaoslab.services.ecs.models import ContainerState
from chaoslab.store import Store


@pytest.fixture
def ecs(tmp_path: Path) -> EcsBackend:
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    runtime = FakeRuntime()
    runtime.images.add("localhost/own:1")
    return EcsBackend(lab, runtime)


def test_a_local_image_runs_and_a_missing_one_cannot_be_pulled(ecs: EcsBackend, tmp_path: Path) -> None:
    sandbox = Sandbox(store=Store(tmp_path / "state.db"), lab_run="r", ip="127.0.1.4", az="us-east-1a")
    task = SimpleNamespace(unit=SimpleNamespace(sandbox=sandbox))
    assert asyncio.run(ecs._kind(task, {"name": "a", "image": "localhost/own:1"}, {})) == "fake"
    assert asyncio.run(ecs._kind(task, {"name": "a", "image": "nginx:1", "command": ["sleep", "9"]}, {})) == "fake"
    with pytest.raises(StartFailure) as failure:
        asyncio.run(ecs._kind(task, {"name": "a", "image": "nginx:1"}, {}))
    assert str(failure.value).startswith("CannotPullContainerError: pull image manifest has been retried 1 time(s): ")
    assert "nginx:1" in str(failure.value)


def test_limits_are_the_tasks_cap_and_the_containers_own() -> None:
    task = SimpleNamespace(task_definition={"cpu": "512", "memory": "1024"})
    assert EcsBackend._in_image(task, {"name": "a"}) == InImage(cpus=0.5, memory_mib=1024)
    own = {"name": "a", "cpu": 128, "memory": 300, "workingDirectory": "/srv"}
    assert EcsBackend._in_image(task, own) == InImage(cpus=0.5, cpu_shares=128, memory_mib=300, workdir="/srv")
    assert EcsBackend._in_image(SimpleNamespace(task_definition={}), {"name": "a"}) == InImage()


def test_an_oom_kill_is_reported_as_ecs_reports_it(ecs: EcsBackend) -> None:
    task = SimpleNamespace(
        task_id="t1", containers=[ContainerState("app", "localhost/own:1", True)], desired_status="STOPPED"
    )
    ecs._container_exited(task, ExitInfo("app", 137, True, oom_killed=True))
    assert (task.containers[0].exit_code, task.containers[0].reason) == (137, OOM_REASON)
    assert OOM_REASON == "OutOfMemoryError: Container killed due to memory usage"
