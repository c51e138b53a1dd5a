"""Per-second traffic series per ALB from the ALB's request records, so the page draws
requests/s, error rate and latency sparklines without shipping every request to the browser."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

DEFAULT_WINDOW = 60
MAX_WINDOW = 600


def per_second(
    records: Iterable[dict[str, Any]], now: float, window: int = DEFAULT_WINDOW, load_balancers: Iterable[str] = ()
) -> dict[str, Any]:
    """Bucket `records` (ALB request records with `time`, `status`, `latency`, `source`,
    `load_balancer`) into the `window` whole seconds ending before `now`.

    The current, still-filling second is left out so the last point does not dip. A 5xx
    counts as an error whether the ELB or the target produced it; ELB errors are also counted
    apart because they mean no healthy target answered."""
    end = math.floor(now)
    start = end - window
    series: dict[str, dict[str, list[float | None]]] = {name: _empty(window) for name in load_balancers}
    latencies: dict[str, list[list[float]]] = {}
    for r in records:
        slot = math.floor(r["time"]) - start
        if not 0 <= slot < window:
            continue
        name = r.get("load_balancer") or "?"
        s = series.get(name)
        if s is None:
            s = series[name] = _empty(window)
        s["requests"][slot] += 1
        if r["status"] >= 500:
            s["errors"][slot] += 1
            if r.get("source") == "elb":
                s["elb_errors"][slot] += 1
        if r.get("source") == "target" and r.get("latency") is not None:
            latencies.setdefault(name, [[] for _ in range(window)])[slot].append(r["latency"])
    for name, s in series.items():
        per_slot = latencies.get(name)
        s["p50_ms"] = [round(_median(v) * 1000, 1) if v else None for v in per_slot] if per_slot else [None] * window
    return {
        "start": start,
        "end": end,
        "window": window,
        "load_balancers": [{"name": name, **s, **_summary(s)} for name, s in sorted(series.items())],
    }


def _empty(window: int) -> dict[str, list[Any]]:
    return {"requests": [0] * window, "errors": [0] * window, "elb_errors": [0] * window}


def _summary(s: dict[str, list[Any]]) -> dict[str, Any]:
    """Figures for the last 10 s: what an engineer glances at."""
    requests, errors = sum(s["requests"][-10:]), sum(s["errors"][-10:])
    return {"rps_10s": round(requests / 10, 1), "error_rate_10s": round(errors / requests, 4) if requests else 0.0}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
