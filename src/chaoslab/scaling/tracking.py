"""The two CloudWatch alarms a target-tracking policy creates, as AWS names and configures them
(docs/autoscaling.md): a high alarm over 3 one-minute datapoints at the target, and, unless scale
in is disabled, a low alarm over 15 at 90% of it. Pure: PutMetricAlarm bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HIGH_PERIODS = 3
LOW_PERIODS = 15
LOW_FACTOR = 0.9
PERIOD = 60


@dataclass(frozen=True)
class Metric:
    """What a target-tracking policy watches: one CloudWatch metric and its statistic."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    unit: str | None = None


def alarm_name(prefix: str, kind: str, policy_uuid: str) -> str:
    """`TargetTracking-<resource>-AlarmHigh-<uuid>` (and `AlarmLow`): the resource is the group
    name for EC2 Auto Scaling, the resource id (`service/<cluster>/<service>`) for ECS."""
    return f"TargetTracking-{prefix}-Alarm{kind}-{policy_uuid}"


def alarm_bodies(
    prefix: str, policy_uuid: str, policy_arn: str, metric: Metric, target: float, scale_in: bool
) -> list[dict[str, Any]]:
    """PutMetricAlarm inputs for the policy's alarms, high first."""
    kinds = [("High", "GreaterThanThreshold", HIGH_PERIODS, target)]
    if scale_in:
        kinds.append(("Low", "LessThanThreshold", LOW_PERIODS, round(target * LOW_FACTOR, 9)))
    bodies = []
    for kind, comparison, periods, threshold in kinds:
        body: dict[str, Any] = {
            "AlarmName": alarm_name(prefix, kind, policy_uuid),
            "AlarmDescription": f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy_arn}.",
            "ActionsEnabled": True,
            "AlarmActions": [policy_arn],
            "MetricName": metric.name,
            "Namespace": metric.namespace,
            "Statistic": metric.statistic,
            "Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions],
            "Period": PERIOD,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": float(threshold),
            "ComparisonOperator": comparison,
        }
        if metric.unit:
            body["Unit"] = metric.unit
        bodies.append(body)
    return bodies
