"""Instance refresh's rules, pure: the preferences a StartInstanceRefresh may give, and how many
instances one step of a rolling refresh may take out of service and launch over the desired
capacity, so that healthy in-service capacity never drops below MinHealthyPercentage of the desired
capacity and the group never holds more than MaxHealthyPercentage of it (docs/autoscaling.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chaoslab.errors import AwsError

ACTIVE = ("Pending", "InProgress", "Cancelling", "RollbackInProgress")
"""States in which a refresh blocks another one on the same group."""
DEFAULT_CHECKPOINT_DELAY = 3600  # seconds, when CheckpointPercentages come without a delay


def invalid(message: str) -> AwsError:
    return AwsError("ValidationError", message)


@dataclass(frozen=True)
class Preferences:
    min_healthy: int = 90
    max_healthy: int = 100
    warmup: int = 0
    skip_matching: bool = False
    checkpoints: tuple[int, ...] = ()  # ascending percentages of the instances to replace
    checkpoint_delay: int = DEFAULT_CHECKPOINT_DELAY
    auto_rollback: bool = False
    alarms: tuple[str, ...] = ()  # CloudWatch alarms whose ALARM state fails the refresh

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MinHealthyPercentage": self.min_healthy,
            "MaxHealthyPercentage": self.max_healthy,
            "InstanceWarmup": self.warmup,
            "SkipMatching": self.skip_matching,
            "AutoRollback": self.auto_rollback,
        }
        if self.checkpoints:
            out["CheckpointPercentages"] = list(self.checkpoints)
            out["CheckpointDelay"] = self.checkpoint_delay
        if self.alarms:
            out["AlarmSpecification"] = {"Alarms": list(self.alarms)}
        return out


def checkpoints(p: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    """CheckpointPercentages and CheckpointDelay, checked (the delay defaults to an hour)."""
    points = tuple(int(x) for x in p.get("CheckpointPercentages") or ())
    delay = p.get("CheckpointDelay")
    if delay is not None and not points:
        raise invalid("CheckpointDelay can only be specified together with CheckpointPercentages.")
    if delay is not None and not 0 <= int(delay) <= 172800:
        raise invalid(f"CheckpointDelay must be between 0 and 172800 seconds, not {delay}.")
    if any(not 1 <= x <= 100 for x in points):
        raise invalid("Each checkpoint percentage must be between 1 and 100.")
    if list(points) != sorted(set(points)):
        raise invalid("Checkpoint percentages must be unique and in ascending order.")
    if points and points[-1] != 100:
        raise invalid(
            "chaoslab needs the last checkpoint percentage to be 100 (a refresh that replaces every instance)."
        )
    return points, DEFAULT_CHECKPOINT_DELAY if delay is None else int(delay)


def checkpoint_quota(total: int, percent: int) -> int:
    """How many of `total` instances are replaced when a checkpoint at `percent` is reached."""
    return math.ceil(total * percent / 100)


def preferences(p: dict[str, Any], default_warmup: int, has_desired_config: bool = False) -> Preferences:
    """The request's Preferences, checked; what the lab does not emulate is refused, not ignored."""
    for key in ("ScaleInProtectedInstances", "StandbyInstances"):
        if p.get(key) is not None:
            raise invalid(f"chaoslab does not emulate the instance refresh preference {key}.")
    auto_rollback = bool(p.get("AutoRollback", False))
    if auto_rollback and not has_desired_config:
        raise invalid("AutoRollback requires a DesiredConfiguration to roll back from.")
    points, delay = checkpoints(p)
    alarms = tuple((p.get("AlarmSpecification") or {}).get("Alarms") or ())
    low = int(p.get("MinHealthyPercentage", 90))
    high = int(p.get("MaxHealthyPercentage", 100))
    if not 0 <= low <= 100:
        raise invalid(f"MinHealthyPercentage must be between 0 and 100, not {low}.")
    if not 100 <= high <= 200:
        raise invalid(f"MaxHealthyPercentage must be between 100 and 200, not {high}.")
    if high - low > 100:
        raise invalid("The difference between MaxHealthyPercentage and MinHealthyPercentage cannot exceed 100.")
    warmup = int(p.get("InstanceWarmup", default_warmup))
    if warmup < 0:
        raise invalid(f"InstanceWarmup must be 0 or more, not {warmup}.")
    return Preferences(low, high, warmup, bool(p.get("SkipMatching", False)), points, delay, auto_rollback, alarms)


def healthy_floor(desired: int, prefs: Preferences) -> int:
    """The fewest healthy in-service instances a step may leave: MinHealthyPercentage of the
    desired capacity rounded up; without room above the desired capacity, one below it at most,
    so a refresh whose percentage rounds to the whole group still replaces one at a time."""
    floor = math.ceil(desired * prefs.min_healthy / 100)
    if capacity_ceiling(desired, prefs.max_healthy) == desired:
        floor = min(floor, desired - 1)
    return max(0, floor)


def capacity_ceiling(desired: int, max_healthy: int) -> int:
    """The most instances the group may hold during the refresh (never below desired)."""
    return max(desired, math.floor(desired * max_healthy / 100))


@dataclass(frozen=True)
class Step:
    terminate: int  # old instances to take out of service now
    surge: int  # instances the group keeps above its desired capacity meanwhile


def step(desired: int, healthy: int, old: int, prefs: Preferences) -> Step:
    """One round: `healthy` counts the old instances in service plus the new ones past their
    warmup; `old` the instances still to replace. Launches come from the group's own control
    loop, which fills the group back up to desired + surge."""
    floor = healthy_floor(desired, prefs)
    terminate = max(0, min(old, healthy - floor))
    surge = min(capacity_ceiling(desired, prefs.max_healthy) - desired, old - terminate)
    return Step(terminate, max(0, surge))


def percentage(total: int, replaced: int) -> int:
    """PercentageComplete: the share of the instances to update that have been replaced."""
    return 100 if total == 0 else replaced * 100 // total
