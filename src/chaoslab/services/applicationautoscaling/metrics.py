"""Which CloudWatch metric a target-tracking policy watches: the predefined ones the lab
publishes for an ECS service, or the caller's own (CustomizedMetricSpecification). Pure."""

from __future__ import annotations

from typing import Any

from chaoslab.errors import AwsError
from chaoslab.scaling.tracking import Metric

STATISTICS = ("Average", "Minimum", "Maximum", "SampleCount", "Sum")


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def tracked_metric(resource_id: str, config: dict[str, Any]) -> Metric:
    """The metric of a TargetTrackingScalingPolicyConfiguration for the ECS service
    `service/<cluster>/<service>`; exactly one of the two specifications must be given."""
    predefined = config.get("PredefinedMetricSpecification")
    customized = config.get("CustomizedMetricSpecification")
    if (predefined is None) == (customized is None):
        raise invalid(
            "Either PredefinedMetricSpecification or CustomizedMetricSpecification must be specified, but not both."
        )
    if predefined is not None:
        return _predefined(resource_id, predefined)
    assert customized is not None
    return _customized(customized)


def _predefined(resource_id: str, spec: dict[str, Any]) -> Metric:
    kind = spec["PredefinedMetricType"]
    _, cluster, service = resource_id.split("/", 2)
    ecs_dims = (("ClusterName", cluster), ("ServiceName", service))
    if kind == "ECSServiceAverageCPUUtilization":
        return Metric("AWS/ECS", "CPUUtilization", ecs_dims, "Average", "Percent")
    if kind == "ECSServiceAverageMemoryUtilization":
        return Metric("AWS/ECS", "MemoryUtilization", ecs_dims, "Average", "Percent")
    if kind == "ALBRequestCountPerTarget":
        label = spec.get("ResourceLabel") or ""
        parts = label.split("/")
        if len(parts) != 7 or parts[0] != "app" or parts[3] != "targetgroup":
            raise invalid(
                "ResourceLabel must be app/<load-balancer-name>/<load-balancer-id>/targetgroup/"
                f"<target-group-name>/<target-group-id> for ALBRequestCountPerTarget; got {label!r}."
            )
        return Metric("AWS/ApplicationELB", "RequestCountPerTarget", (("TargetGroup", "/".join(parts[3:])),), "Sum")
    raise invalid(f"Unsupported PredefinedMetricType {kind} for scalable dimension ecs:service:DesiredCount.")


def _customized(spec: dict[str, Any]) -> Metric:
    if spec.get("Metrics"):
        raise invalid(
            "chaoslab tracks one metric (MetricName, Namespace, Dimensions, Statistic); "
            "metric math in CustomizedMetricSpecification.Metrics is not supported."
        )
    for key in ("MetricName", "Namespace", "Statistic"):
        if not spec.get(key):
            raise invalid(f"CustomizedMetricSpecification.{key} must be specified.")
    if spec["Statistic"] not in STATISTICS:
        raise invalid(f"CustomizedMetricSpecification.Statistic must be one of {', '.join(STATISTICS)}.")
    dims = tuple((d["Name"], d["Value"]) for d in spec.get("Dimensions") or [])
    return Metric(spec["Namespace"], spec["MetricName"], dims, spec["Statistic"], spec.get("Unit"))
