"""ELBv2 operations for the wire layer: each handler passes boto3-shaped params to `lab.elbv2`."""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable

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


OPERATIONS: dict[str, Handler] = {op: _handler(method) for op, method in _OPERATIONS.items()}
