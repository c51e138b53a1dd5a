"""`aws:ec2:asg-insufficient-instance-capacity-error` and
`aws:ec2:api-insufficient-instance-capacity-error`: launches in the named zones fail with EC2's
InsufficientInstanceCapacity, at the action's percentage, for its duration.

The Auto Scaling action is a launch check on the lab's Auto Scaling backend: a refused launch is
a failed scaling activity with EC2's message, and the group tries its other zones. The API action
answers the target roles' EC2 capacity requests through the gateway hook the inject-api-* actions
use (`faults.api_errors.ApiErrors`, with a rule of its own). An Auto Scaling group launches under
its own service-linked role, never a target role, so the API action leaves groups alone, as on
AWS. The faults are `faults.capacity.LaunchRefusal` and `ApiErrors`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults import api_errors
from chaoslab.faults.capacity import LaunchRefusal
from chaoslab.services.ec2.api_instances import requested_capacity
from chaoslab.services.ec2.capacity import insufficient_capacity, zone_names
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Targets
from chaoslab.services.fis.selection import Resource

ASG_ACTION = "aws:ec2:asg-insufficient-instance-capacity-error"
API_ACTION = "aws:ec2:api-insufficient-instance-capacity-error"
# The capacity requests FIS faults that the lab's EC2 API serves (CreateFleet and
# CreateCapacityReservation are not lab operations).
API_OPERATIONS = frozenset({"StartInstances", "RunInstances"})


def _inject_context(action: str, targets: list[Resource]) -> dict[str, str | list[str]]:
    """The condition keys AWS puts on the ec2:InjectApiError check FIS makes."""
    return {"ec2:FisActionId": action, "ec2:FisTargetArns": [r.arn for r in targets]}


def _zones(ctx: ActionContext, params: dict[str, str]) -> frozenset[str]:
    zones = zone_names(params["availabilityZoneIdentifiers"], ctx.lab.ec2.availability_zones())
    if not zones:
        raise ActionFailure(
            "ConfigurationFailure",
            f"None of the Availability Zones {params['availabilityZoneIdentifiers']} is in the lab "
            f"({', '.join(ctx.lab.ec2.availability_zones())}).",
        )
    return zones


@dataclass
class GroupLaunchFault:
    """Which launches fail: the named groups', into `zones`, at `percentage` %."""

    groups: frozenset[str]
    zones: frozenset[str]
    percentage: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def check(self, group: Any, zone: str) -> AwsError | None:
        if group.name not in self.groups or zone not in self.zones or self.rng.random() * 100 >= self.percentage:
            return None
        others = {s.az for s in group.subnets}
        return insufficient_capacity(group.instance_type, zone, others)


@dataclass
class CapacityApiRule(api_errors.ApiErrorRule):
    """An inject-api rule whose error is InsufficientInstanceCapacity, for requests that ask for
    capacity in `zones`: StartInstances when any of its instances is there (EC2 answers it
    whole), RunInstances when its subnet, placement or launch template is."""

    zones: frozenset[str] = frozenset()

    def hook(self, ctx: Any, service: str, operation: str) -> AwsError | None:
        if not self.matches(ctx.principal_arn, service, operation):
            return None
        ec2 = ctx.lab.ec2
        asked = _asked_capacity(ec2, operation, ctx.params)
        hit = next(((zone, kind) for zone, kind in asked if zone in self.zones), None)
        if hit is None or self.rng.random() * 100 >= self.percentage:
            return None
        return insufficient_capacity(hit[1], hit[0], ec2.availability_zones())


def _asked_capacity(ec2: Any, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(zone, instance type) of each launch the request asks for. A request EC2 would refuse for
    another reason (an unknown subnet or template) asks for nothing: it gets its own error."""
    if operation == "RunInstances":
        try:
            return [requested_capacity(ec2, params)]
        except AwsError:
            return []
    asked = [ec2.instances.get(i) for i in params.get("InstanceIds") or []]
    return [(i.az, i.instance_type) for i in asked if i is not None]


def _hook_id(ctx: ActionContext) -> str:
    return f"{ctx.experiment_id}/{ctx.action_name}"


async def asg_insufficient_capacity(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    groups = targets["AutoScalingGroups"]
    ctx.authorize("ec2:InjectApiError", context=_inject_context(ASG_ACTION, groups))
    ctx.authorize("autoscaling:DescribeAutoScalingGroups")
    names = frozenset(str(r.record["AutoScalingGroupName"]) for r in groups)
    for name in names:
        ctx.lab.autoscaling.get(name)  # still there (a ValidationError fails the action)
    fault = GroupLaunchFault(names, _zones(ctx, params), float(params["percentage"]))
    await ctx.apply(LaunchRefusal(ctx.lab, _hook_id(ctx), fault.check, ",".join(r.arn for r in groups)))
    for r in groups:
        ctx.applied("ec2.asg_insufficient_instance_capacity_error", r.arn)
    await ctx.sleep(params["duration"])


async def api_insufficient_capacity(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    if getattr(ctx.lab, "gateway", None) is None:
        raise ActionFailure("ConfigurationFailure", "The lab has no API gateway to inject errors into.")
    roles = targets["Roles"]
    ctx.authorize("ec2:InjectApiError", context=_inject_context(API_ACTION, roles))
    rule = CapacityApiRule(
        "insufficient-capacity",
        "ec2",
        API_OPERATIONS,
        float(params["percentage"]),
        frozenset(api_errors.role_name(r.arn) for r in roles),
        ctx.lab.config.account_id,
        zones=_zones(ctx, params),
    )
    await ctx.apply(api_errors.ApiErrors(ctx.lab, _hook_id(ctx), rule, ",".join(r.arn for r in roles)))
    for role in roles:
        ctx.applied("ec2.api_insufficient_instance_capacity_error", role.arn)
    await ctx.sleep(params["duration"])


EXECUTORS = {
    "ec2.asg_insufficient_instance_capacity_error": asg_insufficient_capacity,
    "ec2.api_insufficient_instance_capacity_error": api_insufficient_capacity,
}
