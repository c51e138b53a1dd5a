"""ELBv2 operations for the wire layer: each handler passes boto3-shaped params to `lab.elbv2`."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.handlers import delegate
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.elbv2.backend import ElbV2Backend
from chaoslab.types import ApiHandler

# The model bounds PageSize to 1..400; without one ELBv2 answers up to 400 items a page.
PAGES = Paginator(
    token="Marker",
    next_token="NextMarker",
    size="PageSize",
    default=400,
    bad_token=lambda marker: AwsError("ValidationError", f"The marker '{marker}' is not valid", 400),
)
_PAGED = {
    "DescribeLoadBalancers": "LoadBalancers",
    "DescribeTargetGroups": "TargetGroups",
    "DescribeListeners": "Listeners",
}


def _two_zones(ctx: Any, params: dict[str, Any]) -> None:
    """AWS: an Application Load Balancer needs subnets in at least two Availability Zones. (A
    stack file may still put one in a single-AZ VPC: the stack loader calls the backend directly.)"""
    ids = list(params.get("Subnets") or []) + [m.get("SubnetId") for m in params.get("SubnetMappings") or []]
    lookup = getattr(getattr(ctx.lab, "ec2", None), "subnet", None)
    zones = set()
    for subnet_id in ids:
        try:
            zones.add(lookup(subnet_id).az if lookup is not None and subnet_id else subnet_id)
        except AwsError:
            raise AwsError("SubnetNotFound", f"The subnet ID '{subnet_id}' is not valid", 400) from None
    if len(zones) < 2:
        raise AwsError(
            "ValidationError", "At least two subnets in two different Availability Zones must be specified", 400
        )


def create_load_balancer(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("Type", "application") == "application":
        _two_zones(ctx, params)
    return ctx.lab.elbv2.create_load_balancer(**params)


_HANDLERS: dict[str, ApiHandler] = {
    **delegate(
        "elbv2",
        ElbV2Backend,
        (
            "DescribeLoadBalancers",
            "DeleteLoadBalancer",
            "CreateTargetGroup",
            "DescribeTargetGroups",
            "ModifyTargetGroup",
            "DeleteTargetGroup",
            "DescribeTargetGroupAttributes",
            "ModifyTargetGroupAttributes",
            "DescribeLoadBalancerAttributes",
            "ModifyLoadBalancerAttributes",
            "CreateListener",
            "DescribeListeners",
            "DeleteListener",
            "RegisterTargets",
            "DeregisterTargets",
            "DescribeTargetHealth",
            "AddTags",
            "RemoveTags",
            "DescribeTags",
            "SetSecurityGroups",
        ),
    ),
    "CreateLoadBalancer": create_load_balancer,
}
OPERATIONS: dict[str, ApiHandler] = {
    op: PAGES.around(handler, _PAGED[op]) if op in _PAGED else handler for op, handler in _HANDLERS.items()
}
