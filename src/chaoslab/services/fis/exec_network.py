"""FIS executors for network, API-error and Spot-interruption actions (see executors.py for
the contract: authorize, journal the undo record BEFORE the effect, sleep the duration).

Keys of `EXECUTORS` are the catalogue's `executor` names:
  ecs.network_blackhole_port, ecs.network_packet_loss, ecs.network_latency,
  network.disrupt_connectivity, fis.inject_api_internal_error, fis.inject_api_throttle_error,
  fis.inject_api_unavailable_error, ec2.send_spot_instance_interruptions,
  ecs.fargate_spot_interruption (the lab-only action in lab_actions.py).
`REVERTERS` replay undo records (also after a crash): network.rules, network.latency, api.errors.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from chaoslab.faults import api_errors
from chaoslab.faults import network as net
from chaoslab.faults import network_rules as rules
from chaoslab.faults.network_iptables import netns_exists
from chaoslab.ids import hex_id
from chaoslab.runtime.commands import CommandError
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Reverter, Targets, call
from chaoslab.services.fis.selection import Resource
from chaoslab.services.units import ComputeUnit

DISRUPT_POLL_SECONDS = 0.5  # how soon a unit launched into a disrupted subnet is cut off too
_TASK_PERMISSIONS = ("ecs:DescribeTasks", "ssm:SendCommand")


def _configuration(reason: str) -> ActionFailure:
    return ActionFailure("ConfigurationFailure", reason)


def _task_units(ctx: ActionContext, targets: Targets) -> list[tuple[Resource, Any, ComputeUnit, str]]:
    """(resource, task, unit, netns) of every target task; refuses before anything is changed."""
    out = []
    for r in targets["Tasks"]:
        for permission in _TASK_PERMISSIONS:
            ctx.authorize(permission, r)
        task = ctx.lab.ecs.task_by_arn(r.arn)
        if task is None or task.last_status != "RUNNING":
            raise ActionFailure("InvalidTarget", f"Task {r.arn} is not running.")
        try:
            netns = net.unit_netns(task.unit, f"task {task.task_id}")
        except net.NetworkFaultError as exc:
            raise _configuration(str(exc)) from None
        out.append((r, task, task.unit, netns))
    return out


def _sources(ctx: ActionContext, params: dict[str, str]) -> list[str] | None:
    try:
        return net.resolve_sources(ctx.lab, params.get("sources"))
    except net.NetworkFaultError as exc:
        raise _configuration(str(exc)) from None


async def _apply_rules(ctx: ActionContext, fault: str, target: str, rule_set: Any) -> None:
    record = net.rules_record(target, rule_set)
    ctx.undo("network.rules", record)
    await net.apply_rules(record)
    ctx.applied(fault, target)


async def ecs_network_blackhole_port(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    for r, task, _, netns in _task_units(ctx, targets):
        rule_set = rules.blackhole(netns, net.new_tag(), int(params["port"]), params.get("protocol", "tcp"),
                                   params["trafficType"])
        await _apply_rules(ctx, "ecs.network_blackhole_port", r.arn, rule_set)
    await ctx.sleep(params["duration"])


async def ecs_network_packet_loss(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    units = _task_units(ctx, targets)
    sources = _sources(ctx, params)
    for r, _, _, netns in units:
        rule_set = rules.packet_loss(netns, net.new_tag(), float(params.get("lossPercent", "7")),
                                     float(params.get("flowsPercent", "100")), sources)
        await _apply_rules(ctx, "ecs.network_packet_loss", r.arn, rule_set)
    await ctx.sleep(params["duration"])


def _container_ports(task: Any) -> list[int]:
    return sorted({int(pm["containerPort"]) for c in task.task_definition["containerDefinitions"]
                   for pm in c.get("portMappings", []) if pm.get("protocol", "tcp") == "tcp"})


async def ecs_network_latency(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    units = _task_units(ctx, targets)
    sources = _sources(ctx, params)
    delay, jitter = int(params.get("delayMilliseconds", "200")), int(params.get("jitterMilliseconds", "10"))
    if delay == 0 and jitter == 0:
        raise _configuration("required either delayMilliseconds or jitterMilliseconds to be non-zero")
    for r, task, unit, netns in units:
        record = net.latency_record(r.arn, task.task_id, netns, delay_ms=delay, jitter_ms=jitter,
                                    flows_percent=int(params.get("flowsPercent", "100")), sources=sources,
                                    ingress_ports=_container_ports(task))
        ctx.undo("network.latency", record)
        try:
            await net.apply_latency(unit, record)
        except net.NetworkFaultError as exc:
            raise ActionFailure("InternalFailure", str(exc)) from None
        ctx.applied("ecs.network_latency", r.arn)
    await ctx.sleep(params["duration"])


# aws:network:disrupt-connectivity --------------------------------------------------------------
def _subnet_plan(ctx: ActionContext, subnets: list[Resource]) -> list[tuple[Resource, list[str]]]:
    """Each target subnet with the CIDRs of its VPC's subnets in other AZs."""
    every = ctx.lab.ec2.describe_subnet_records()
    plan = []
    for r in subnets:
        rec = r.record
        others = [s["CidrBlock"] for s in every
                  if s["VpcId"] == rec["VpcId"] and s["AvailabilityZone"] != rec["AvailabilityZone"]]
        if ctx.lab.ec2.vpcs[rec["VpcId"]].network.mode != "netns":
            raise _configuration(f"aws:network:disrupt-connectivity {net.NETNS_ONLY}")
        plan.append((r, others))
    return plan


