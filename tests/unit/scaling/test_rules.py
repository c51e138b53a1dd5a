"""The scaling arithmetic against AWS's documented rules.

Target tracking: https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
Step adjustments and rounding: https://docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html
"""

from __future__ import annotations

import pytest

from chaoslab.scaling import rules
from chaoslab.scaling.rules import Step


@pytest.mark.parametrize(
    ("current", "metric", "target", "expected"),
    [
        (1, 100.0, 50.0, 2),  # twice the target: twice the capacity
        (2, 90.0, 60.0, 3),  # 2 × 1.5
        (3, 51.0, 50.0, 4),  # any excess rounds up
        (4, 20.0, 50.0, 2),  # ceil(1.6): scale in keeps a margin
        (2, 60.0, 60.0, 2),  # at the target: no change (no float noise)
        (0, 100.0, 50.0, 0),  # nothing running, no metric to act on
    ],
)
def test_tracking_capacity_is_ceil_of_current_times_metric_over_target(
    current: int, metric: float, target: float, expected: int
) -> None:
    assert rules.tracking_capacity(current, metric, target) == expected


def test_percent_change_rounds_as_aws_rounds() -> None:
    assert rules.adjusted(4, rules.PERCENT, 10) == 5  # 0.4 -> 1
    assert rules.adjusted(4, rules.PERCENT, -10) == 3  # -0.4 -> -1
    assert rules.adjusted(10, rules.PERCENT, 25) == 12  # 2.5 -> 2 (towards zero)
    assert rules.adjusted(10, rules.PERCENT, -25) == 8  # -2.5 -> -2
    assert rules.adjusted(10, rules.PERCENT, 10, min_magnitude=3) == 13


def test_change_and_exact_capacity() -> None:
    assert rules.adjusted(3, rules.CHANGE, 2) == 5
    assert rules.adjusted(3, rules.CHANGE, -5) == -2  # clamp brings it back to the minimum
    assert rules.clamp(-2, 1, 10) == 1
    assert rules.adjusted(3, rules.EXACT, 7) == 7


def test_step_bounds_inclusive_on_the_side_of_the_threshold() -> None:
    steps = [Step(0, 10, 1), Step(10, 20, 2), Step(20, None, 3)]
    assert rules.step_for(steps, 0) == steps[0]
    assert rules.step_for(steps, 10) == steps[1]
    assert rules.step_for(steps, 25) == steps[2]
    below = [Step(None, -10, -2), Step(-10, 0, -1)]
    assert rules.step_for(below, -10) == below[0]  # below the threshold the upper bound is inclusive
    assert rules.step_for(below, -5) == below[1]


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [Step(0, 10, 1), Step(15, None, 2)],  # a gap
        [Step(0, 20, 1), Step(10, None, 2)],  # an overlap
        [Step(None, None, 1), Step(0, 10, 1)],
        [Step(10, 5, 1)],
    ],
)
def test_bad_steps_are_refused(steps: list[Step]) -> None:
    with pytest.raises(rules.RuleError):
        rules.check_steps(steps)


def test_contiguous_steps_pass() -> None:
    rules.check_steps([Step(None, 0, -1), Step(0, 10, 1), Step(10, None, 2)])
