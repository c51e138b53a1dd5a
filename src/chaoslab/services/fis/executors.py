"""The executor contract, and the FIS actions that are control-plane calls on lab resources
(wait, alarm assertion, EC2/ECS/RDS stop-reboot-terminate-failover, both Spot interruptions).
Faults inside units live in `exec_stress.py` and `exec_network.py`, API errors in
`api_faults.py`; `registry.py` maps executor keys to all of them.

An executor is `async def run(ctx, targets, params)`: it checks the role's permission before
every call it makes (`ctx.authorize`), translates the action's parameters into a fault from
`chaoslab.faults` and applies it with `ctx.apply` (which journals the undo record BEFORE the
fault takes effect and turns a `FaultError` into the action's failure), and sleeps its duration
with `ctx.sleep`. The engine reverts the action's journal entries when it ends — normally,
stopped or failed — through `chaoslab.faults.replay`, which also replays the entries a crashed
lab left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.faults.base import Fault, FaultConfigError, FaultError, TargetStateError
from chaoslab.faults.instance_stop import InstanceStop
from chaoslab.faults.replay import Entry, revert_entries
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.selection import Resource

Targets = dict[str, list[Resource]]


class ActionFailure(Exception):
    """An action that cannot go on; `code` is the FIS error code the experiment reports."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# A fault's error class -> the FIS error code of the action it fails (first match wins).
_FAULT_CODES: tuple[tuple[type[FaultError], str], ...] = (
    (TargetStateError, "InvalidTarget"),
    (FaultConfigError, "ConfigurationFailure"),
    (FaultError, "InternalFailure"),
)


def fault_failure(exc: FaultError, subject: str | None = None) -> ActionFailure:
    """The one translation of a fault's error into a FIS action failure."""
    code = next(code for kind, code in _FAULT_CODES if isinstance(exc, kind))
    return ActionFailure(code, f"{subject}: {exc}" if subject else str(exc))


@contextlib.contextmanager
def fault_errors(subject: str | None = None) -> Iterator[None]:
    """Fail the action with `fault_failure` when a fault (or its set-up) raises."""
    try:
        yield
    except FaultError as exc:
        raise fault_failure(exc, subject) from None


async def call(result: Any) -> Any:
    """Await a backend method's result if it is a coroutine (backends may be sync or async)."""
    return await result if inspect.isawaitable(result) else result


@dataclass
class ActionContext:
    """What an executor may use: the lab, the experiment's role and its undo records."""

    lab: Any
    experiment_id: str
    role_arn: str
    action_name: str
    action_id: str
    time_scale: float = 1.0
    journaled: list[Entry] = field(default_factory=list)  # this action's undo entries, oldest first

    def authorize(
        self, permission: str, resource: Resource | None = None, context: dict[str, str | list[str]] | None = None
    ) -> None:
        """`context`: condition keys the request carries besides the resource's (ec2:FisActionId …)."""
        arn = resource.arn if resource else "*"
        decision = self.lab.iam.authorize(self.role_arn, permission, arn, resource.tags if resource else {}, context)
        if not decision.allowed:
            raise ActionFailure("AuthorizationFailure", decision.reason)

    def journal(self, fault: str, record: dict[str, Any]) -> None:
        """Persist how to revert a fault (`Fault.apply` calls it before the fault takes effect)."""
        entry = self.lab.store.journal_add(owner=self.experiment_id, fault=fault, record=record)
        self.journaled.append({"id": entry, "fault": fault, "record": record})

    async def apply(self, fault: Fault, subject: str | None = None) -> dict[str, Any]:
        """Apply `fault`, journaled under this experiment; its errors fail the action."""
        with fault_errors(subject):
            return await fault.apply(self.journal)

    def applied(self, fault: str, target: str) -> None:
        self.lab.events.emit(
            "fault.applied", fault=fault, target=target, experiment=self.experiment_id, action=self.action_name
        )

    async def sleep(self, iso_duration: str | None) -> None:
        if iso_duration:
            await asyncio.sleep(parse_duration(iso_duration) * self.time_scale)

    async def revert_all(self) -> None:
        """Revert this action's faults, newest first; each entry is marked done once reverted, and one
        that fails stays pending (the next lab start retries it)."""
        entries, self.journaled = self.journaled[::-1], []

        def reverted(entry: Entry) -> None:
            self.lab.events.emit(
                "fault.reverted",
                fault=entry["fault"],
                target=entry["record"].get("target"),
                experiment=self.experiment_id,
                action=self.action_name,
            )

        errors = await revert_entries(self.lab, self.lab.store, entries, reverted)
        if errors:
            raise ActionFailure("InternalFailure", "Could not revert: " + "; ".join(errors))


