"""The arithmetic of scaling policies, pure, as AWS documents it for Application Auto Scaling and
EC2 Auto Scaling (docs/autoscaling.md cites the pages)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CHANGE, PERCENT, EXACT = "ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"
ADJUSTMENT_TYPES = (CHANGE, PERCENT, EXACT)


class RuleError(ValueError):
    """A policy that AWS would refuse; the message is the reason, in AWS's words where known."""


@dataclass(frozen=True)
class Step:
    """One step adjustment: bounds relative to the alarm's threshold (None is unbounded)."""

    lower: float | None
    upper: float | None
    adjustment: int

    def holds(self, delta: float) -> bool:
        """Lower bound inclusive, upper exclusive, as AWS applies a breach to the steps (for a
        negative breach the upper bound is the inclusive one)."""
        if delta >= 0:
            return (self.lower is None or delta >= self.lower) and (self.upper is None or delta < self.upper)
        return (self.lower is None or delta > self.lower) and (self.upper is None or delta <= self.upper)


def tracking_capacity(current: int, metric: float, target: float) -> int:
    """Target tracking's proportional rule: the capacity that would bring the metric to the
    target, ceil(current × metric / target). A target at zero capacity has no metric to act on."""
    if current <= 0 or target <= 0:
        return current
    return math.ceil(round(current * metric / target, 9))


def check_steps(steps: Sequence[Step]) -> None:
    """Steps must not overlap or leave gaps, and only the outermost may be unbounded."""
    if not steps:
        raise RuleError("StepAdjustments must contain at least one step adjustment.")
    ordered = sorted(steps, key=lambda s: -math.inf if s.lower is None else s.lower)
    for step in ordered:
        if step.lower is None and step.upper is None and len(steps) > 1:
            raise RuleError("Only one step adjustment can have both bounds unset.")
        if step.lower is not None and step.upper is not None and step.lower >= step.upper:
            raise RuleError("MetricIntervalLowerBound must be less than MetricIntervalUpperBound.")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.upper is None or after.lower is None:
            raise RuleError(
                "Step adjustments cannot overlap: only the first can have a null lower bound and only the last a null upper bound."
            )
        if before.upper != after.lower:
            raise RuleError(f"Step adjustments have a gap or overlap between {before.upper:g} and {after.lower:g}.")


def step_for(steps: Sequence[Step], delta: float) -> Step | None:
    """The step whose interval holds the breach (metric − threshold); None if none does."""
    return next((s for s in steps if s.holds(delta)), None)


def adjusted(current: int, adjustment_type: str, adjustment: int, min_magnitude: int | None = None) -> int:
    """The capacity an adjustment asks for. A percentage rounds as AWS rounds it: a change
    between 0 and 1 becomes 1, between -1 and 0 becomes -1, anything else towards zero; then
    MinAdjustmentMagnitude is the least change in its direction."""
    if adjustment_type == EXACT:
        return adjustment
    if adjustment_type == CHANGE:
        return current + adjustment
    if adjustment_type != PERCENT:
        raise RuleError(f"Unknown AdjustmentType {adjustment_type!r}.")
    change = current * adjustment / 100.0
    if 0 < change < 1:
        step = 1
    elif -1 < change < 0:
        step = -1
    else:
        step = math.trunc(change)
    if min_magnitude and step and abs(step) < min_magnitude:
        step = min_magnitude if step > 0 else -min_magnitude
    return current + step


def clamp(capacity: int, low: int, high: int) -> int:
    """A policy never takes a target outside its minimum and maximum capacity."""
    return max(low, min(high, capacity))
