"""Auto Scaling operations (query/XML): groups, instances, capacity, scaling policies, instance
refreshes, scheduled actions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.autoscaling.backend import AutoScalingBackend, GroupTemplate
from chaoslab.types import ApiHandler


def _asg(ctx: Ctx) -> AutoScalingBackend:
    return ctx.lab.autoscaling


def _too_many(size: int, maximum: int) -> AwsError:
    return AwsError("ValidationError", f"MaxRecords must be between 1 and {maximum}; got {size}.")


# The model states no range for MaxRecords; AWS documents the default and the largest page per call.
PAGES = Paginator(
    token="NextToken",
    size="MaxRecords",
    default=50,
    bad_token=lambda _: AwsError("InvalidNextToken", "The token provided is not valid."),
    maximum=100,
    bad_size=_too_many,
)
INSTANCE_PAGES = replace(PAGES, maximum=50)  # DescribeAutoScalingInstances: 50 by default and at most
ACTIVITY_PAGES = replace(PAGES, default=100)  # DescribeScalingActivities: 100 by default and at most


def _page(pages: Paginator, items: list[Any], p: dict[str, Any], key: str) -> dict[str, Any]:
    chunk, more = pages.page(items, p)
    return {key: chunk, **more}


async def create_auto_scaling_group(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """From an EC2 launch template (by id or name; Version defaults to `$Default`). Members serve
    the first target group's port, else what a stack gave the template, else 80."""
    lt = p.get("LaunchTemplate")
    if not lt:
        raise AwsError(
            "ValidationError",
            "chaoslab launches Auto Scaling groups from a LaunchTemplate (launch configurations and "
            "mixed instances policies are not supported).",
        )
    try:
        template = ctx.lab.ec2.launch_templates.get(lt.get("LaunchTemplateId"), lt.get("LaunchTemplateName"))
    except AwsError as exc:
        raise AwsError("ValidationError", f"You must use a valid fully-formed launch template. {exc.message}") from None
    subnets = [ctx.lab.ec2.subnet(s.strip()) for s in (p.get("VPCZoneIdentifier") or "").split(",") if s.strip()]
    if not subnets:
        subnets = [s for az in p.get("AvailabilityZones", []) for s in [ctx.lab.ec2.subnet(az)]]
    target_groups = p.get("TargetGroupARNs") or []
    group_template = _asg(ctx).template_defaults.get(template.name) or GroupTemplate(template.name)
    if target_groups:
        described = ctx.lab.elbv2.describe_target_groups(TargetGroupArns=target_groups[:1])["TargetGroups"][0]
        group_template = replace(group_template, port=int(described["Port"]))
    await _asg(ctx).create_group(
        p["AutoScalingGroupName"],
        replace(group_template, version=lt.get("Version") or "$Default"),
        subnets,
        min_size=int(p["MinSize"]),
        max_size=int(p["MaxSize"]),
        desired=p.get("DesiredCapacity"),
        target_group_arns=target_groups,
        health_check_type=p.get("HealthCheckType", "EC2"),
        grace=int(p.get("HealthCheckGracePeriod", 0)),
        tags=p.get("Tags"),
        wait=False,
    )
    return {}


