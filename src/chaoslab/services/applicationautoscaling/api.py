"""Application Auto Scaling operations (JSON 1.1, target prefix AnyScaleFrontendService)."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.applicationautoscaling.backend import ApplicationAutoScalingBackend
from chaoslab.services.applicationautoscaling.models import TargetKey
from chaoslab.types import ApiHandler

PAGES = Paginator(
    token="NextToken",
    size="MaxResults",
    default=50,
    bad_token=lambda _: AwsError("InvalidNextTokenException", "Invalid token"),
    maximum=50,
    bad_size=lambda size, maximum: AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
        f"constraint: Member must have value less than or equal to {maximum}",
    ),
)


def _aas(ctx: Ctx) -> ApplicationAutoScalingBackend:
    backend: ApplicationAutoScalingBackend = ctx.lab.applicationautoscaling
    return backend


def _key(p: dict[str, Any]) -> TargetKey:
    return TargetKey(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])


def register_scalable_target(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    target = _aas(ctx).register_target(
        _key(p),
        p.get("MinCapacity"),
        p.get("MaxCapacity"),
        p.get("RoleARN"),
        p.get("SuspendedState"),
        p.get("Tags"),
    )
    return {"ScalableTargetARN": target.arn}


def deregister_scalable_target(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _aas(ctx).deregister_target(_key(p))
    return {}


def describe_scalable_targets(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _aas(ctx).describe_targets(p["ServiceNamespace"], p.get("ResourceIds"), p.get("ScalableDimension"))
    chunk, more = PAGES.page([t.describe() for t in found], p)
    return {"ScalableTargets": chunk, **more}


def put_scaling_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    record = _aas(ctx).put_policy(_key(p), p["PolicyName"], p.get("PolicyType") or "StepScaling", p)
    alarms = [ctx.lab.cloudwatch.find_alarm(name) for name in record.run.alarms]
    out: dict[str, Any] = {"PolicyARN": record.run.arn}
    if alarms:
        out["Alarms"] = [{"AlarmName": a.name, "AlarmARN": a.arn} for a in alarms if a is not None]
    return out


def delete_scaling_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _aas(ctx).delete_policy(_key(p), p["PolicyName"])
    return {}


def describe_scaling_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _aas(ctx).describe_policies(
        p["ServiceNamespace"], p.get("PolicyNames"), p.get("ResourceId"), p.get("ScalableDimension")
    )
    chunk, more = PAGES.page(found, p)
    return {"ScalingPolicies": chunk, **more}


def describe_scaling_activities(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _aas(ctx).describe_activities(p["ServiceNamespace"], p.get("ResourceId"), p.get("ScalableDimension"))
    chunk, more = PAGES.page(found, p)
    return {"ScalingActivities": chunk, **more}


def put_scheduled_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """at(), rate() or cron() by the lab's clock, in Timezone (docs/autoscaling.md)."""
    _aas(ctx).schedules.put(_key(p), p["ScheduledActionName"], p)
    return {}


def describe_scheduled_actions(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("ScalableDimension") is not None and p.get("ResourceId") is None:
        raise AwsError(
            "ValidationException", "If you specify a scalable dimension, you must also specify a resource ID."
        )
    found = _aas(ctx).schedules.describe(
        p["ServiceNamespace"], p.get("ScheduledActionNames"), p.get("ResourceId"), p.get("ScalableDimension")
    )
    chunk, more = PAGES.page(found, p)
    return {"ScheduledActions": chunk, **more}


def delete_scheduled_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _aas(ctx).schedules.delete(_key(p), p["ScheduledActionName"])
    return {}


def tag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _aas(ctx).by_arn(p["ResourceARN"]).tags.update(p["Tags"])
    return {}


def untag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    tags = _aas(ctx).by_arn(p["ResourceARN"]).tags
    for key in p["TagKeys"]:
        tags.pop(key, None)
    return {}


def list_tags_for_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": dict(_aas(ctx).by_arn(p["ResourceARN"]).tags)}


OPERATIONS: dict[str, ApiHandler] = {
    "RegisterScalableTarget": register_scalable_target,
    "DeregisterScalableTarget": deregister_scalable_target,
    "DescribeScalableTargets": describe_scalable_targets,
    "PutScalingPolicy": put_scaling_policy,
    "DeleteScalingPolicy": delete_scaling_policy,
    "DescribeScalingPolicies": describe_scaling_policies,
    "DescribeScalingActivities": describe_scaling_activities,
    "PutScheduledAction": put_scheduled_action,
    "DescribeScheduledActions": describe_scheduled_actions,
    "DeleteScheduledAction": delete_scheduled_action,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