Executor = Callable[[ActionContext, Targets, dict[str, str]], Awaitable[None]]


# Targets worked on at once: enough to overlap their waits (process starts, iptables), few enough
# that on a loaded host each step still finishes inside its own deadline (a stress worker's start).
AT_ONCE = 2 * (os.cpu_count() or 1) + 2


async def on_every_target(steps: list[Awaitable[None]], at_once: int = AT_ONCE) -> None:
    """Run one step per target, `at_once` at a time, as FIS acts on every selected target
    together: a fault on 64 tasks then costs what its work costs, not 64 waits in a row. Every
    step runs to its end (each journals what it applied, so the engine can revert it); then the
    first failure, in target order, fails the action."""
    gate = asyncio.Semaphore(at_once)

    async def gated(step: Awaitable[None]) -> None:
        async with gate:
            await step

    results = await asyncio.gather(*(gated(step) for step in steps), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def document_arn(ctx: ActionContext, name: str) -> str:
    return f"arn:aws:ssm:{ctx.lab.config.region}::document/{name}"


def task_units(ctx: ActionContext, targets: Targets, document: str, reversible: bool) -> list[tuple[Resource, Any]]:
    """(resource, task) of every running target task, all permissions checked before anything
    changes. On AWS the ECS task actions run `document` through the task's SSM-agent sidecar, so
    the role needs what that takes; the lab then applies the fault to the task's unit directly."""
    doc = Resource(document_arn(ctx, document), "aws:ssm:document", {})
    out = []
    for r in targets["Tasks"]:
        ctx.authorize("ecs:DescribeTasks", r)
        ctx.authorize("ssm:SendCommand", doc)
        ctx.authorize("ssm:ListCommands")
        if reversible:
            ctx.authorize("ssm:CancelCommand")
        task = ctx.lab.ecs.task_by_arn(r.arn)
        if task is None or task.last_status != "RUNNING" or task.unit is None:
            raise ActionFailure("InvalidTarget", f"Task {r.arn} is not running.")
        out.append((r, task))
    return out


def _id(resource: Resource, key: str) -> str:
    return str(resource.record.get(key) or resource.arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1])


