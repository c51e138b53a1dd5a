"""FIS executors that run processes in units: ECS task stress and kill-process, and
aws:ssm:send-command (see executors.py for the contract: authorize, translate the parameters
into a fault, `ctx.apply` it, sleep the duration).

Keys of `EXECUTORS` are the catalogue's `executor` names:
  ecs.task_cpu_stress, ecs.task_io_stress, ecs.task_kill_process, ssm.send_command.

On AWS the ECS task actions run an AWSFIS-Run-* document through the task's SSM-agent sidecar;
the lab applies the same fault to the task's unit directly, with the same permissions checked
(`executors.task_units`).
"""

from __future__ import annotations

import asyncio
import json

from chaoslab.errors import AwsError
from chaoslab.faults.process import KillProcess
from chaoslab.faults.ssm_command import SsmCommand
from chaoslab.faults.stress import Stress, cpu, io
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.executors import (
    ActionContext,
    ActionFailure,
    Executor,
    Targets,
    fault_errors,
    on_every_target,
    task_units,
)
from chaoslab.services.fis.selection import Resource


async def _stress_all(ctx: ActionContext, event: str, faults: list[tuple[Resource, Stress]], duration: str) -> None:
    """Arm every unit's workers at once and journal them, then start them all (a task that
    cannot be stressed fails the action before any load starts); hold for the action's duration.
    The two halves of `Fault.apply`, split across units, keep its order: record journaled, then go."""

    async def arm(r: Resource, fault: Stress) -> None:
        with fault_errors(f"Task {r.arn}"):
            ctx.journal(fault.name, await fault.arm())

    await on_every_target([arm(r, fault) for r, fault in faults])
    for r, fault in faults:
        await fault.go()
        ctx.applied(event, r.arn)
    await ctx.sleep(duration)


def _seconds(ctx: ActionContext, duration: str) -> float:
    return parse_duration(duration) * ctx.time_scale


def _task_stress(kind: str, document: str, percent: str, workers: str) -> Executor:
    """aws:ecs:task-cpu-stress / -io-stress: the same steps, with the fault and FIS's defaults."""
    start = {"cpu": cpu, "io": io}[kind]
    event = f"ecs.task_{kind}_stress"

    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        tasks = task_units(ctx, targets, document, reversible=True)
        seconds = _seconds(ctx, params["duration"])
        share, count = int(params.get("percent", percent)), int(params.get("workers", workers))
        faults = [
            (r, start(task.unit, percent=share, workers=count, duration=seconds, target=r.arn)) for r, task in tasks
        ]
        await _stress_all(ctx, event, faults, params["duration"])

    return run


ecs_task_cpu_stress = _task_stress("cpu", "AWSFIS-Run-CPU-Stress", percent="100", workers="0")
ecs_task_io_stress = _task_stress("io", "AWSFIS-Run-IO-Stress", percent="80", workers="1")


async def ecs_task_kill_process(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """Irreversible, like killall: no undo record."""
    units = [(r, task.unit) for r, task in task_units(ctx, targets, "AWSFIS-Run-Kill-Process", reversible=False)]
    for r, unit in units:
        await ctx.apply(
            KillProcess(unit, params["processName"], params.get("signal", "SIGTERM"), r.arn), f"Task {r.arn}"
        )
        ctx.applied("ecs.task_kill_process", r.arn)


# aws:ssm:send-command ---------------------------------------------------------------------------
def document_name(arn: str) -> str:
    return arn.rsplit("document/", 1)[-1]


def document_parameters(raw: str | None) -> dict[str, list[str]]:
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
        parameters = document_parameters(params.get("documentParameters"))
    except (ValueError, AttributeError) as exc:
        raise ActionFailure("ConfigurationFailure", f"documentParameters is not a JSON object: {exc}") from None
    fault = SsmCommand(
        ctx.lab, document_name(params["documentArn"]), ids, parameters, f"FIS experiment {ctx.experiment_id}"
    )
    try:
        await ctx.apply(fault)
    except AwsError as exc:  # the document or a parameter is wrong
        raise ActionFailure("ConfigurationFailure", f"{exc.code}: {exc.message}") from None
    for i in ids:
        ctx.applied("ssm.send_command", i)
    duration = parse_duration(params["duration"]) * ctx.time_scale if params.get("duration") else None
    try:
        await asyncio.wait_for(fault.command.finished.wait(), duration)
    except TimeoutError:
        return  # the engine's revert cancels the command
    if fault.command.status != "Success":
        raise ActionFailure(
            "DependentServiceFailure",
            f"SSM command {fault.command_id} ended {fault.command.status}: {fault.command.failure_reason()}",
        )


EXECUTORS: dict[str, Executor] = {
    "ecs.task_cpu_stress": ecs_task_cpu_stress,
    "ecs.task_io_stress": ecs_task_io_stress,
    "ecs.task_kill_process": ecs_task_kill_process,
    "ssm.send_command": ssm_send_command,
}
