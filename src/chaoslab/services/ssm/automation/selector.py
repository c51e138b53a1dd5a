"""Step outputs: a `Selector` (`$.Reservations[0].Instances[0].InstanceId`, the subset of
JSONPath Automation's outputs use: members and list indexes) applied to a step's result, then
converted to the output's `Type`."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

_PART = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]")


class SelectorError(ValueError):
    """A selector that is malformed or finds nothing."""


def select(data: Any, selector: str) -> Any:
    """The value at `selector` in `data`."""
    path = selector.strip()
    if not path.startswith("$"):
        raise SelectorError(f"selector {selector!r} must start with $")
    rest, value = path[1:], data
    while rest:
        m = _PART.match(rest)
        if m is None:
            raise SelectorError(f"selector {selector!r}: cannot read {rest!r}")
        member, index = m.groups()
        try:
            value = value[member] if member is not None else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise SelectorError(f"selector {selector!r} matches nothing in the step's result") from None
        rest = rest[m.end() :]
    return value


def convert(value: Any, kind: str) -> Any:
    """`value` as an output of type `kind` (String, Integer, Boolean, StringList, StringMap, MapList)."""
    if isinstance(value, datetime):
        value = value.isoformat()
    if kind == "String":
        return value if isinstance(value, str) else str(value)
    if kind == "Integer":
        return int(value)
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "StringList":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if kind in ("StringMap", "MapList"):
        return value
    raise SelectorError(f"output type {kind} is not one of Automation's")


def as_strings(value: Any) -> list[str]:
    """An output as the API reports it (a list of strings)."""
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v) for v in items]
