"""Parameter value checks shared by the catalogue (actions, target types) and the validator.

A check takes the string value (FIS parameters are always strings) and returns an error message,
or None when the value is fine, so one table drives validation, GetAction and the engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from chaoslab.services.fis.durations import DurationError, parse_duration

Check = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Param:
    """One parameter of an action or a target resource type."""

    description: str
    required: bool = False
    default: str | None = None
    check: Check | None = None


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


def enum(*allowed: str, case_sensitive: bool = True) -> Check:
    def check(value: str) -> str | None:
        ok = value in allowed if case_sensitive else value.lower() in {a.lower() for a in allowed}
        return None if ok else f'"{value}" is not one of {", ".join(allowed)}'

    return check


BOOLEAN = enum("true", "false", case_sensitive=False)


def comma_list(item: Check | None = None, max_items: int | None = None) -> Check:
    """Comma-separated values without spaces, each checked by `item`."""

    def check(value: str) -> str | None:
        items = value.split(",")
        if any(not i or i != i.strip() for i in items):
            return f'"{value}" must be a comma-separated list without spaces or empty items'
        if max_items is not None and len(items) > max_items:
            return f"at most {max_items} items are allowed, got {len(items)}"
        for i in items:
            problem = item(i) if item else None
            if problem:
                return problem
        return None

    return check


def json_object(value: str) -> str | None:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        return f"not valid JSON: {exc}"
    return None if isinstance(parsed, dict) else "must be a JSON object"


def arn_of(service: str) -> Check:
    def check(value: str) -> str | None:
        return None if value.startswith(f"arn:aws:{service}:") else f'"{value}" is not an {service} ARN'

    return check