async def fis_wait(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    await ctx.sleep(params["duration"])


async def assert_alarm_state(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    allowed = params["alarmStates"].split(",")
    for arn in params["alarmArns"].split(","):
        ctx.authorize("cloudwatch:DescribeAlarms", Resource(arn, "aws:cloudwatch:alarm", {}))
        state = ctx.lab.cloudwatch.get_alarm_state(arn)
        if state not in allowed:
            raise ActionFailure(
                "ConfigurationFailure", f"Alarm {arn} is in state {state}; expected one of {', '.join(allowed)}."
            )


async def ec2_stop_instances(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    instances = targets["Instances"]
    restart = params.get("startInstancesAfterDuration")
    for r in instances:
        ctx.authorize("ec2:StopInstances", r)
        if restart:  # checked up front: a stop we could not undo must not happen
            ctx.authorize("ec2:StartInstances", r)
    ids = [_id(r, "InstanceId") for r in instances]
    if restart:
        await ctx.apply(InstanceStop(ctx.lab, ids))
    else:
        await call(ctx.lab.ec2.stop_instances(ids))
    for i in ids:
        ctx.applied("ec2.stop_instances", i)
    await ctx.sleep(restart)


async def ec2_reboot_instances(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r in targets["Instances"]:
        ctx.authorize("ec2:RebootInstances", r)
    ids = [_id(r, "InstanceId") for r in targets["Instances"]]
    await call(ctx.lab.ec2.reboot_instances(ids))
    for i in ids:
        ctx.applied("ec2.reboot_instances", i)


async def ec2_terminate_instances(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r in targets["Instances"]:
        ctx.authorize("ec2:TerminateInstances", r)
    ids = [_id(r, "InstanceId") for r in targets["Instances"]]
    await call(ctx.lab.ec2.terminate_instances(ids))
    for i in ids:
        ctx.applied("ec2.terminate_instances", i)


def _notice_time(ctx: ActionContext, duration: str) -> str:
    """When an interruption notice says the interruption comes (EventBridge's time format)."""
    wait = parse_duration(duration) * ctx.time_scale  # wall seconds, as the action sleeps them
    at = ctx.lab.clock.now() + wait * ctx.lab.clock.scale  # in scenario time, as every FIS timestamp
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def ec2_send_spot_instance_interruptions(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """The two-minute-style notice (an `ec2.spot_interruption_warning` lab event, the shape of
    EventBridge's "EC2 Spot Instance Interruption Warning"), then termination with state reason
    Server.SpotInstanceTermination; stopping the action during the notice spares the instances."""
    wait = params["durationBeforeInterruption"]
    ids = []
    for r in targets["SpotInstances"]:
        ctx.authorize("ec2:SendSpotInstanceInterruptions", r)
        iid = _id(r, "InstanceId")
        if r.record.get("InstanceLifecycle") != "spot":
            raise ActionFailure("InvalidTarget", f"Instance {iid} is not a Spot Instance.")
        ids.append(iid)
    at = _notice_time(ctx, wait)
    for iid in ids:
        ctx.lab.events.emit(
            "ec2.spot_interruption_warning",
            instance_id=iid,
            instance_action="terminate",
            time=at,
            experiment=ctx.experiment_id,
        )
        ctx.applied("ec2.send_spot_instance_interruptions", iid)
    await ctx.sleep(wait)
    await call(ctx.lab.ec2.terminate_instances(ids, reason="Server.SpotInstanceTermination"))


async def ecs_fargate_spot_interruption(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """Lab-only (FIS has no such action): AWS reclaiming Fargate Spot capacity. Each target task
    on FARGATE_SPOT gets the interruption at once (stopCode SpotInterruption, SIGTERM, a
    replacement from its service) and stops within durationBeforeInterruption. Nothing is
    reverted: as on AWS, an interruption that has happened cannot be taken back."""
    wait = params.get("durationBeforeInterruption", "PT2M")
    tasks = []
    for r in targets["Tasks"]:
        ctx.authorize("ecs:StopTask", r)
        task = ctx.lab.ecs.task_by_arn(r.arn)
        if task is not None and task.capacity_provider == "FARGATE_SPOT" and task.desired_status == "RUNNING":
            tasks.append(task)
    if not tasks:
        raise ActionFailure(
            "ConfigurationFailure", "None of the target tasks runs on the FARGATE_SPOT capacity provider."
        )
    warning = parse_duration(wait) * ctx.time_scale * ctx.lab.clock.scale  # scenario seconds
    for task in tasks:
        if ctx.lab.ecs.interrupt_spot(task, warning, experiment=ctx.experiment_id):
            ctx.applied("ecs.fargate_spot_interruption", task.arn)
    await ctx.sleep(wait)


async def ecs_stop_task(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r in targets["Tasks"]:
        ctx.authorize("ecs:StopTask", r)
    for r in targets["Tasks"]:
        await call(
            ctx.lab.ecs.stop_task(
                r.record.get("clusterArn"), r.arn, f"Task stopped by AWS FIS experiment {ctx.experiment_id}"
            )
        )
        ctx.applied("ecs.stop_task", r.arn)


async def rds_failover_db_cluster(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r in targets["Clusters"]:
        ctx.authorize("rds:FailoverDBCluster", r)
    for r in targets["Clusters"]:
        await call(ctx.lab.rds.failover_db_cluster(_id(r, "DBClusterIdentifier")))
        ctx.applied("rds.failover_db_cluster", r.arn)


async def rds_reboot_db_instances(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    force = params.get("forceFailover", "false").lower() == "true"
    for r in targets["DBInstances"]:
        ctx.authorize("rds:RebootDBInstance", r)
    for r in targets["DBInstances"]:
        await call(ctx.lab.rds.reboot_db_instance(_id(r, "DBInstanceIdentifier"), force))
        ctx.applied("rds.reboot_db_instances", r.arn)
