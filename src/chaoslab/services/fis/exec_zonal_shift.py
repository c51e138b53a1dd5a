"""`aws:arc:start-zonal-autoshift`: the target load balancers and Auto Scaling groups shift away
from one Availability Zone for the action's duration, then back.

A load balancer stops routing requests to its targets in that zone (they stay registered and
health-checked, and serve again the moment the shift ends); a group launches its new members in
its other zones and keeps the members it has there. The shift lives in the backends' memory, so
a crashed lab drops it; the undo record names the shift, and ending one that is gone does nothing.
"""

from __future__ import annotations

from typing import Any

from chaoslab.services.ec2.capacity import zone_names
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Reverter, Targets
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
    shift_id = f"{ctx.experiment_id}/{ctx.action_name}"
    ctx.undo("arc.zonal_shift", {"shift_id": shift_id, "zone": zone, "target": ",".join(r.arn for r in resources)})
    for r in resources:
        if managed_type(r.arn) == "ALB":
            ctx.lab.elbv2.shift_zone(r.arn, shift_id, zone)
        else:
            ctx.lab.autoscaling.shift_zone(str(r.record["Name"]), shift_id, zone)
        ctx.applied("arc.start_zonal_autoshift", r.arn)
    await ctx.sleep(params["duration"])


async def end_shift(lab: Any, record: dict[str, Any]) -> None:
    """Idempotent; the watchdog's dead lab has neither backend (the shift died with the lab)."""
    for backend in (getattr(lab, "elbv2", None), getattr(lab, "autoscaling", None)):
        if backend is not None:
            backend.unshift_zone(record["shift_id"])


EXECUTORS = {"arc.start_zonal_autoshift": start_zonal_autoshift}
REVERTERS: dict[str, Reverter] = {"arc.zonal_shift": end_shift}
