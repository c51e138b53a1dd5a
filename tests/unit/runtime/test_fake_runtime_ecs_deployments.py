"""ECS rolling deployments on the fake runtime: a new revision replaces every task and completes;
a revision whose container dies at once trips the circuit breaker, which rolls back or, without
rollback, stops launching."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fake_lab import fake_lab, until

WEB = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 80}]}
BREAKER = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}


async def _service(lab: SimpleNamespace, desired: int, config: dict[str, Any] | None = None) -> None:
    lab.ecs.create_cluster("c")
    lab.ecs.task_definitions.register({"family": "web", "containerDefinitions": [WEB]})
    lab.ecs.task_definitions.register({"family": "web", "containerDefinitions": [{**WEB, "command": ["v2"]}]})
    lab.ecs.create_service("c", "svc", "web:1", desired, deployment_configuration=config)
    await lab.ecs.start()
    await until(lambda: lab.ecs.service("c", "svc").steady)


def _deployments(lab: SimpleNamespace) -> list[dict[str, Any]]:
    return list(lab.ecs.describe_service(lab.ecs.service("c", "svc"))["deployments"])


def _live_revisions(lab: SimpleNamespace) -> list[int]:
    return sorted(t.task_definition["revision"] for t in lab.ecs.tasks.values() if t.desired_status == "RUNNING")


def _messages(lab: SimpleNamespace) -> list[str]:
    return [e["message"] for e in lab.ecs.service("c", "svc").events]


def test_a_new_revision_rolls_out_and_completes(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, 2)
        first = _deployments(lab)[0]
        assert (first["rolloutState"], first["rolloutStateReason"]) == (
            "COMPLETED",
            f"ECS deployment {first['id']} completed.",
        )
        lab.ecs.update_service("c", "svc", task_definition="web:2")
        [primary, active] = _deployments(lab)
        assert (primary["status"], primary["rolloutState"], active["status"]) == ("PRIMARY", "IN_PROGRESS", "ACTIVE")
        assert active["desiredCount"] == 2
        await until(lambda: len(_deployments(lab)) == 1 and _deployments(lab)[0]["rolloutState"] == "COMPLETED")
        assert _deployments(lab)[0]["id"] == primary["id"] and _live_revisions(lab) == [2, 2]
        messages = _messages(lab)
        assert f"(service svc) (deployment {primary['id']}) deployment completed." in messages
        assert messages[-1] == "(service svc) has reached a steady state."
        assert any(m.startswith("(service svc) has stopped 2 running tasks: (task ") for m in messages)
        await lab.ecs.stop()

    asyncio.run(scenario())


def _crash_v2(lab: SimpleNamespace, times: int = 10**6) -> None:
    """A bad revision: its first `times` v2 containers exit with 1 as soon as they start."""
    start = lab.runtime.start
    crashes = iter(range(times))

    async def crashing(sandbox: Any, name: str, spec: Any, **callbacks: Any) -> Any:
        handle = await start(sandbox, name, spec, **callbacks)
        if spec.command == ["v2"] and next(crashes, None) is not None:
            handle.exit(1)
        return handle

    lab.runtime.start = crashing


def test_the_circuit_breaker_fails_the_deployment_and_rolls_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, 2, BREAKER)
        good = _deployments(lab)[0]["id"]
        _crash_v2(lab)
        lab.ecs.update_service("c", "svc", task_definition="web:2")
        svc = lab.ecs.service("c", "svc")
        failed = svc.primary
        await until(lambda: svc.primary is not failed)
        rollback = svc.primary
        assert (failed.status, failed.rollout_state) == ("ACTIVE", "FAILED")
        assert failed.rollout_reason == "ECS deployment circuit breaker: tasks failed to start."
        assert failed.failed_tasks >= 3  # max(3, min(200, ceil(0.5 × 2))); launches in flight count too
        await until(lambda: len(_deployments(lab)) == 1 and _deployments(lab)[0]["rolloutState"] == "COMPLETED")
        [final] = _deployments(lab)
        assert final["id"] == rollback.id and final["taskDefinition"].endswith("web:1")
        assert _live_revisions(lab) == [1, 1]
        messages = _messages(lab)
        assert f"(service svc) deployment {failed.id} deployment failed: tasks failed to start." in messages
        assert f"(service svc) rolling back to deployment {good}." in messages
        await lab.ecs.stop()

    asyncio.run(scenario())


def test_without_rollback_a_failed_deployment_launches_no_more_tasks(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, 1, {"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
        _crash_v2(lab)
        lab.ecs.update_service("c", "svc", task_definition="web:2")
        await until(lambda: _deployments(lab)[0]["rolloutState"] == "FAILED")
        launched = len(lab.runtime.handles)
        await asyncio.sleep(0.3)
        assert len(lab.runtime.handles) == launched and _live_revisions(lab) == [1]
        assert [d["status"] for d in _deployments(lab)] == ["PRIMARY", "ACTIVE"]
        assert not lab.ecs.service("c", "svc").steady
        await lab.ecs.stop()

    asyncio.run(scenario())


def test_a_running_task_resets_the_failed_count(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        await _service(lab, 1, BREAKER)
        _crash_v2(lab, times=2)  # two failures, one below the threshold of 3, then v2 runs
        lab.ecs.update_service("c", "svc", task_definition="web:2")
        await until(lambda: len(_deployments(lab)) == 1 and _deployments(lab)[0]["rolloutState"] == "COMPLETED")
        [deployment] = _deployments(lab)
        assert (deployment["taskDefinition"].rsplit("/", 1)[1], deployment["failedTasks"]) == ("web:2", 0)
        assert _live_revisions(lab) == [2]
        await lab.ecs.stop()

    asyncio.run(scenario())
