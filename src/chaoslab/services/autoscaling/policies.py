"""EC2 Auto Scaling's scaling policies: target tracking (ASGAverageCPUUtilization or a metric of
the caller's), step and simple scaling, run by the lab's scaling engine (chaoslab/scaling) on
the real CloudWatch alarms; a policy changes the group's desired capacity and the group's
control loop launches or terminates instances for it (docs/autoscaling.md)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.scaling import rules, tracking
from chaoslab.scaling.engine import SIMPLE, STEP, TARGET_TRACKING, Policy, ScalingEngine, Stepping, Tracking

DEFAULT_COOLDOWN = 300.0
"""A group's default cooldown, which a simple policy without its own waits (seconds)."""
KINDS = (TARGET_TRACKING, STEP, SIMPLE)
STATISTICS = ("Average", "Minimum", "Maximum", "SampleCount", "Sum")


def invalid(message: str) -> AwsError:
    return AwsError("ValidationError", message)


class Groups(Protocol):
    """What the policies need of the Auto Scaling backend (typed here, not imported: the backend
    imports this module)."""

    lab: Any

    def get(self, name: str) -> Any: ...

    def set_desired(self, name: str, desired: int) -> None: ...


class GroupCapacity:
    """A group's desired capacity as a scalable target of the engine."""

    def __init__(self, backend: Groups, group_name: str) -> None:
        self.backend = backend
        self.group_name = group_name

    def _group(self) -> Any:
        return self.backend.get(self.group_name)

    def bounds(self) -> tuple[int, int]:
        group = self._group()
        return int(group.min_size), int(group.max_size)

    def capacity(self) -> int:
        return int(self._group().desired)

    def scale_to(self, capacity: int, policy: str, alarm: str | None) -> bool:
        group = self._group()
        who = f"a monitor alarm {alarm} in state ALARM" if alarm else "a user request"
        verb = "triggered" if alarm else "executed"
        group.desired_cause = (
            f"{who} {verb} policy {policy} changing the desired capacity from {group.desired} to {capacity}"
        )
        self.backend.set_desired(self.group_name, capacity)
        return True


