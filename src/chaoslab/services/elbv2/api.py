"""ELBv2 operations for the wire layer: each handler passes boto3-shaped params to `lab.elbv2`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.elbv2.backend import ElbV2Backend

Handler = Callable[[Any, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]

_OPERATIONS = {
    "CreateLoadBalancer": "create_load_balancer",
    "DescribeLoadBalancers": "describe_load_balancers",
    "DeleteLoadBalancer": "delete_load_balancer",
    "CreateTargetGroup": "create_target_group",
    "DescribeTargetGroups": "describe_target_groups",
    "ModifyTargetGroup": "modify_target_group",
    "DeleteTargetGroup": "delete_target_group",
    "DescribeTargetGroupAttributes": "describe_target_group_attributes",
    "ModifyTargetGroupAttributes": "modify_target_group_attributes",
    "DescribeLoadBalancerAttributes": "describe_load_balancer_attributes",
    "ModifyLoadBalancerAttributes": "modify_load_balancer_attributes",
    "CreateListener": "create_listener",
    "DescribeListeners": "describe_listeners",
    "DeleteListener": "delete_listener",
    "RegisterTargets": "register_targets",
    "DeregisterTargets": "deregister_targets",
    "DescribeTargetHealth": "describe_target_health",
    "AddTags": "add_tags",
    "RemoveTags": "remove_tags",
    "DescribeTags": "describe_tags",
}


def _handler(method: str) -> Handler:
    """The backend method already speaks boto3 shapes; the handler only finds the backend.
    Operations that touch sockets (listeners) are coroutines, so their handlers are too."""
    if inspect.iscoroutinefunction(getattr(ElbV2Backend, method)):

        async def handle_async(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            return await getattr(ctx.lab.elbv2, method)(**params)

        return handle_async

    def handle(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return getattr(ctx.lab.elbv2, method)(**params)

    return handle


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


OPERATIONS: dict[str, Handler] = {op: _handler(method) for op, method in _OPERATIONS.items()}
OPERATIONS["CreateLoadBalancer"] = create_load_balancer
