"""The registered FIS executors for stress, kill and SSM actions against real units, with the role's real policy:
ECS task CPU/IO stress and kill-process, and aws:ssm:send-command cancelled at its duration."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import boto3
import psutil
from fault_lab import fault_lab, needs_netns, running_instance, unit_cpu

from chaoslab.faults import stress
from chaoslab.services.fis.executors import ActionContext, ActionFailure
from chaoslab.services.fis.registry import REGISTRY as EXECUTORS
from chaoslab.services.fis.resources import candidates

pytestmark = needs_netns
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
MANAGED = "arn:aws:iam::aws:policy/service-role/"


def role(lab, name: str, managed: str | None) -> str:
    created = lab.iam.create_role(name, json.dumps(TRUST))
    if managed:
        lab.iam.attach_role_policy(name, MANAGED + managed)
    return created.arn


def context(lab, role_arn: str, action_id: str) -> ActionContext:
    return ActionContext(lab, "EXPfaulttest", role_arn, "act", action_id, time_scale=0.05)


async def revert(lab, ctx: ActionContext) -> None:
    """What the engine does when the action ends: newest first, each entry marked done."""
    await ctx.revert_all()


async def ecs_task(lab):
    lab.ecs.create_cluster("faults")
    lab.ecs.task_definitions.register(
        {
            "family": "static",
            "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8080}]}
            ],
        }
    )
    (task,) = await lab.ecs.run_task(
        "faults",
        "static",
        network_configuration={"awsvpcConfiguration": {"subnets": [lab.ec2.subnet("us-east-1a").subnet_id]}},
    )
    for _ in range(400):
        if task.last_status == "RUNNING":
            break
        await asyncio.sleep(0.05)
    assert task.last_status == "RUNNING"
    (resource,) = [r for r in await candidates(lab, "aws:ecs:task", {}) if r.arn == task.arn]
    return task, resource


def alive(pid: int) -> bool:
    """Running and not a zombie; a process that exits while we look is not alive."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_ecs_cpu_and_io_stress_actions(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            task, resource = await ecs_task(lab)
            arn = role(lab, "fis-ecs", "AWSFaultInjectionSimulatorECSAccess")
            ctx = context(lab, arn, "aws:ecs:task-cpu-stress")
            run = asyncio.ensure_future(
                EXECUTORS["ecs.task_cpu_stress"](
                    ctx, {"Tasks": [resource]}, {"duration": "PT1M", "percent": "40", "workers": "1"}
                )
            )
            await asyncio.sleep(0.8)
            pids = [w["pid"] for e in ctx.journaled for w in e["record"]["workers"]]
            loaded = await unit_cpu(task.unit, 1.5)
            await run  # PT1M at time scale 0.05 = 3 s
            await revert(lab, ctx)
            assert pids and not any(alive(p) for p in pids)

            ctx = context(lab, arn, "aws:ecs:task-io-stress")
            run = asyncio.ensure_future(
                EXECUTORS["ecs.task_io_stress"](
                    ctx, {"Tasks": [resource]}, {"duration": "PT1M", "percent": "1", "workers": "1"}
                )
            )
            await asyncio.sleep(1.5)
            (record,) = [e["record"] for e in ctx.journaled]
            written = sum(s["bytes"] for s in stress.io_stats(record))
            await run
            await revert(lab, ctx)
            assert not Path(record["dir"]).exists()

            denied = context(lab, role(lab, "fis-none", None), "aws:ecs:task-cpu-stress")
            try:
                await EXECUTORS["ecs.task_cpu_stress"](
                    denied, {"Tasks": [resource]}, {"duration": "PT1M", "percent": "40", "workers": "1"}
                )
            except ActionFailure as failure:
                code = failure.code
            assert not denied.journaled and not task.unit.extras
            assert lab.store.journal_pending() == []
            return {"loaded": loaded, "written": written, "denied": code}

    m = asyncio.run(scenario())
    print(
        f"\nFIS ecs task-cpu-stress 40% x1: task CPU {m['loaded']:.1f}%; task-io-stress wrote "
        f"{m['written'] / 2**20:.0f} MiB in ~1.5 s"
    )
    assert 25 <= m["loaded"] <= 60
    assert m["written"] > 0
    assert m["denied"] == "AuthorizationFailure"


def test_ecs_kill_process_action(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fault_lab(tmp_path) as lab:
            task, resource = await ecs_task(lab)
            arn = role(lab, "fis-ecs", "AWSFaultInjectionSimulatorECSAccess")
            pids = task.unit.find_process("gunicorn")
            assert pids
            ctx = context(lab, arn, "aws:ecs:task-kill-process")
            await EXECUTORS["ecs.task_kill_process"](
                ctx, {"Tasks": [resource]}, {"processName": "gunicorn", "signal": "SIGKILL"}
            )
            assert not ctx.journaled  # irreversible
            for _ in range(100):
                if not any(alive(p) for p in pids):
                    break
                await asyncio.sleep(0.05)
            assert not any(alive(p) for p in pids)

    asyncio.run(scenario())


def test_ssm_send_command_action_is_cancelled_at_its_duration(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            (resource,) = await candidates(lab, "aws:ec2:instance", {})
            arn = role(lab, "fis-ec2", "AWSFaultInjectionSimulatorEC2Access")
            ctx = context(lab, arn, "aws:ssm:send-command")
            params = {
                "documentArn": "arn:aws:ssm:us-east-1::document/AWSFIS-Run-CPU-Stress",
                "documentParameters": json.dumps({"DurationSeconds": "60", "CPU": "1", "LoadPercent": "50"}),
                "duration": "PT1M",
            }
            t0 = time.monotonic()
            run = asyncio.ensure_future(EXECUTORS["ssm.send_command"](ctx, {"Instances": [resource]}, params))
            await asyncio.sleep(1.0)
            loaded = await unit_cpu(inst.unit, 1.5)
            pids = [p.pid for p in inst.unit.extras.values()]
            await run
            took = time.monotonic() - t0
            await revert(lab, ctx)
            ssm = boto3.client(
                "ssm",
                endpoint_url=lab.config.endpoint_url,
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            listed = (await asyncio.to_thread(ssm.list_commands))["Commands"]
            assert pids and not any(alive(p) for p in pids)
            assert lab.store.journal_pending() == []
            return {"loaded": loaded, "took": took, "listed": listed}

    m = asyncio.run(scenario())
    print(
        f"\nFIS ssm:send-command CPU-Stress 50%: instance CPU {m['loaded']:.1f}%, action ended after "
        f"{m['took']:.1f} s (PT1M x 0.05)"
    )
    assert 35 <= m["loaded"] <= 70
    assert 2.5 <= m["took"] <= 6
    (cmd,) = m["listed"]
    assert cmd["DocumentName"] == "AWSFIS-Run-CPU-Stress" and cmd["Status"] == "Cancelled"
    assert cmd["Comment"] == "FIS experiment EXPfaulttest"
