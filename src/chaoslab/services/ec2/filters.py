"""EC2's `Filters` parameter: the one check every Describe call makes first, and the matching."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from chaoslab.errors import AwsError

Item = TypeVar("Item")


def request_filters(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's filters, each with a Name (checked even when nothing would be matched):
    EC2 refuses a nameless filter with InvalidParameterValue, never an internal error."""
    filters = p.get("Filters") or []
    if any(not f.get("Name") for f in filters):
        raise AwsError("InvalidParameterValue", "The filter 'null' is invalid: every filter needs a Name.")
    return list(filters)


def filtered(
    items: Iterable[Item], filters: list[dict[str, Any]], values: Callable[[Item, str], list[str]]
) -> list[Item]:
    """The items every filter matches: one of its values (wildcards `*` and `?`) is one of the
    item's values for that filter's name."""
    return [
        item
        for item in items
        if all(
            any(fnmatch.fnmatchcase(v, pattern) for v in values(item, f["Name"]) for pattern in f.get("Values") or [])
            for f in filters
        )
    ]
