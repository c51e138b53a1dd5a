"""Capacity provider strategies as ECS applies them to a service's tasks, pure: each provider's
`base` tasks first (only one provider may have one), then the rest shared in proportion to the
weights. The lab has the two Fargate providers; what a provider means for a task (Spot
interruptions) is the FIS catalogue's business."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaoslab.errors import AwsError

PROVIDERS = ("FARGATE", "FARGATE_SPOT")
MAX_BASE = 100_000
MAX_WEIGHT = 1_000


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def check_strategy(strategy: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strategy with `base` and `weight` filled in (both default to 0), or ECS's error."""
    out: list[dict[str, Any]] = []
    for item in strategy:
        name = item.get("capacityProvider")
        if name not in PROVIDERS:
            raise invalid(
                f"The specified capacity provider strategy cannot contain a capacity provider that is not associated "
                f"with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
                f"provider and try again. (chaoslab has {' and '.join(PROVIDERS)}; got {name!r})"
            )
        if any(o["capacityProvider"] == name for o in out):
            raise invalid(f"The capacity provider strategy contains {name} more than once.")
        base, weight = int(item.get("base") or 0), int(item.get("weight") or 0)
        if not 0 <= base <= MAX_BASE or not 0 <= weight <= MAX_WEIGHT:
            raise invalid(f"A capacity provider's base must be 0-{MAX_BASE} and its weight 0-{MAX_WEIGHT}.")
        out.append({"capacityProvider": name, "base": base, "weight": weight})
    if sum(1 for o in out if o["base"] > 0) > 1:
        raise invalid("Only one capacity provider in a capacity provider strategy can have a base defined.")
    if out and not any(o["weight"] > 0 for o in out):
        raise invalid(
            "At least one capacity provider in a capacity provider strategy must have a weight greater than zero."
        )
    return out


def next_provider(strategy: Sequence[dict[str, Any]], counts: Mapping[str, int]) -> str:
    """The provider the next task goes to, given how many tasks each has: a base not yet met,
    else the weighted provider furthest below its share of the tasks beyond the bases."""
    for item in strategy:
        if counts.get(item["capacityProvider"], 0) < item["base"]:
            return str(item["capacityProvider"])
    weighted = [(i, item) for i, item in enumerate(strategy) if item["weight"] > 0]

    def need(entry: tuple[int, dict[str, Any]]) -> tuple[float, int]:
        index, item = entry
        beyond = max(0, counts.get(item["capacityProvider"], 0) - item["base"])
        return (beyond + 1) / item["weight"], index

    return str(min(weighted, key=need)[1]["capacityProvider"])
