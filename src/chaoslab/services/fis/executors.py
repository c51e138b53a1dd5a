"""The lab's implementations of FIS actions (registered by key in `registry.py`).

An executor is `async def run(ctx, targets, params)`: it checks the role's permission before
every call it makes (`ctx.authorize`), records an undo entry BEFORE a reversible fault takes
effect (`ctx.undo`), and sleeps its duration with `ctx.sleep`. The engine reverts the action's
undo entries when it ends — normally, stopped or failed — with `registry.REVERTERS`, which
also replays the entries a crashed lab left behind.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.selection import Resource

Targets = dict[str, list[Resource]]
Reverter = Callable[[Any, dict[str, Any]], Awaitable[None]]


class ActionFailure(Exception):
    """An action that cannot go on; `code` is the FIS error code the experiment reports."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


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
    # undo-record fault name -> revert(lab, record); the engine passes registry.REVERTERS
    reverters: dict[str, Reverter] = field(default_factory=dict)
    undo_ids: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    def authorize(self, permission: str, resource: Resource | None = None) -> None:
        arn = resource.arn if resource else "*"
        decision = self.lab.iam.authorize(self.role_arn, permission, arn, resource.tags if resource else {})
        if not decision.allowed:
            raise ActionFailure("AuthorizationFailure", decision.reason)

    def undo(self, fault: str, record: dict[str, Any]) -> None:
        """Persist how to revert a fault; call it before the fault takes effect."""
        entry = self.lab.store.journal_add(owner=self.experiment_id, fault=fault, record=record)
        self.undo_ids.append((entry, fault, record))

    def applied(self, fault: str, target: str) -> None:
        self.lab.events.emit("fault.applied", fault=fault, target=target, experiment=self.experiment_id,
                             action=self.action_name)

    async def sleep(self, iso_duration: str | None) -> None:
        if iso_duration:
            await asyncio.sleep(parse_duration(iso_duration) * self.time_scale)

    async def revert_all(self) -> None:
        """Revert this action's faults, newest first; each entry is marked done once reverted, and one
        that fails stays pending (the next lab start retries it)."""
        errors = []
        while self.undo_ids:
            entry, fault, record = self.undo_ids.pop()
            try:
                await self.reverters[fault](self.lab, record)
            except Exception as exc:  # noqa: BLE001 - keep reverting the others; the entry stays pending
                errors.append(f"{fault} on {record.get('target')}: {exc}")
                continue
            self.lab.store.journal_done(entry)
            self.lab.events.emit("fault.reverted", fault=fault, target=record.get("target"),
                                 experiment=self.experiment_id, action=self.action_name)
        if errors:
            raise ActionFailure("InternalFailure", "Could not revert: " + "; ".join(errors))


Executor = Callable[[ActionContext, Targets, dict[str, str]], Awaitable[None]]


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
            raise ActionFailure("ConfigurationFailure",
                                f"Alarm {arn} is in state {state}; expected one of {', '.join(allowed)}.")


async def ec2_stop_instances(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    instances = targets["Instances"]
    restart = params.get("startInstancesAfterDuration")
    for r in instances:
        ctx.authorize("ec2:StopInstances", r)
        if restart:  # checked up front: a stop we could not undo must not happen
            ctx.authorize("ec2:StartInstances", r)
    ids = [_id(r, "InstanceId") for r in instances]
    if restart:
        ctx.undo("ec2.start_instances", {"instance_ids": ids, "target": ",".join(ids)})
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


async def ec2_send_spot_instance_interruptions(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """The interruption notice now, the interruption (termination) after durationBeforeInterruption;
    stopping the action during the notice spares the instances."""
    for r in targets["SpotInstances"]:
        ctx.authorize("ec2:SendSpotInstanceInterruptions", r)
    ids = [_id(r, "InstanceId") for r in targets["SpotInstances"]]
    for i in ids:
        ctx.applied("ec2.spot_interruption_notice", i)
    await ctx.sleep(params["durationBeforeInterruption"])
    await call(ctx.lab.ec2.terminate_instances(ids))
    for i in ids:
        ctx.applied("ec2.spot_interruption", i)


async def ecs_stop_task(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r in targets["Tasks"]:
        ctx.authorize("ecs:StopTask", r)
    for r in targets["Tasks"]:
        await call(ctx.lab.ecs.stop_task(r.record.get("clusterArn"), r.arn,
                                         f"Task stopped by AWS FIS experiment {ctx.experiment_id}"))
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


async def _start_instances(lab: Any, record: dict[str, Any]) -> None:
    await call(lab.ec2.start_instances(record["instance_ids"]))


REVERTERS: dict[str, Reverter] = {
    "ec2.start_instances": _start_instances,
}
