"""ECS rules on the fake runtime: what the scheduler and the task lifecycle do when a container
exits, is stopped or fails its health check, with no process behind any task."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fake_lab import fake_lab, until

WEB = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 80}]}


async def _service(lab: SimpleNamespace, *containers: dict[str, Any], desired: int = 1) -> None:
    lab.ecs.create_cluster("c")
    lab.ecs.task_definitions.register({"family": "web", "containerDefinitions": list(containers)})
    lab.ecs.create_service("c", "svc", "web", desired)
    await lab.ecs.start()
    await until(lambda: _running(lab) and len(_running(lab)) == desired)


def _running(lab: SimpleNamespace) -> list[Any]:
    return [t for t in lab.ecs.tasks.values() if t.last_status == "RUNNING" and t.desired_status == "RUNNING"]


def test_service_replaces_a_task_whose_essential_container_exits(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, WEB)
        first = _running(lab)[0]
        [handle] = lab.runtime.running(f"{first.task_id}/web")
        handle.say("worker died: out of memory")
        handle.exit(3)
        await until(lambda: first.last_status == "STOPPED" and _running(lab))
        assert (first.stop_code, first.containers[0].exit_code) == ("EssentialContainerExited", 3)
        [replacement] = _running(lab)
        assert replacement.task_id != first.task_id
        [exit_event] = lab.events.since(0, {"unit.process_exit"})
        assert (exit_event["code"], exit_event["output"]) == (3, ["worker died: out of memory"])
        await lab.ecs.stop()

    asyncio.run(scenario())


def test_a_non_essential_container_exit_leaves_the_task_running(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, WEB, {"name": "sidecar", "image": "chaoslab/static", "essential": False})
        task = _running(lab)[0]
        [sidecar] = lab.runtime.running(f"{task.task_id}/sidecar")
        sidecar.exit(0)
        await asyncio.sleep(0.1)
        assert task.last_status == "RUNNING" and task.desired_status == "RUNNING"
        assert [c.last_status for c in task.containers] == ["RUNNING", "STOPPED"]
        await lab.ecs.stop()

    asyncio.run(scenario())


def test_stop_task_sends_sigterm_and_reports_137(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, WEB)
        task = _running(lab)[0]
        [handle] = lab.runtime.running(f"{task.task_id}/web")
        await lab.ecs.stop_task("c", task.task_id)
        await until(lambda: task.last_status == "STOPPED")
        assert handle.signals == [signal.SIGTERM]
        assert (task.stop_code, task.containers[0].exit_code) == ("UserInitiated", 137)
        await lab.ecs.stop()

    asyncio.run(scenario())


def test_the_runtime_binds_what_the_task_definition_asks(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, {**WEB, "command": ["python -m app"], "environment": [{"name": "WORKERS", "value": "1"}]})
        task = _running(lab)[0]
        [handle] = lab.runtime.running(f"{task.task_id}/web")
        assert (handle.spec.image, handle.spec.command, handle.spec.port) == ("chaoslab/static", ["python -m app"], 80)
        assert handle.spec.env["WORKERS"] == "1" and "HOST" not in handle.spec.env
        await lab.ecs.stop()

    asyncio.run(scenario())
