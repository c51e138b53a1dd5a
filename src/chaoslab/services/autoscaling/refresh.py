"""Instance refresh's rules, pure: the preferences a StartInstanceRefresh may give, and how many
instances one step of a rolling refresh may take out of service and launch over the desired
capacity, so that healthy in-service capacity never drops below MinHealthyPercentage of the desired
capacity and the group never holds more than MaxHealthyPercentage of it (docs/autoscaling.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chaoslab.errors import AwsError

ACTIVE = ("Pending", "InProgress", "Cancelling")
"""States in which a refresh blocks another one on the same group."""


def invalid(message: str) -> AwsError:
    return AwsError("ValidationError", message)


@dataclass(frozen=True)
class Preferences:
    min_healthy: int = 90
    max_healthy: int = 100
    warmup: int = 0
    skip_matching: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "MinHealthyPercentage": self.min_healthy,
            "MaxHealthyPercentage": self.max_healthy,
            "InstanceWarmup": self.warmup,
            "SkipMatching": self.skip_matching,
        }


def preferences(p: dict[str, Any], default_warmup: int) -> Preferences:
    """The request's Preferences, checked; what the lab does not emulate is refused, not ignored."""
    for key in ("CheckpointPercentages", "CheckpointDelay", "ScaleInProtectedInstances", "StandbyInstances"):
        if p.get(key) is not None:
            raise invalid(f"chaoslab does not emulate the instance refresh preference {key}.")
    if p.get("AutoRollback"):
        raise invalid("chaoslab does not emulate AutoRollback for instance refreshes.")
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
    return Preferences(low, high, warmup, bool(p.get("SkipMatching", False)))


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
