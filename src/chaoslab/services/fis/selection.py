"""Target resolution as pure functions: which resource records a template target selects.

Records are the describe-shape dicts the backends return (EC2 `Instance`, ECS `Task`, RDS
`DBInstance` …). FIS's rules: ARNs name resources exactly; every tag must match (an empty value
matches only an empty value); filter paths are PascalCase, walked case-insensitively, lists fan
out, any value matches, several filters AND; then ALL / COUNT(n) / PERCENT(n) picks at random.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MODE = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")


@dataclass(frozen=True)
class Resource:
    """One candidate: its ARN, resource type, describe-shape record, tags and resolution extras."""

    arn: str
    resource_type: str
    record: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    # Facts a target parameter needs that the record lacks (e.g. an Aurora cluster's writer AZ).
    extra: dict[str, Any] = field(default_factory=dict)


class ResolutionError(Exception):
    """A target that cannot be resolved: FIS fails the experiment with InvalidTarget."""


def resolve(target: dict[str, Any], candidates: Iterable[Resource], rng: random.Random | None = None) -> list[Resource]:
    """The resources `target` selects from `candidates` (all of its resource type)."""
    pool = [c for c in candidates if c.resource_type == target["resourceType"]]
    arns = target.get("resourceArns")
    if arns:
        by_arn = {c.arn: c for c in pool}
        missing = [a for a in arns if a not in by_arn]
        if missing:
            raise ResolutionError(f"Target resource(s) not found: {', '.join(missing)}")
        pool = [by_arn[a] for a in dict.fromkeys(arns)]
    pool = [c for c in pool if tags_match(c.tags, target.get("resourceTags") or {})]
    pool = [c for c in pool if filters_match(c.record, target.get("filters") or [])]
    pool = [c for c in pool if parameters_match(c, target.get("parameters") or {})]
    return select(pool, target.get("selectionMode", "ALL"), rng or random.Random())


def tags_match(have: dict[str, str], want: dict[str, str]) -> bool:
    return all(key in have and have[key] == value for key, value in want.items())


def filters_match(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    return all(_filter_match(record, f["path"], f["values"]) for f in filters)


def _filter_match(record: dict[str, Any], path: str, values: list[str]) -> bool:
    found = {_as_text(v) for v in walk(record, path.split("."))}
    return any(v in found for v in values)


def walk(node: Any, parts: list[str]) -> list[Any]:
    """Values at a dotted path; keys match case-insensitively and lists fan out."""
    if isinstance(node, list):
        return [v for item in node for v in walk(item, parts)]
    if not parts:
        return [node]
    if not isinstance(node, dict):
        return []
    key = parts[0].lower()
    return [v for k, child in node.items() if k.lower() == key for v in walk(child, parts[1:])]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parameters_match(resource: Resource, params: dict[str, str]) -> bool:
    """Resource-type parameters (aws:ecs:task cluster/service, AZ identifiers …), ANDed."""
    record = resource.record
    for name, value in params.items():
        if name == "cluster":
            cluster_arn = record.get("clusterArn", "")
            if value not in (cluster_arn, cluster_arn.rsplit("/", 1)[-1]):
                return False
        elif name == "service":
            if record.get("group") != f"service:{value.rsplit('/', 1)[-1]}":
                return False
        elif name == "availabilityZoneIdentifier":
            if value not in (record.get("AvailabilityZone"), record.get("AvailabilityZoneId")):
                return False
        elif name == "vpc":
            if record.get("VpcId") != value:
                return False
        elif name == "availabilityZoneIdentifiers":
            if value != "all" and record.get("AvailabilityZone") not in value.split(","):
                return False
        elif name == "writerAvailabilityZoneIdentifiers":
            if value != "all" and resource.extra.get("writer_az") not in value.split(","):
                return False
        else:
            raise ResolutionError(f'chaoslab cannot resolve target parameter "{name}" yet')
    return True


def select(pool: list[Resource], mode: str, rng: random.Random) -> list[Resource]:
    """ALL, COUNT(n) (at most n) or PERCENT(n) (rounded down), chosen at random."""
    match = _MODE.match(mode)
    if not match:
        raise ResolutionError(f'"{mode}" is not a selection mode')
    if match.group(2) is not None:
        count = min(int(match.group(2)), len(pool))
    elif match.group(3) is not None:
        count = math.floor(len(pool) * int(match.group(3)) / 100)
    else:
        return list(pool)
    return rng.sample(pool, count)
