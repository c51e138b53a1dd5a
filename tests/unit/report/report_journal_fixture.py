"""A realistic run journal for report tests (docs/journal.md), shaped like seed 003's run.

60 s run, two targets behind the ALB; FIS stops target A at t=20 s. Requests routed to A get
502 at first, then time out, for ~16 s until the ALB marks it unhealthy; the ASG's replacement
is healthy at t=52 s. Deterministic (seeded) so tests can assert exact counts.
"""

from __future__ import annotations

import copy
import random
from typing import Any

STARTED = 1781731040.0  # 2026-06-17 21:17:20 UTC
DEAD_FROM, DEAD_UNTIL = 20.0, 36.0  # A stopped .. ALB marks it unhealthy
REPLACEMENT_HEALTHY = 52.0
A, B, C = "i-0ef097d855de7f9a9", "i-0a52ee26b5d49d79f", "i-0a9a795f314c94f1e"


def _phase_of(offset: float) -> str:
    if offset < 15.0:
        return "baseline"
    return "injection" if offset < 45.0 else "recovery"


def _record(rng: random.Random, offset: float, endpoint: str, target: str, probe: bool) -> dict[str, Any]:
    """One request: answered by `target`, or failed if it was routed to the dead one."""
    t = STARTED + offset
    sent = t + rng.uniform(0.0, 0.002)
    status: int | None
    error: str | None = None
    if target == A and DEAD_FROM <= offset < DEAD_UNTIL:
        if offset < DEAD_FROM + 6:  # the process is gone: the ALB's connect is refused -> 502
            status, latency = 502, rng.uniform(1.0, 4.0)
        else:  # the host stops answering: the client's own timeout fires
            status, error, latency = None, "timeout", 5000.0
        served_by = None
    else:
        status = 201 if endpoint.startswith("POST") else 200
        latency = rng.lognormvariate(2.3, 0.35)  # ~10 ms median
        served_by = target
    return {
        "t": t,
        "sent": sent,
        "done": t + latency / 1000.0,
        "endpoint": endpoint,
        "status": status,
        "error": error,
        "latency_ms": round(latency, 3),
        "served_by": served_by,
        "phase": _phase_of(offset),
        "probe": probe,
    }


def _targets_at(offset: float) -> list[str]:
    """Round-robin pool the ALB routes over at `offset`."""
    if offset < DEAD_UNTIL:
        return [A, B]
    return [B] if offset < REPLACEMENT_HEALTHY else [B, C]


