"""FIS executors for network faults inside units: the ECS task network actions and
aws:network:disrupt-connectivity (see executors.py for the contract: authorize, translate the
parameters into a fault, `ctx.apply` it, sleep the duration). They need netns mode (root on Linux).

Keys of `EXECUTORS` are the catalogue's `executor` names: ecs.task_network_blackhole_port,
ecs.task_network_packet_loss, ecs.task_network_latency, network.disrupt_connectivity.
"""

from __future__ import annotations

from typing import Any

from chaoslab.faults import network as net
from chaoslab.faults import network_rules as rules
from chaoslab.faults.acl_swap import AclSwap
from chaoslab.faults.network_iptables import RuleSet
from chaoslab.runtime.unit import ComputeUnit
from chaoslab.services.fis.catalogue import ACTIONS
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

_SCOPES = ACTIONS["aws:network:disrupt-connectivity"].lab_values["scope"]
# The SSM document AWS runs for each action: (iptables/tc variant, ECS fault-injection endpoint variant)
_DOCUMENTS = {
    "blackhole": ("AWSFIS-Run-Network-Blackhole-Port", "AWSFIS-Run-Network-Blackhole-Port-ECS"),
    "loss": ("AWSFIS-Run-Network-Packet-Loss-Sources", "AWSFIS-Run-Network-Packet-Loss-ECS"),
    "latency": ("AWSFIS-Run-Network-Latency-Sources", "AWSFIS-Run-Network-Latency-ECS"),
}


def _configuration(reason: str) -> ActionFailure:
    return ActionFailure("ConfigurationFailure", reason)


def _task_units(
    ctx: ActionContext, targets: Targets, kind: str, params: dict[str, str]
) -> list[tuple[Resource, Any, ComputeUnit, str]]:
    """(resource, task, unit, netns) of every target task; refuses before anything is changed."""
    endpoints = params.get("useEcsFaultInjectionEndpoints", "false").lower() == "true"
    out = []
    for r, task in task_units(ctx, targets, _DOCUMENTS[kind][endpoints], reversible=True):
        with fault_errors():
            netns = net.unit_netns(task.unit, f"task {task.task_id}")
        out.append((r, task, task.unit, netns))
    return out


def _sources(ctx: ActionContext, params: dict[str, str]) -> list[str] | None:
    with fault_errors():
        return net.resolve_sources(ctx.lab, params.get("sources"))


async def _apply_rules(ctx: ActionContext, event: str, target: str, rule_set: RuleSet) -> None:
    await ctx.apply(net.NetworkRules(target, rule_set))
    ctx.applied(event, target)


async def ecs_task_network_blackhole_port(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    port, protocol, traffic = int(params["port"]), params.get("protocol", "tcp"), params["trafficType"]
    await on_every_target(
        [
            _apply_rules(
                ctx,
                "ecs.task_network_blackhole_port",
                r.arn,
                rules.blackhole(netns, net.new_tag(), port, protocol, traffic),
            )
            for r, _task, _, netns in _task_units(ctx, targets, "blackhole", params)
        ]
    )
    await ctx.sleep(params["duration"])


async def ecs_task_network_packet_loss(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    units = _task_units(ctx, targets, "loss", params)
    sources = _sources(ctx, params)
    loss, flows = float(params.get("lossPercent", "7")), float(params.get("flowsPercent", "100"))
    await on_every_target(
        [
            _apply_rules(
                ctx,
                "ecs.task_network_packet_loss",
                r.arn,
                rules.packet_loss(netns, net.new_tag(), loss, flows, sources),
            )
            for r, _, _, netns in units
        ]
    )
    await ctx.sleep(params["duration"])


def _container_ports(task: Any) -> list[int]:
    return sorted(
        {
            int(pm["containerPort"])
            for c in task.task_definition["containerDefinitions"]
            for pm in c.get("portMappings", [])
            if pm.get("protocol", "tcp") == "tcp"
        }
    )


async def ecs_task_network_latency(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    units = _task_units(ctx, targets, "latency", params)
    sources = _sources(ctx, params)
    delay, jitter = int(params.get("delayMilliseconds", "200")), int(params.get("jitterMilliseconds", "10"))
    if delay == 0 and jitter == 0:
        raise _configuration("required either delayMilliseconds or jitterMilliseconds to be non-zero")

    async def slow(r: Resource, task: Any, unit: ComputeUnit, netns: str) -> None:
        fault = net.NetworkLatency(
            unit,
            r.arn,
            netns,
            delay_ms=delay,
            jitter_ms=jitter,
            flows_percent=int(params.get("flowsPercent", "100")),
            sources=sources,
            ingress_ports=_container_ports(task),
        )
        await ctx.apply(fault)
        ctx.applied("ecs.task_network_latency", r.arn)

    await on_every_target([slow(*unit) for unit in units])
    await ctx.sleep(params["duration"])


# aws:network:disrupt-connectivity --------------------------------------------------------------
def _subnet_plan(ctx: ActionContext, subnets: list[Resource]) -> list[tuple[Resource, list[str]]]:
    """Each target subnet with the CIDRs of its VPC's subnets in other AZs."""
    every = ctx.lab.ec2.describe_subnet_records()
    plan = []
    for r in subnets:
        rec = r.record
        others = [
            s["CidrBlock"]
            for s in every
            if s["VpcId"] == rec["VpcId"] and s["AvailabilityZone"] != rec["AvailabilityZone"]
        ]
        if ctx.lab.ec2.vpcs[rec["VpcId"]].network.mode != "netns":
            raise _configuration(f"aws:network:disrupt-connectivity {net.NETNS_ONLY}")
        plan.append((r, others))
    return plan


async def network_disrupt_connectivity(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    """As FIS does it: each target subnet's network ACL is swapped for a deny ACL (visible through
    DescribeNetworkAcls while the action runs) and the original association restored at the end;
    units launched into the subnet meanwhile are under the deny ACL from their start."""
    scope = params.get("scope", "all")
    if scope not in _SCOPES:  # the engine stops such a run first; a direct call is refused here
        raise _configuration(f"chaoslab emulates scope {' and '.join(_SCOPES)} only, not {scope}.")
    for r in targets["Subnets"]:
        for permission in ("ec2:DescribeSubnets", "ec2:CreateNetworkAcl", "ec2:ReplaceNetworkAclAssociation"):
            ctx.authorize(permission, r)
    for r, others in _subnet_plan(ctx, targets["Subnets"]):
        await ctx.apply(AclSwap(ctx.lab, r.record["SubnetId"], scope, others, r.arn))
        ctx.applied("network.disrupt_connectivity", r.arn)
    await ctx.sleep(params["duration"])


EXECUTORS: dict[str, Executor] = {
    "ecs.task_network_blackhole_port": ecs_task_network_blackhole_port,
    "ecs.task_network_packet_loss": ecs_task_network_packet_loss,
    "ecs.task_network_latency": ecs_task_network_latency,
    "network.disrupt_connectivity": network_disrupt_connectivity,
}
