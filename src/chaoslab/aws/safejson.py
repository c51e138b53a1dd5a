"""JSON from clients, parsed with the bounds the lab needs: at most `MAX_JSON_DEPTH` levels (deeper
input used to exhaust the recursion limit: a 500), finite numbers only (`NaN`, `Infinity` and
`1e400` are not JSON numbers AWS accepts, and they broke timestamp and metric handling)."""

from __future__ import annotations

import json
import math
from typing import Any

from chaoslab.aws import limits


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)


def loads(text: str | bytes, max_depth: int = limits.MAX_JSON_DEPTH) -> Any:
    """`json.loads`, but ValueError for input nested deeper than `max_depth` or holding non-finite numbers.

    Numbers and objects go through Python-level hooks: without them a 2 MB body is one C call that
    keeps the GIL for ~50 ms, however short the switch interval (the API parses on a worker thread
    while the loop serves the ALB)."""
    try:
        value = json.loads(
            text, parse_float=_finite, parse_int=_integer, parse_constant=_no_constant, object_pairs_hook=_object
        )
    except RecursionError:
        raise ValueError(f"JSON nested more than {max_depth} levels deep") from None
    check_depth(value, max_depth)
    return value


def check_depth(value: Any, max_depth: int = limits.MAX_JSON_DEPTH) -> None:
    """ValueError if containers nest deeper than `max_depth`; iterative, so any depth is safe to check."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            raise ValueError(f"JSON nested more than {max_depth} levels deep")
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