@dataclass
class GroupPolicy:
    group: str
    request: dict[str, Any]
    run: Policy

    def describe(self, alarms: list[dict[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AutoScalingGroupName": self.group,
            "PolicyName": self.run.name,
            "PolicyARN": self.run.arn,
            "PolicyType": self.run.kind,
            "StepAdjustments": copy.deepcopy(self.request.get("StepAdjustments") or []),
            "Alarms": alarms,
            "Enabled": bool(self.request.get("Enabled", True)),
        }
        for key in (
            "AdjustmentType",
            "MinAdjustmentMagnitude",
            "ScalingAdjustment",
            "Cooldown",
            "MetricAggregationType",
            "EstimatedInstanceWarmup",
            "TargetTrackingConfiguration",
        ):
            if self.request.get(key) is not None:
                out[key] = copy.deepcopy(self.request[key])
        return out


class GroupPolicies:
    """`lab.autoscaling.policies`: every group's policies and the engine that runs them."""

    def __init__(self, backend: Groups) -> None:
        self.backend = backend
        self.policies: dict[tuple[str, str], GroupPolicy] = {}
        self.engine = ScalingEngine(backend.lab)

    def put(self, group_name: str, name: str, p: dict[str, Any]) -> GroupPolicy:
        self.backend.get(group_name)
        kind = p.get("PolicyType") or SIMPLE
        if kind not in KINDS:
            raise invalid(f"chaoslab runs {', '.join(KINDS)} policies, not {kind}.")
        old = self.policies.get((group_name, name))
        policy_uuid = old.run.arn.split(":")[6] if old else str(uuid.uuid4())
        lab = self.backend.lab
        arn = make_arn(
            "autoscaling",
            lab.config.region,
            lab.config.account_id,
            f"scalingPolicy:{policy_uuid}:autoScalingGroupName/{group_name}:policyName/{name}",
        )
        run = Policy(arn, name, kind, GroupCapacity(self.backend, group_name))
        bodies: list[dict[str, Any]] = []
        if kind == TARGET_TRACKING:
            config = p.get("TargetTrackingConfiguration")
            if not config:
                raise invalid("TargetTrackingConfiguration is required for a TargetTrackingScaling policy.")
            run.tracking = Tracking(
                float(config["TargetValue"]),
                float(p.get("EstimatedInstanceWarmup") or DEFAULT_COOLDOWN),
                DEFAULT_COOLDOWN,
                bool(config.get("DisableScaleIn", False)),
            )
            metric = _metric(group_name, config)
            bodies = tracking.alarm_bodies(
                group_name, policy_uuid, arn, metric, run.tracking.target_value, not run.tracking.disable_scale_in
            )
        else:
            run.stepping = _stepping(kind, p)
        if old is not None:
            self._drop(old)
        for body in bodies:
            lab.cloudwatch.put_metric_alarm(body)
        run.alarms = [b["AlarmName"] for b in bodies]
        record = GroupPolicy(group_name, dict(p), run)
        self.policies[(group_name, name)] = record
        if p.get("Enabled", True):
            self.engine.add(run)
        return record

    def find(self, group_name: str | None, name: str) -> GroupPolicy:
        """By name within a group, or by ARN."""
        for (group, policy_name), record in self.policies.items():
            if record.run.arn == name or (policy_name == name and group == group_name):
                return record
        raise invalid(
            f"Policy {name} does not exist" if group_name is None else f"No policy {name} found in group {group_name}"
        )

    def delete(self, group_name: str | None, name: str) -> None:
        record = self.find(group_name, name)
        del self.policies[(record.group, record.run.name)]
        self._drop(record)

    def delete_group(self, group_name: str) -> None:
        """A deleted group takes its policies and their alarms with it."""
        for key in [k for k in self.policies if k[0] == group_name]:
            self._drop(self.policies.pop(key))

    def _drop(self, record: GroupPolicy) -> None:
        self.engine.remove(record.run.arn)
        cw = self.backend.lab.cloudwatch
        alive = [a for a in record.run.alarms if a in cw.alarms]
        if alive:
            cw.delete_alarms(alive)

    def describe(
        self, group_name: str | None, names: list[str] | None, types: list[str] | None
    ) -> list[dict[str, Any]]:
        cw = self.backend.lab.cloudwatch
        out = []
        for (group, name), record in self.policies.items():
            if (group_name and group != group_name) or (names and name not in names and record.run.arn not in names):
                continue
            if types and record.run.kind not in types:
                continue
            alarms = cw.describe_alarms(action_prefix=record.run.arn)
            out.append(record.describe([{"AlarmName": a.name, "AlarmARN": a.arn} for a in alarms]))
        return out

    def execute(
        self, group_name: str | None, name: str, honor_cooldown: bool, value: float | None, threshold: float | None
    ) -> None:
        """ExecutePolicy: a simple policy runs as if its alarm fired; a step policy needs the
        metric value and the breach threshold that pick its step."""
        record = self.find(group_name, name)
        if record.run.kind == TARGET_TRACKING:
            raise invalid("ExecutePolicy is not supported for target tracking scaling policies.")
        if record.run.kind == STEP and (value is None or threshold is None):
            raise invalid("MetricValue and BreachThreshold are required for a step scaling policy.")
        self.engine.run(record.run, value or 0.0, threshold or 0.0, honor_cooldown=honor_cooldown)


def _metric(group_name: str, config: dict[str, Any]) -> tracking.Metric:
    predefined = config.get("PredefinedMetricSpecification")
    customized = config.get("CustomizedMetricSpecification")
    if (predefined is None) == (customized is None):
        raise invalid("Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be given.")
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        if kind != "ASGAverageCPUUtilization":
            raise invalid(f"chaoslab tracks ASGAverageCPUUtilization or a customized metric, not {kind}.")
        return tracking.Metric("AWS/EC2", "CPUUtilization", (("AutoScalingGroupName", group_name),), "Average")
    assert customized is not None
    if customized.get("Metrics"):
        raise invalid(
            "chaoslab tracks one metric; metric math in CustomizedMetricSpecification.Metrics is not supported."
        )
    for key in ("MetricName", "Namespace", "Statistic"):
        if not customized.get(key):
            raise invalid(f"CustomizedMetricSpecification.{key} must be specified.")
    if customized["Statistic"] not in STATISTICS:
        raise invalid(f"CustomizedMetricSpecification.Statistic must be one of {', '.join(STATISTICS)}.")
    dims = tuple((d["Name"], d["Value"]) for d in customized.get("Dimensions") or [])
    return tracking.Metric(
        customized["Namespace"], customized["MetricName"], dims, customized["Statistic"], customized.get("Unit")
    )


def _stepping(kind: str, p: dict[str, Any]) -> Stepping:
    adjustment_type = p.get("AdjustmentType")
    if adjustment_type not in rules.ADJUSTMENT_TYPES:
        raise invalid(f"AdjustmentType must be one of {', '.join(rules.ADJUSTMENT_TYPES)}.")
    magnitude = p.get("MinAdjustmentMagnitude")
    if magnitude is not None and adjustment_type != rules.PERCENT:
        raise invalid("MinAdjustmentMagnitude is only valid with AdjustmentType PercentChangeInCapacity.")
    if kind == SIMPLE:
        if p.get("ScalingAdjustment") is None:
            raise invalid("ScalingAdjustment is required for a SimpleScaling policy.")
        cooldown = float(p["Cooldown"]) if p.get("Cooldown") is not None else DEFAULT_COOLDOWN
        return Stepping(adjustment_type, (), int(p["ScalingAdjustment"]), magnitude, cooldown)
    steps = tuple(
        rules.Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"), int(s["ScalingAdjustment"]))
        for s in p.get("StepAdjustments") or []
    )
    try:
        rules.check_steps(steps)
    except rules.RuleError as e:
        raise invalid(str(e)) from None
    return Stepping(adjustment_type, steps, None, magnitude, 0.0)
