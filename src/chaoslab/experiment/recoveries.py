"""Each recovery a run measured beside the range AWS documents for it (docs/timing.md): the
journal's `recoveries` section. A hypothesis that held in the lab holds in AWS only if the lab's
recoveries took AWS's time; this puts the two side by side, in scenario seconds."""

from __future__ import annotations

from typing import Any

from chaoslab.experiment.workload import Record, is_failure

Range = tuple[float, float]


def _range(timing: dict[str, Any], *names: str) -> Range | None:
    """AWS's range for one delay or the sum of several (the profile in effect, overrides included)."""
    delays = timing.get("delays") or {}
    if not all(n in delays for n in names):
        return None
    return sum(delays[n]["low"] for n in names), sum(delays[n]["high"] for n in names)


def _row(what: str, measured: float, expected: Range | None, delay: str) -> dict[str, Any]:
    low, high = expected if expected else (None, None)
    return {"what": what, "delay": delay, "measured_s": round(measured, 3), "aws_low_s": low, "aws_high_s": high}


def _launches(events: list[dict[str, Any]], since: float, kind: str, first: str, last: str) -> list[float]:
    """Scenario seconds from `first` to `last` of every unit of `kind` that entered `first` after `since`."""
    began: dict[str, float] = {}
    took = []
    for e in sorted(events, key=lambda e: e["time"]):
        if e.get("kind") != "unit.state" or e.get("unit_kind") != kind:
            continue
        if e["state"] == first and e["time"] >= since:
            began[e["unit_id"]] = e["time"]
        elif e["state"] == last and e["unit_id"] in began:
            took.append(e["time"] - began.pop(e["unit_id"]))
    return took


def client_write_outage(records: list[Record], since: float) -> float | None:
    """Scenario seconds from the first failed write (any method but GET) after `since` to the first
    write that succeeded after the last failure: what a client writing through the app saw."""
    writes = sorted(
        (r for r in records if r["t"] >= since and not str(r.get("endpoint", "GET")).startswith("GET")),
        key=lambda r: r["t"],
    )
    failed = [r["t"] for r in writes if is_failure(r)]
    if not failed:
        return None
    healed = next((r["t"] for r in writes if r["t"] > failed[-1] and not is_failure(r)), None)
    return None if healed is None else healed - failed[0]


def measure(
    events: list[dict[str, Any]], records: list[Record], timing: dict[str, Any], scale: float, since: float
) -> list[dict[str, Any]]:
    """One row per recovery seen after `since` (the fault's start, scenario time). Event durations
    the lab reports in wall seconds are multiplied by `scale`; event times are scenario time already."""
    rows = []
    failover = _range(timing, "rds_failover_write_unavailable_s")
    ttl = _range(timing, "rds_endpoint_dns_ttl_s")
    for e in events:
        if e.get("kind") == "db.failover" and e["time"] >= since:
            rows.append(
                _row(
                    "DB writer endpoint refused writes (failover)",
                    e["write_unavailable_s"] * scale,
                    failover,
                    "rds_failover_write_unavailable_s",
                )
            )
        if e.get("kind") == "db.reboot" and e["time"] >= since:
            rows.append(
                _row(
                    "DB instance unavailable (reboot)",
                    e["unavailable_s"] * scale,
                    _range(timing, "rds_reboot_s"),
                    "rds_reboot_s",
                )
            )
    outage = client_write_outage(records, since)
    if outage is not None and any(r["delay"] == "rds_failover_write_unavailable_s" for r in rows):
        seen = (failover[0], failover[1] + ttl[1]) if failover and ttl else None
        rows.append(
            _row(
                "writes failing for clients (failover + DNS TTL)",
                outage,
                seen,
                "rds_failover_write_unavailable_s + rds_endpoint_dns_ttl_s",
            )
        )
    for took in _launches(events, since, "instance", "pending", "running"):
        rows.append(_row("instance pending → running", took, _range(timing, "ec2_boot_s"), "ec2_boot_s"))
    for took in _launches(events, since, "task", "PROVISIONING", "RUNNING"):
        rows.append(
            _row(
                "ECS task PROVISIONING → RUNNING",
                took,
                _range(timing, "ecs_provisioning_s", "ecs_image_pull_s"),
                "ecs_provisioning_s + ecs_image_pull_s",
            )
        )
    return rows
