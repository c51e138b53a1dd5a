"""Parameter value checks shared by the catalogue (actions, target types) and the validator.

A check takes the string value (FIS parameters are always strings) and returns an error message,
or None when the value is fine, so one table drives validation, GetAction and the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from chaoslab.services.fis.durations import DurationError, parse_duration

Check = Callable[[str], "str | None"]

# Every AWS partition: a template for GovCloud or China is as valid as one for the main partition.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
PARTITION = "(?:" + "|".join(re.escape(p) for p in sorted(PARTITIONS, key=len, reverse=True)) + ")"


@dataclass(frozen=True)
class Param:
    """One parameter of an action or a target resource type."""

    description: str
    required: bool = False
    default: str | None = None
    check: Check | None = None


def is_arn(value: str, service: str | None = None) -> bool:
    """`arn:<partition>:<service>:…` in any partition (any service when `service` is None)."""
    svc = re.escape(service) if service else "[a-z0-9-]+"
    return re.match(rf"^arn:{PARTITION}:{svc}:", value) is not None


def duration(low: str, high: str) -> Check:
    """ISO 8601 duration within [low, high] (e.g. PT1M..PT12H)."""
    lo, hi = parse_duration(low), parse_duration(high)

    def check(value: str) -> str | None:
        try:
            seconds = parse_duration(value)
        except DurationError as exc:
            return str(exc)
        if not lo <= seconds <= hi:
            return f'duration "{value}" is outside {low}..{high}'
        return None

    return check


def int_range(low: int, high: int) -> Check:
    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return f'"{value}" is not a whole number'
        if not low <= number <= high:
            return f"{number} is outside {low}..{high}"
        return None

    return check


def float_range(low: float, high: float) -> Check:
    """A decimal number within [low, high] (EBS latency takes 0.1 % steps)."""

    def check(value: str) -> str | None:
        try:
            number = float(value)
        except ValueError:
            return f'"{value}" is not a number'
        if not low <= number <= high:
            return f"{value} is outside {low:g}..{high:g}"
        return None

    return check


def enum(*allowed: str, case_sensitive: bool = True) -> Check:
    def check(value: str) -> str | None:
        ok = value in allowed if case_sensitive else value.lower() in {a.lower() for a in allowed}
        return None if ok else f'"{value}" is not one of {", ".join(allowed)}'

    return check


BOOLEAN = enum("true", "false", case_sensitive=False)


def comma_list(item: Check | None = None, max_items: int | None = None, *, spaces: bool = False) -> Check:
    """Comma-separated values, each checked by `item`. Spaces around the commas are refused
    unless `spaces` (the reference writes some lists, e.g. AZ identifiers, as "a, b")."""

    def check(value: str) -> str | None:
        items = value.split(",")
        if spaces:
            items = [i.strip() for i in items]
        if any(not i or i != i.strip() for i in items):
            what = "empty items" if spaces else "spaces or empty items"
            return f'"{value}" must be a comma-separated list without {what}'
        if max_items is not None and len(items) > max_items:
            return f"at most {max_items} items are allowed, got {len(items)}"
        for i in items:
            problem = item(i) if item else None
            if problem:
                return problem
        return None

    return check


def json_object(value: str) -> str | None:
    """A JSON text holding an object: how FIS reads `documentParameters` and `kubernetesSpec`."""
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        return f"not valid JSON: {exc}"
    return None if isinstance(parsed, dict) else "must be a JSON object"


def arn_of(service: str) -> Check:
    def check(value: str) -> str | None:
        return None if is_arn(value, service) else f'"{value}" is not an {service} ARN'

    return check


def region(value: str) -> str | None:
    """A Region code such as eu-west-1."""
    ok = re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d+", value)
    return None if ok else f'"{value}" is not a Region code such as eu-west-1'
