"""`aws:arc:start-zonal-autoshift`: the target load balancers and Auto Scaling groups shift away
from one Availability Zone for the action's duration, then back.

A load balancer stops routing requests to its targets in that zone (they stay registered and
health-checked, and serve again the moment the shift ends); a group launches its new members in
its other zones and keeps the members it has there (`faults.zonal_shift.ZonalShift`).
"""

from __future__ import annotations

from chaoslab.faults.zonal_shift import ZonalShift
from chaoslab.services.ec2.capacity import zone_names
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Targets
from chaoslab.services.fis.selection import Resource

ALL_TYPES = "ASG,ALB,NLB,EKS"


def managed_type(arn: str) -> str:
    """ARC's managed resource type of an ARN the lab has: ALB or ASG (NLB and EKS it has none of)."""
    if ":loadbalancer/app/" in arn:
        return "ALB"
    if ":autoScalingGroup:" in arn:
        return "ASG"
    return "OTHER"


def chosen(resources: list[Resource], types: str) -> list[Resource]:
    """The resources of the managedResourceTypes the action names (all types when unset)."""
    wanted = {t.strip() for t in types.split(",")}
    return [r for r in resources if managed_type(r.arn) in wanted]


def shift_zone(ctx: ActionContext, identifier: str) -> str:
    zones = zone_names(identifier, ctx.lab.ec2.availability_zones())
    if len(zones) != 1:
        raise ActionFailure(
            "ConfigurationFailure",
            f"Availability Zone {identifier} is not one of the lab's ({', '.join(ctx.lab.ec2.availability_zones())}).",
        )
    return next(iter(zones))


async def start_zonal_autoshift(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    types = params.get("managedResourceTypes") or ALL_TYPES
    resources = chosen(targets["ManagedResources"], types)
    if not resources:
        raise ActionFailure("InvalidTarget", f"No target resource is of the managed resource types {types}.")
    zone = shift_zone(ctx, params["availabilityZoneIdentifier"])
    ctx.authorize("arc-zonal-shift:ListManagedResources")
    ctx.authorize("tag:GetResources")
    if any(managed_type(r.arn) == "ASG" for r in resources):
        ctx.authorize("autoscaling:DescribeTags")
    for r in resources:  # all checked before any shift: the end of the shift must be allowed too
        for permission in ("GetManagedResource", "StartZonalShift", "CancelZonalShift"):
            ctx.authorize(f"arc-zonal-shift:{permission}", r)
    shift = ZonalShift(
        ctx.lab,
        f"{ctx.experiment_id}/{ctx.action_name}",
        zone,
        load_balancers=[r.arn for r in resources if managed_type(r.arn) == "ALB"],
        groups=[str(r.record["Name"]) for r in resources if managed_type(r.arn) == "ASG"],
        target=",".join(r.arn for r in resources),
    )
    await ctx.apply(shift)
    for r in resources:
        ctx.applied("arc.start_zonal_autoshift", r.arn)
    await ctx.sleep(params["duration"])


EXECUTORS = {"arc.start_zonal_autoshift": start_zonal_autoshift}
