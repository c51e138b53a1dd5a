"""The scaling engine on a real CloudWatch backend: an alarm's state drives a policy, within the
target's bounds and the cooldowns, and target tracking's alarms are the ones AWS creates."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.scaling import tracking
from chaoslab.scaling.engine import SIMPLE, STEP, TARGET_TRACKING, Policy, ScalingEngine, Stepping, Tracking
from chaoslab.scaling.rules import CHANGE, Step
from chaoslab.services.cloudwatch.backend import CloudWatchBackend

T0 = 1_795_306_200.0  # a minute boundary
DIMS = {"Service": "web"}
ARN = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:p1:resource/ecs/service/c/web:policyName/p"


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def now(self) -> float:
        return self.t

    def cadence(self, seconds: float) -> float:
        return seconds


class Target:
    def __init__(self, capacity: int, low: int = 1, high: int = 10) -> None:
        self.current, self.low, self.high = capacity, low, high
        self.changes: list[tuple[int, str | None, str]] = []
        self.frozen = False  # a suspended direction: the target refuses the change

    def bounds(self) -> tuple[int, int]:
        return self.low, self.high

    def capacity(self) -> int:
        return self.current

    def scale_to(self, capacity: int, policy: str, alarm: str | None) -> bool:
        if self.frozen:
            return False
        self.current = capacity
        self.changes.append((capacity, alarm, policy))
        return True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cw(tmp_path: Path, clock: Clock) -> CloudWatchBackend:
    lab = types.SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    return CloudWatchBackend(lab, clock=clock.now)


def _minutes(cw: CloudWatchBackend, clock: Clock, values: list[float]) -> None:
    """One datapoint per minute, then the clock at the end of the last minute."""
    for v in values:
        cw.put_metric("Test", "Load", DIMS, [v], "Percent", clock.t + 1)
        clock.t += 60


def _tracking_policy(cw: CloudWatchBackend, target: Target, value: float = 50.0, cooldown: float = 300.0) -> Policy:
    metric = tracking.Metric("Test", "Load", tuple(DIMS.items()), "Average", "Percent")
    bodies = tracking.alarm_bodies("service/c/web", "u-1", ARN, metric, value, scale_in=True)
    for body in bodies:
        cw.put_metric_alarm(body)
    return Policy(
        ARN, "p", TARGET_TRACKING, target, Tracking(value, cooldown, cooldown), alarms=[b["AlarmName"] for b in bodies]
    )


def test_target_tracking_alarms_are_named_and_configured_as_aws_makes_them(cw: CloudWatchBackend) -> None:
    policy = _tracking_policy(cw, Target(1))
    high, low = (cw.alarms[name] for name in policy.alarms)
    assert high.name == "TargetTracking-service/c/web-AlarmHigh-u-1"
    assert low.name == "TargetTracking-service/c/web-AlarmLow-u-1"
    assert (high.evaluation_periods, high.period, high.threshold, high.comparison) == (
        3,
        60,
        50.0,
        "GreaterThanThreshold",
    )
    assert (low.evaluation_periods, low.period, low.threshold, low.comparison) == (15, 60, 45.0, "LessThanThreshold")
    assert high.config["AlarmActions"] == [ARN]
    assert high.config["AlarmDescription"].startswith("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy arn:")


def test_high_alarm_scales_out_by_the_formula_then_cooldown_holds(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(2)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    engine.add(_tracking_policy(cw, target))
    cw.add_alarm_listener(engine._alarm_changed)
    _minutes(cw, clock, [90, 90, 90, 90])
    cw.evaluate_due(clock.t + 61)
    high = cw.alarms["TargetTracking-service/c/web-AlarmHigh-u-1"]
    assert high.state == "ALARM"
    assert target.changes == [(4, high.name, "p")]  # ceil(2 × 90 / 50)
    _minutes(cw, clock, [95])
    engine.invoke(high)  # re-invoked a minute later: inside the 300 s scale-out cooldown
    assert target.current == 4
    clock.t += 300
    _minutes(cw, clock, [95])
    engine.invoke(high)
    assert target.current == 8


def test_capacity_stays_within_the_targets_bounds(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(2, high=3)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    engine.add(_tracking_policy(cw, target))
    _minutes(cw, clock, [200, 200, 200])
    engine.invoke(cw.alarms["TargetTracking-service/c/web-AlarmHigh-u-1"])
    assert target.current == 3


def test_low_alarm_scales_in_and_high_alarm_never_does(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(4)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    engine.add(_tracking_policy(cw, target))
    _minutes(cw, clock, [10] * 16)
    engine.invoke(cw.alarms["TargetTracking-service/c/web-AlarmHigh-u-1"])
    assert target.changes == []
    engine.invoke(cw.alarms["TargetTracking-service/c/web-AlarmLow-u-1"])
    assert target.current == 1  # ceil(4 × 10 / 50)


def _user_alarm(cw: CloudWatchBackend, actions: list[str]) -> Any:
    return cw.put_metric_alarm(
        {
            "AlarmName": "load-high",
            "Namespace": "Test",
            "MetricName": "Load",
            "Dimensions": [{"Name": "Service", "Value": "web"}],
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 50.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": actions,
        }
    )


def test_step_policy_picks_the_step_the_breach_falls_in(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(1)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    steps = (Step(0, 20, 1), Step(20, None, 3))
    engine.add(Policy(ARN, "step", STEP, target, stepping=Stepping(CHANGE, steps, cooldown=60)))
    alarm = _user_alarm(cw, [ARN])
    _minutes(cw, clock, [75])
    engine.invoke(alarm)  # 75 − 50 = 25: the second step
    assert target.current == 4
    engine.invoke(alarm)
    assert target.current == 4  # within its cooldown
    clock.t += 60
    _minutes(cw, clock, [55])
    engine.invoke(alarm)
    assert target.current == 5


def test_simple_policy_and_disabled_actions(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(1)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    engine.add(Policy(ARN, "simple", SIMPLE, target, stepping=Stepping(CHANGE, adjustment=2)))
    alarm = _user_alarm(cw, [ARN])
    _minutes(cw, clock, [75])
    cw.set_actions_enabled(["load-high"], False)
    engine.invoke(alarm)
    assert target.current == 1
    cw.set_actions_enabled(["load-high"], True)
    engine.invoke(alarm)
    assert target.current == 3


def test_a_refused_change_starts_no_cooldown(cw: CloudWatchBackend, clock: Clock) -> None:
    target = Target(1)
    engine = ScalingEngine(types.SimpleNamespace(cloudwatch=cw, clock=clock))
    engine.add(Policy(ARN, "simple", SIMPLE, target, stepping=Stepping(CHANGE, adjustment=1, cooldown=300)))
    alarm = _user_alarm(cw, [ARN])
    _minutes(cw, clock, [75])
    target.frozen = True
    assert engine.invoke(alarm) is None and target.current == 1
    target.frozen = False
    engine.invoke(alarm)
    assert target.current == 2