def describe_auto_scaling_groups(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    names = p.get("AutoScalingGroupNames") or list(_asg(ctx).groups)
    groups = [_asg(ctx).groups[n] for n in names if n in _asg(ctx).groups]
    return _page(PAGES, [_asg(ctx).describe(g) for g in groups], p, "AutoScalingGroups")


def describe_auto_scaling_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ids = set(p.get("InstanceIds") or [])
    out = [
        _asg(ctx).describe_member(g, m)
        for g in _asg(ctx).groups.values()
        for m in g.members.values()
        if m.lifecycle != "Terminated" and (not ids or m.instance_id in ids)
    ]
    return _page(INSTANCE_PAGES, out, p, "AutoScalingInstances")


def set_desired_capacity(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _asg(ctx).set_desired(p["AutoScalingGroupName"], int(p["DesiredCapacity"]))
    return {}


def update_auto_scaling_group(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _asg(ctx).update_group(
        p["AutoScalingGroupName"],
        min_size=p.get("MinSize"),
        max_size=p.get("MaxSize"),
        desired=p.get("DesiredCapacity"),
        grace=p.get("HealthCheckGracePeriod"),
        health_check_type=p.get("HealthCheckType"),
    )
    return {}


async def delete_auto_scaling_group(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    await _asg(ctx).delete_group(p["AutoScalingGroupName"], bool(p.get("ForceDelete")))
    return {}


def describe_scaling_activities(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    name = p.get("AutoScalingGroupName")
    groups = [_asg(ctx).get(name)] if name else list(_asg(ctx).groups.values())
    acts = [a for g in groups for a in reversed(g.activities)]
    return _page(ACTIVITY_PAGES, acts, p, "Activities")


def put_scaling_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Target tracking (ASGAverageCPUUtilization or a customized metric), step or simple scaling;
    target tracking answers with the alarms it created (docs/autoscaling.md)."""
    record = _asg(ctx).policies.put(p["AutoScalingGroupName"], p["PolicyName"], p)
    alarms = [a for name in record.run.alarms if (a := ctx.lab.cloudwatch.find_alarm(name)) is not None]
    return {"PolicyARN": record.run.arn, "Alarms": [{"AlarmName": a.name, "AlarmARN": a.arn} for a in alarms]}


def describe_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _asg(ctx).policies.describe(p.get("AutoScalingGroupName"), p.get("PolicyNames"), p.get("PolicyTypes"))
    return _page(PAGES, found, p, "ScalingPolicies")


def delete_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _asg(ctx).policies.delete(p.get("AutoScalingGroupName"), p["PolicyName"])
    return {}


def execute_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _asg(ctx).policies.execute(
        p.get("AutoScalingGroupName"),
        p["PolicyName"],
        bool(p.get("HonorCooldown", False)),
        p.get("MetricValue"),
        p.get("BreachThreshold"),
    )
    return {}


def start_instance_refresh(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """A rolling replacement of the group's instances (docs/autoscaling.md, "Instance refresh")."""
    run = _asg(ctx).refreshes.start(p["AutoScalingGroupName"], p)
    return {"InstanceRefreshId": run.refresh_id}


def describe_instance_refreshes(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _asg(ctx).refreshes.describe(p["AutoScalingGroupName"], p.get("InstanceRefreshIds"))
    return _page(PAGES, found, p, "InstanceRefreshes")


def cancel_instance_refresh(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    run = _asg(ctx).refreshes.cancel(p["AutoScalingGroupName"])
    return {"InstanceRefreshId": run.refresh_id}


def rollback_instance_refresh(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    run = _asg(ctx).refreshes.rollback(p["AutoScalingGroupName"])
    return {"InstanceRefreshId": run.refresh_id}


def put_scheduled_update_group_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Run by the lab's clock: at StartTime and/or a crontab Recurrence (docs/autoscaling.md)."""
    _asg(ctx).schedules.put(p["AutoScalingGroupName"], p)
    return {}


def batch_put_scheduled_update_group_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    failed = _asg(ctx).schedules.batch_put(p["AutoScalingGroupName"], p["ScheduledUpdateGroupActions"])
    return {"FailedScheduledUpdateGroupActions": failed}


def describe_scheduled_actions(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _asg(ctx).schedules.describe(
        p.get("AutoScalingGroupName"), p.get("ScheduledActionNames"), p.get("StartTime"), p.get("EndTime")
    )
    return _page(PAGES, found, p, "ScheduledUpdateGroupActions")


def delete_scheduled_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _asg(ctx).schedules.delete(p["AutoScalingGroupName"], p["ScheduledActionName"])
    return {}


def batch_delete_scheduled_action(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    failed = _asg(ctx).schedules.batch_delete(p["AutoScalingGroupName"], p["ScheduledActionNames"])
    return {"FailedScheduledActions": failed}


OPERATIONS: dict[str, ApiHandler] = {
    "CreateAutoScalingGroup": create_auto_scaling_group,
    "DescribeAutoScalingGroups": describe_auto_scaling_groups,
    "DescribeAutoScalingInstances": describe_auto_scaling_instances,
    "SetDesiredCapacity": set_desired_capacity,
    "UpdateAutoScalingGroup": update_auto_scaling_group,
    "DeleteAutoScalingGroup": delete_auto_scaling_group,
    "DescribeScalingActivities": describe_scaling_activities,
    "PutScalingPolicy": put_scaling_policy,
    "DescribePolicies": describe_policies,
    "DeletePolicy": delete_policy,
    "ExecutePolicy": execute_policy,
    "StartInstanceRefresh": start_instance_refresh,
    "DescribeInstanceRefreshes": describe_instance_refreshes,
    "CancelInstanceRefresh": cancel_instance_refresh,
    "RollbackInstanceRefresh": rollback_instance_refresh,
    "PutScheduledUpdateGroupAction": put_scheduled_update_group_action,
    "BatchPutScheduledUpdateGroupAction": batch_put_scheduled_update_group_action,
    "DescribeScheduledActions": describe_scheduled_actions,
    "DeleteScheduledAction": delete_scheduled_action,
    "BatchDeleteScheduledAction": batch_delete_scheduled_action,
}
