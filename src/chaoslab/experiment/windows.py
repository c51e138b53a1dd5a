"""Measured windows: how long users saw the dead target, and how long the platform took to notice
and to heal — each beside the bound the target group's health-check settings promise
(interval × unhealthy threshold + timeout, seed 003's "remember this number")."""

from __future__ import annotations

from typing import Any

from chaoslab.experiment.workload import Record, is_failure

# States in which the ALB no longer routes new requests to a target.
OUT_OF_SERVICE = ("unhealthy", "draining", "unused")


def detection_bound(health_check: dict[str, Any] | None) -> float | None:
    if not health_check:
        return None
    return float(health_check["interval"] * health_check["unhealthy"] + health_check["timeout"])


def attributable_failures(records: list[Record], fault_start: float, dead: set[str]) -> list[Record]:
    """Failures after the fault began that the dead target may have caused: no answer, or a 5xx
    not served by a surviving target."""
    return [
        r
        for r in records
        if r["t"] >= fault_start
        and r["phase"] in ("injection", "recovery")
        and is_failure(r)
        and (r.get("served_by") is None or r["served_by"] in dead)
    ]


def measure(
    records: list[Record],
    faults: list[dict[str, Any]],
    events: list[dict[str, Any]],
    health_check: dict[str, Any] | None,
    recovery_time_s: float | None,
) -> dict[str, Any]:
    """The journal's `windows` section."""
    out: dict[str, Any] = {
        "detection_window_s": None,
        "detection_bound_s": detection_bound(health_check),
        "time_to_unhealthy_s": None,
        "time_to_replacement_healthy_s": None,
        "recovery_time_s": recovery_time_s,
        "failures_in_window": 0,
    }
    if not faults:
        return out
    start = min(f["start"] for f in faults)
    dead = {t for f in faults for t in f.get("targets", [])}
    failures = attributable_failures(records, start, dead)
    if failures:
        ts = sorted(r["t"] for r in failures)
        out["detection_window_s"] = round(ts[-1] - ts[0], 3)
        out["failures_in_window"] = len(failures)
    healthy_before = set()
    for e in sorted(events, key=lambda e: e["time"]):
        if e.get("kind") != "target.health":
            continue
        if e["time"] < start:
            if e["state"] == "healthy":
                healthy_before.add(e["target"])
            continue
        since = round(e["time"] - start, 3)
        if e["target"] in dead and e["state"] in OUT_OF_SERVICE and out["time_to_unhealthy_s"] is None:
            out["time_to_unhealthy_s"] = since
        if (
            e["state"] == "healthy"
            and e["target"] not in dead
            and e["target"] not in healthy_before
            and out["time_to_replacement_healthy_s"] is None
        ):
            out["time_to_replacement_healthy_s"] = since
    return out