def _requests(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = 0
    for tick in range(600):  # GET /products 10/s, POST /orders 1/s
        offset = tick / 10.0
        pool = _targets_at(offset)
        out.append(_record(rng, offset, "GET /products", pool[n % len(pool)], False))
        n += 1
        if tick % 10 == 5:
            out.append(_record(rng, offset, "POST /orders", pool[n % len(pool)], False))
            n += 1
    for k in range(30):  # seed 003's probe: one request every 2 s
        offset = 1.0 + 2 * k
        pool = _targets_at(offset)
        out.append(_record(rng, offset, "GET /products", pool[(k * 7 // 3) % len(pool)], True))
    out.sort(key=lambda r: r["t"])
    return out


def _events() -> list[dict[str, Any]]:
    s = STARTED
    return [
        {
            "time": s + 20.1,
            "kind": "fault.applied",
            "fault": "stop-instances",
            "target": A,
            "experiment": "EXPEnJp6T52edQqh6J",
        },
        {
            "time": s + 20.2,
            "kind": "unit.state",
            "unit_id": A,
            "unit_kind": "ec2",
            "state": "stopping",
            "reason": "User initiated (FIS)",
        },
        {
            "time": s + 20.6,
            "kind": "unit.state",
            "unit_id": A,
            "unit_kind": "ec2",
            "state": "stopped",
            "reason": "User initiated (FIS)",
        },
        {
            "time": s + 27.0,
            "kind": "alarm.state",
            "alarm": "chaos-lab-5xx",
            "old": "OK",
            "new": "ALARM",
            "reason": "Threshold Crossed: 1 datapoint [14.0] was >= 5.0",
        },
        {
            "time": s + 36.4,
            "kind": "target.health",
            "target_group": "chaos-lab-tg",
            "target": A,
            "state": "unhealthy",
            "reason": "Target.Timeout",
        },
        {
            "time": s + 37.0,
            "kind": "asg.activity",
            "group": "chaos-lab-asg",
            "description": f"Terminating EC2 instance: {A}",
            "cause": "ELB health check failed",
        },
        {
            "time": s + 38.0,
            "kind": "asg.activity",
            "group": "chaos-lab-asg",
            "description": f"Launching a new EC2 instance: {C}",
            "cause": "below desired capacity",
        },
        {
            "time": s + 38.1,
            "kind": "unit.state",
            "unit_id": C,
            "unit_kind": "ec2",
            "state": "pending",
            "reason": "launched by chaos-lab-asg",
        },
        {"time": s + 40.5, "kind": "unit.state", "unit_id": C, "unit_kind": "ec2", "state": "running", "reason": ""},
        {
            "time": s + 41.0,
            "kind": "target.health",
            "target_group": "chaos-lab-tg",
            "target": C,
            "state": "initial",
            "reason": "Elb.RegistrationInProgress",
        },
        {
            "time": s + 47.0,
            "kind": "alarm.state",
            "alarm": "chaos-lab-5xx",
            "old": "ALARM",
            "new": "OK",
            "reason": "Threshold Crossed: 1 datapoint [0.0] was not >= 5.0",
        },
        {
            "time": s + 52.0,
            "kind": "target.health",
            "target_group": "chaos-lab-tg",
            "target": C,
            "state": "healthy",
            "reason": "",
        },
    ]


def _series() -> dict[str, Any]:
    healthy, unhealthy, alarm = [], [], []
    for sec in range(61):
        t = STARTED + sec
        healthy.append([t, 2 if sec < 36 or sec >= 52 else 1])
        unhealthy.append([t, 1 if 36 <= sec < 37 else 0])
        state = "INSUFFICIENT_DATA" if sec < 10 else ("ALARM" if 27 <= sec < 47 else "OK")
        alarm.append([t, state])
    return {"healthy_hosts": healthy, "unhealthy_hosts": unhealthy, "alarms": {"chaos-lab-5xx": alarm}}


def make_journal(seed: int = 3) -> dict[str, Any]:
    """A deviated run: 'no user-visible errors' refuted, data intact, exit code 1."""
    rng = random.Random(seed)
    s = STARTED
    requests = _requests(rng)
    inj = [r for r in requests if r["phase"] == "injection"]
    failed = [r for r in inj if r["status"] is None or r["status"] >= 500]
    posts = [r for r in requests if r["endpoint"] == "POST /orders"]
    acked = sum(1 for r in posts if r["status"] == 201)
    ambiguous = len(posts) - acked
    return {
        "version": 1,
        "experiment": {
            "title": "Stop one Chaos Shop instance",
            "file": "examples/003-stop-instance.yaml",
            "description": "Seed 003: FIS stops one EC2 instance of the ASG behind the ALB.",
            "hypothesis": {
                "if": "we stop one EC2 instance",
                "then": "the ALB routes all traffic to the remaining healthy instance with no "
                "user-visible errors, and every acknowledged order survives",
            },
        },
        "lab": {
            "api": "http://127.0.0.1:4566",
            "alb": "http://127.0.0.1:8080",
            "stack": "default",
            "network_mode": "netns",
            "health_check": {"interval": 10, "timeout": 5, "healthy": 2, "unhealthy": 3},
        },
        "started": s,
        "ended": s + 60.0,
        "phases": [
            {"name": "baseline", "start": s, "end": s + 15.0, "result": "held"},
            {"name": "injection", "start": s + 15.0, "end": s + 45.0, "result": "not-held"},
            {"name": "recovery", "start": s + 45.0, "end": s + 60.0, "result": "held"},
        ],
        "requests": requests,
        "fis": {
            "template_id": "EXT3z4QT4WJN4Jwz",
            "experiment_id": "EXPEnJp6T52edQqh6J",
            "state": {"status": "completed", "reason": "Experiment completed."},
            "actions": {
                "stop-instance": {
                    "actionId": "aws:ec2:stop-instances",
                    "state": {"status": "completed", "reason": "Action was completed."},
                    "startTime": s + 20.0,
                    "endTime": s + 21.2,
                }
            },
            "resolved_targets": [
                {
                    "targetName": "chaos-lab-instances",
                    "resourceType": "aws:ec2:instance",
                    "arn": f"arn:aws:ec2:us-east-1:123456789012:instance/{A}",
                }
            ],
        },
        "faults": [
            {
                "action": "stop-instance",
                "action_id": "aws:ec2:stop-instances",
                "start": s + 20.0,
                "end": None,
                "targets": [f"arn:aws:ec2:us-east-1:123456789012:instance/{A}"],
            }
        ],
        "events": _events(),
        "series": _series(),
        "clauses": [
            {
                "id": "baseline-errors",
                "text": "error rate <= 1 %",
                "bound": "<= 1 %",
                "measured": "0.00 %",
                "passed": True,
                "phase": "baseline",
            },
            {
                "id": "no-user-visible-errors",
                "text": "no user-visible errors",
                "bound": "0 errors",
                "measured": f"{len(failed)} errors",
                "passed": False,
                "phase": "injection",
            },
            {
                "id": "p99-latency",
                "text": "latency p99 <= 500 ms",
                "bound": "<= 500 ms",
                "measured": "5000 ms",
                "passed": False,
                "phase": "injection",
            },
            {
                "id": "recovery-time",
                "text": "recovery time <= 60 s",
                "bound": "<= 60 s",
                "measured": "17.0 s",
                "passed": True,
                "phase": "recovery",
            },
            {
                "id": "no-lost-writes",
                "text": "no lost acknowledged writes",
                "bound": "0 lost",
                "measured": "0 lost",
                "passed": True,
                "phase": "recovery",
            },
        ],
        "integrity": {
            "checked": True,
            "acknowledged": acked,
            "ambiguous": ambiguous,
            "lost": [],
            "phantom": [],
            "changed": [],
            "stock_consistent": True,
            "stock_mismatches": [],
            "duplicates": 0,
            "notes": [f"{ambiguous} ambiguous POSTs (timeout or 5xx) were not committed"],
        },
        "windows": {
            "detection_window_s": 16.0,
            "detection_bound_s": 35.0,
            "time_to_unhealthy_s": 16.4,
            "time_to_replacement_healthy_s": 32.0,
            "recovery_time_s": 17.0,
        },
        "verdict": {
            "outcome": "deviated",
            "exit_code": 1,
            "summary": "Hypothesis refuted: 'no user-visible errors' did not hold.",
        },
    }


def with_changes(journal: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `journal` with top-level keys replaced (tests vary one thing at a time)."""
    out = copy.deepcopy(journal)
    out.update(changes)
    return out
