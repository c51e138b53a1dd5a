"""FIS executors that run processes in units: ECS task stress and kill-process, and
aws:ssm:send-command (see executors.py for the contract: authorize, journal the undo record
BEFORE the effect, sleep the duration).

Keys of `EXECUTORS` are the catalogue's `executor` names:
  ecs.task_cpu_stress, ecs.task_io_stress, ecs.task_kill_process, ssm.send_command.
`REVERTERS` replay undo records (also after a crash): stress.workers (stop a stress fault's
workers and delete its files), ssm.cancel_command (cancel the lab SSM command and revert what
its documents did).

On AWS the ECS task actions run an AWSFIS-Run-* document through the task's SSM-agent sidecar;
the lab applies the same fault to the task's unit directly, with the same permissions checked
(`executors.task_units`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults import FaultError, process, stress
from chaoslab.runtime.unit import ComputeUnit
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets, task_units
from chaoslab.services.fis.selection import Resource

STRESS_FAULT = "stress.workers"
SSM_FAULT = "ssm.cancel_command"


async def _stress_all(
    ctx: ActionContext, fault: str, units: list[tuple[Resource, ComputeUnit]], arm: Any, duration: str
) -> None:
    """Arm every unit's workers and journal them, then start them all (a task that cannot be
    stressed fails the action before any load starts); hold for the action's duration."""
    armed = []
    for r, unit in units:
        try:
            fault_workers = await arm(unit, r.arn)
        except FaultError as exc:
            raise ActionFailure("InvalidTarget", f"Task {r.arn}: {exc}") from None
        ctx.undo(STRESS_FAULT, fault_workers.record)
        armed.append((r, fault_workers))
    for r, fault_workers in armed:
        await fault_workers.go()
        ctx.applied(fault, r.arn)
    await ctx.sleep(duration)


def _seconds(ctx: ActionContext, duration: str) -> float:
    return parse_duration(duration) * ctx.time_scale


def _task_stress(kind: str, document: str, percent: str, workers: str) -> Executor:
    """aws:ecs:task-cpu-stress / -io-stress: the same steps, with the fault and FIS's defaults."""
    start = {"cpu": stress.cpu, "io": stress.io}[kind]
    fault = f"ecs.task_{kind}_stress"

    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        units = [(r, task.unit) for r, task in task_units(ctx, targets, document, reversible=True)]
        seconds = _seconds(ctx, params["duration"])
        share, count = int(params.get("percent", percent)), int(params.get("workers", workers))

        async def arm(unit: ComputeUnit, arn: str) -> stress.Armed:
            return await start(unit, percent=share, workers=count, duration=seconds, target=arn)

        await _stress_all(ctx, fault, units, arm, params["duration"])

    return run


ecs_task_cpu_stress = _task_stress("cpu", "AWSFIS-Run-CPU-Stress", percent="100", workers="0")
ecs_task_io_stress = _task_stress("io", "AWSFIS-Run-IO-Stress", percent="80", workers="1")


async def ecs_task_kill_process(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """Irreversible, like killall: no undo record."""
    units = [(r, task.unit) for r, task in task_units(ctx, targets, "AWSFIS-Run-Kill-Process", reversible=False)]
    for r, unit in units:
        try:
            process.kill_process(unit, params["processName"], params.get("signal", "SIGTERM"))
        except FaultError as exc:
            raise ActionFailure("InvalidTarget", f"Task {r.arn}: {exc}") from None
        ctx.applied("ecs.task_kill_process", r.arn)


# aws:ssm:send-command ---------------------------------------------------------------------------
def _document_name(arn: str) -> str:
    return arn.rsplit("document/", 1)[-1]


def _document_parameters(raw: str | None) -> dict[str, list[str]]:
    """FIS passes a JSON object of strings or string lists; SSM wants lists of strings."""
    values = json.loads(raw) if raw else {}
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in values.items()}


async def ssm_send_command(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """Run the document on the instances as a real lab SSM command; the action ends with the
    command, or at its duration by cancelling it (FIS counts that as completed)."""
    ssm = getattr(ctx.lab, "ssm", None)
    if ssm is None:
        raise ActionFailure("ConfigurationFailure", "this lab has no SSM service")
    doc = Resource(params["documentArn"], "aws:ssm:document", {})
    ctx.authorize("ssm:SendCommand", doc)
    for r in targets["Instances"]:
        ctx.authorize("ssm:SendCommand", r)
    ctx.authorize("ssm:ListCommands")
    ctx.authorize("ssm:CancelCommand")  # checked up front: a command we could not stop must not start
    ids = [str(r.record.get("InstanceId") or r.arn.rsplit("/", 1)[-1]) for r in targets["Instances"]]
    try:
        parameters = _document_parameters(params.get("documentParameters"))
    except (ValueError, AttributeError) as exc:
        raise ActionFailure("ConfigurationFailure", f"documentParameters is not a JSON object: {exc}") from None
    command_id = str(uuid.uuid4())
    ctx.undo(SSM_FAULT, {"command_id": command_id, "target": ",".join(ids)})
    try:
        command = await ssm.send_command(
            _document_name(params["documentArn"]),
            ids,
            parameters,
            comment=f"FIS experiment {ctx.experiment_id}",
            command_id=command_id,
        )
    except AwsError as exc:  # the document or a parameter is wrong
        raise ActionFailure("ConfigurationFailure", f"{exc.code}: {exc.message}") from None
    for i in ids:
        ctx.applied("ssm.send_command", i)
    duration = parse_duration(params["duration"]) * ctx.time_scale if params.get("duration") else None
    try:
        await asyncio.wait_for(command.finished.wait(), duration)
    except TimeoutError:
        return  # the engine's revert cancels the command
    if command.status != "Success":
        raise ActionFailure(
            "DependentServiceFailure", f"SSM command {command_id} ended {command.status}: {command.failure_reason()}"
        )


async def _cancel_command(lab: Any, record: dict[str, Any]) -> None:
    ssm = getattr(lab, "ssm", None)
    if ssm is not None:
        await ssm.cancel_and_revert(record["command_id"])


EXECUTORS: dict[str, Executor] = {
    "ecs.task_cpu_stress": ecs_task_cpu_stress,
    "ecs.task_io_stress": ecs_task_io_stress,
    "ecs.task_kill_process": ecs_task_kill_process,
    "ssm.send_command": ssm_send_command,
}

REVERTERS = {
    STRESS_FAULT: stress.revert,
    SSM_FAULT: _cancel_command,
}
