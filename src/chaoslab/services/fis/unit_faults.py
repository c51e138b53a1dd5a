"""FIS actions that hurt compute units from the inside — the ECS task actions and
`aws:network:disrupt-connectivity` — mapped onto `chaoslab.faults`.

AWS runs these through an SSM agent sidecar; the lab applies the same effect to the task's (or
subnet's) units directly. Each reversible fault's undo record is journaled before the fault
takes effect and reverted when the action ends (`REVERTERS` below).
"""

from __future__ import annotations

from typing import Any

from chaoslab.faults import FaultError
from chaoslab.faults import network, stress
from chaoslab.faults import network_rules as rules
from chaoslab.faults.network import NetworkFaultError
from chaoslab.faults.process import kill_process
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets
from chaoslab.services.fis.selection import Resource
from chaoslab.services.units import ComputeUnit


def _unit(ctx: ActionContext, task: Resource) -> tuple[str, ComputeUnit]:
    unit_id = task.arn.rsplit("/", 1)[-1]
    unit = stress.find_unit(ctx.lab, unit_id)
    if unit is None or not unit.running:
        raise ActionFailure("InvalidTarget", f"Task {task.arn} is not running.")
    return unit_id, unit


def _seconds(ctx: ActionContext, params: dict[str, str]) -> float:
    return parse_duration(params["duration"]) * ctx.time_scale


def _check(ctx: ActionContext, tasks: list[Resource]) -> None:
    for task in tasks:
        ctx.authorize("ecs:DescribeTasks", task)
        ctx.authorize("ssm:SendCommand", task)


def stress_action(kind: str) -> Executor:
    """aws:ecs:task-cpu-stress / task-io-stress: workers in each task for the duration."""

    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        _check(ctx, targets["Tasks"])
        armed = []
        for task in targets["Tasks"]:
            _, unit = _unit(ctx, task)
            options = {"percent": float(params["percent"]), "workers": int(params["workers"]),
                       "duration": _seconds(ctx, params), "target": task.arn}
            try:
                fault = await (stress.cpu(unit, **options) if kind == "cpu" else stress.io(unit, **options))
            except FaultError as exc:
                raise ActionFailure("InvalidTarget", f"{task.arn}: {exc}") from exc
            ctx.undo("stress", fault.record)
            armed.append((task, fault))
        for task, fault in armed:
            await fault.go()
            ctx.applied(f"ecs.task_{kind}_stress", task.arn)
        await ctx.sleep(params["duration"])

    return run


async def kill_process_action(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """aws:ecs:task-kill-process: irreversible, like killall in AWS's document."""
    _check(ctx, targets["Tasks"])
    for task in targets["Tasks"]:
        _, unit = _unit(ctx, task)
        try:
            kill_process(unit, params["processName"], params["signal"])
        except FaultError as exc:
            raise ActionFailure("InvalidTarget", f"{task.arn}: {exc}") from exc
        ctx.applied("ecs.task_kill_process", task.arn)


def network_action(kind: str) -> Executor:
    """aws:ecs:task-network-{blackhole-port,packet-loss,latency}: iptables rules (and the delay
    proxy for latency) in each task's network namespace for the duration."""

    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        _check(ctx, targets["Tasks"])
        try:
            sources = network.resolve_sources(ctx.lab, params.get("sources"))
            for task in targets["Tasks"]:
                unit_id, unit = _unit(ctx, task)
                netns = network.unit_netns(unit, task.arn)
                await _apply(ctx, kind, task.arn, unit_id, unit, netns, params, sources)
        except NetworkFaultError as exc:
            raise ActionFailure("ConfigurationFailure", str(exc)) from exc
        await ctx.sleep(params["duration"])

    return run


async def _apply(ctx: ActionContext, kind: str, target: str, unit_id: str, unit: ComputeUnit, netns: str,
                 params: dict[str, str], sources: list[str] | None) -> None:
    tag = network.new_tag()
    if kind == "latency":
        record = network.latency_record(target, unit_id, netns, delay_ms=int(params["delayMilliseconds"]),
                                        jitter_ms=int(params["jitterMilliseconds"]),
                                        flows_percent=int(params["flowsPercent"]), sources=sources, ingress_ports=[])
        ctx.undo("network.latency", record)
        await network.apply_latency(unit, record)
    else:
        if kind == "blackhole-port":
            rule_set = rules.blackhole(netns, tag, int(params["port"]), params["protocol"], params["trafficType"])
        else:
            rule_set = rules.packet_loss(netns, tag, float(params["lossPercent"]), float(params["flowsPercent"]),
                                         sources)
        record = network.rules_record(target, rule_set)
        ctx.undo("network.rules", record)
        await network.apply_rules(record)
    ctx.applied("ecs.task_network_" + kind.replace("-", "_"), target)


async def disrupt_connectivity(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """aws:network:disrupt-connectivity: what FIS's deny NACL does to a subnet, applied inside every
    unit running in it when the action starts (units started later are not affected)."""
    scope = params["scope"]
    if scope not in ("all", "availability-zone"):
        raise ActionFailure("ConfigurationFailure", f"chaoslab does not emulate disrupt-connectivity scope {scope} yet.")
    subnets = ctx.lab.ec2.describe_subnet_records()
    for subnet in targets["Subnets"]:
        ctx.authorize("ec2:CreateNetworkAcl", subnet)
        ctx.authorize("ec2:ReplaceNetworkAclAssociation", subnet)
    try:
        for subnet in targets["Subnets"]:
            record = subnet.record
            others = [s["CidrBlock"] for s in subnets
                      if s.get("VpcId") == record.get("VpcId") and s["AvailabilityZone"] != record["AvailabilityZone"]]
            for unit_id, unit in _units_in(ctx.lab, record["SubnetId"]):
                netns = network.unit_netns(unit, unit_id)
                rule_set = rules.disrupt(netns, network.new_tag(), scope, record["CidrBlock"], others)
                undo = network.rules_record(unit_id, rule_set, subnet=record["SubnetId"])
                ctx.undo("network.rules", undo)
                await network.apply_rules(undo)
                ctx.applied("network.disrupt_connectivity", unit_id)
    except NetworkFaultError as exc:
        raise ActionFailure("ConfigurationFailure", str(exc)) from exc
    await ctx.sleep(params["duration"])


def _units_in(lab: Any, subnet_id: str) -> list[tuple[str, ComputeUnit]]:
    """Running units (instances and tasks) whose address is in the subnet."""
    owners = list(getattr(lab.ec2, "instances", {}).values()) + list(getattr(lab.ecs, "tasks", {}).values())
    return [(u.unit_id, u) for o in owners
            if (u := o.unit) is not None and u.running and getattr(o, "subnet", None) is not None
            and o.subnet.subnet_id == subnet_id]


REVERTERS = {
    "stress": stress.revert,
    "network.rules": network.revert_rules,
    "network.latency": network.revert_latency,
}