def _units_in_subnet(lab: Any, subnet_id: str) -> list[tuple[str, str]]:
    """(unit id, netns) of every live unit attached to the subnet: instances and tasks."""
    units: list[tuple[str, ComputeUnit | None]] = [
        *((i.instance_id, i.unit) for i in lab.ec2.instances.values() if i.subnet.subnet_id == subnet_id),
        *((t.task_id, t.unit) for t in lab.ecs.tasks.values() if t.subnet.subnet_id == subnet_id),
    ]
    return [(uid, u.sandbox.netns) for uid, u in units
            if u is not None and u.sandbox is not None and u.sandbox.netns and netns_exists(u.sandbox.netns)]


async def network_disrupt_connectivity(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    scope = params.get("scope", "all")
    if scope not in ("all", "availability-zone"):
        raise _configuration(f"chaoslab emulates scope all and availability-zone only, not {scope}.")
    for r in targets["Subnets"]:
        for permission in ("ec2:DescribeSubnets", "ec2:CreateNetworkAcl", "ec2:ReplaceNetworkAclAssociation"):
            ctx.authorize(permission, r)
    plan = _subnet_plan(ctx, targets["Subnets"])
    done: set[str] = set()

    async def sweep() -> None:
        for r, others in plan:
            for unit_id, netns in _units_in_subnet(ctx.lab, r.record["SubnetId"]):
                if netns in done:
                    continue
                done.add(netns)
                rule_set = rules.disrupt(netns, net.new_tag(), scope, r.record["CidrBlock"], others)
                try:
                    await _apply_rules(ctx, "network.disrupt_connectivity", unit_id, rule_set)
                except CommandError:
                    if netns_exists(netns):  # a unit that vanished meanwhile needs nothing
                        raise

    async def follow() -> None:
        while True:
            await asyncio.sleep(DISRUPT_POLL_SECONDS)
            await sweep()

    await sweep()
    follower = asyncio.create_task(follow())
    sleeper = asyncio.create_task(ctx.sleep(params["duration"]))
    try:
        finished, _ = await asyncio.wait({sleeper, follower}, return_when=asyncio.FIRST_COMPLETED)
        if follower in finished:
            follower.result()  # a failed sweep fails the action
    finally:
        for task in (sleeper, follower):
            task.cancel()
        await asyncio.gather(sleeper, follower, return_exceptions=True)


# aws:fis:inject-api-*-error ----------------------------------------------------------------------
def _inject_api(kind: str) -> Executor:
    permission = {"internal": "fis:InjectApiInternalError", "throttle": "fis:InjectApiThrottleError",
                  "unavailable": "fis:InjectApiUnavailableError"}[kind]

    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        for r in targets["Roles"]:
            ctx.authorize(permission, r)
        fault = api_errors.ApiFault(
            kind, params["service"], frozenset(o.strip() for o in params["operations"].split(",") if o.strip()),
            float(params["percentage"]), frozenset(api_errors.role_name(r.arn) for r in targets["Roles"]),
            ctx.lab.config.account_id)
        hook_id = hex_id(12)
        ctx.undo("api.errors", {"target": ",".join(r.arn for r in targets["Roles"]), "hook_id": hook_id})
        api_errors.install(ctx.lab, hook_id, fault)
        for r in targets["Roles"]:
            ctx.applied(f"fis.inject_api_{kind}_error", r.arn)
        await ctx.sleep(params["duration"])
    return run


# Spot interruptions ------------------------------------------------------------------------------
def _notice_time(ctx: ActionContext, duration: str) -> str:
    at = time.time() + parse_duration(duration) * ctx.time_scale
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def ec2_send_spot_instance_interruptions(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """The two-minute-style notice (an `ec2.spot_interruption_warning` lab event, the shape of
    EventBridge's "EC2 Spot Instance Interruption Warning"), then termination."""
    wait = params["durationBeforeInterruption"]
    ids = []
    for r in targets["SpotInstances"]:
        ctx.authorize("ec2:SendSpotInstanceInterruptions", r)
        iid = r.arn.rsplit("/", 1)[-1]
        if not ctx.lab.ec2.get(iid).spot:
            raise ActionFailure("InvalidTarget", f"Instance {iid} is not a Spot Instance.")
        ids.append(iid)
    at = _notice_time(ctx, wait)
    for iid in ids:
        ctx.lab.events.emit("ec2.spot_interruption_warning", instance_id=iid, instance_action="terminate",
                            time=at, experiment=ctx.experiment_id)
        ctx.applied("ec2.send_spot_instance_interruptions", iid)
    await ctx.sleep(wait)
    await call(ctx.lab.ec2.terminate_instances(ids))


async def ecs_fargate_spot_interruption(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """Lab-only (FIS has no such action): a Spot interruption warning for each Fargate Spot task,
    then, after durationBeforeInterruption, the stop ECS makes (stopCode SpotInterruption)."""
    wait = params.get("durationBeforeInterruption", "PT2M")
    tasks = []
    for r in targets["Tasks"]:
        ctx.authorize("ecs:StopTask", r)
        task = ctx.lab.ecs.task_by_arn(r.arn)
        if task is not None and task.capacity_provider == "FARGATE_SPOT" and task.desired_status == "RUNNING":
            tasks.append(task)
    if not tasks:
        raise _configuration("None of the target tasks runs on the FARGATE_SPOT capacity provider.")
    at = _notice_time(ctx, wait)
    for task in tasks:
        ctx.lab.events.emit("ecs.task_event", task=task.arn, service=task.service, cluster=task.cluster.name,
                            message="Spot interruption warning", stop_at=at, experiment=ctx.experiment_id)
        if task.service:
            ctx.lab.events.emit("ecs.service_event", service=task.service, cluster=task.cluster.name,
                                message=f"(service {task.service}) task {task.task_id} received a Spot "
                                        f"interruption warning; it stops at {at}.")
        ctx.applied("ecs.fargate_spot_interruption", task.arn)
    await ctx.sleep(wait)
    for task in tasks:
        ctx.lab.ecs.stop_task_soon(task, "SpotInterruption", "Your Spot Task was interrupted.")


# reverters -------------------------------------------------------------------------------------
async def _revert_api_errors(lab: Any, record: dict[str, Any]) -> None:
    api_errors.remove(record["hook_id"])


EXECUTORS: dict[str, Executor] = {
    "ecs.network_blackhole_port": ecs_network_blackhole_port,
    "ecs.network_packet_loss": ecs_network_packet_loss,
    "ecs.network_latency": ecs_network_latency,
    "network.disrupt_connectivity": network_disrupt_connectivity,
    "fis.inject_api_internal_error": _inject_api("internal"),
    "fis.inject_api_throttle_error": _inject_api("throttle"),
    "fis.inject_api_unavailable_error": _inject_api("unavailable"),
    "ec2.send_spot_instance_interruptions": ec2_send_spot_instance_interruptions,
    "ecs.fargate_spot_interruption": ecs_fargate_spot_interruption,
}

REVERTERS: dict[str, Reverter] = {
    "network.rules": net.revert_rules,
    "network.latency": net.revert_latency,
    "api.errors": _revert_api_errors,
}
