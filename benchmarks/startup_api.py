"""Sections 2 and 6: `chaoslab up --detach` to ready, one unit's start to healthy, the AWS API's
latency through boto3 per protocol, and `chaoslab demo --fast` wall time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import Row, fmt, median, pct
from labctl import BenchLab, bench_stack

UP_TARGET_S = 1.0  # `chaoslab up --detach` of the default stack, median
DEMO_TARGET_S = 10.0  # `chaoslab demo --fast`, end to end


def unit_start_to_healthy(lab: BenchLab) -> list[float]:
    """Per instance: its unit.state pending → its target.health healthy, from the lab's events."""
    status = lab.status()
    ips = {i["id"]: i["ip"] for i in status["instances"]}
    pending: dict[str, float] = {}
    healthy: dict[str, float] = {}
    for e in lab.events(kinds="unit.state,target.health"):
        if e["kind"] == "unit.state" and e.get("state") == "pending":
            pending.setdefault(e["unit_id"], e["time"])
        elif e["kind"] == "target.health" and e.get("state") == "healthy":
            healthy.setdefault(e["target"], e["time"])
    return [healthy[t] - pending[t] for t in pending if t in healthy and t in ips]


def up_rows(tmp: Path, runs: int) -> list[Row]:
    """`chaoslab up --detach` (default stack, private port and VPC) to ready, each then `down`."""
    lab = BenchLab(tmp / "up-home", bench_stack(tmp, octet=60))
    ups, downs, unit = [], [], []
    for _ in range(runs):
        ups.append(lab.up())
        try:
            if not unit:
                unit = unit_start_to_healthy(lab)
        finally:
            downs.append(lab.down())
    sec = "2 lab start"
    return [
        Row(
            sec,
            f"`chaoslab up --detach` to ready, median of {runs}",
            median(ups),
            "s",
            target=UP_TARGET_S,
            note="runs: " + ", ".join(fmt(u) for u in ups),
        ),
        Row(
            sec,
            "one instance: unit pending → target healthy",
            median(unit) if unit else None,
            "s",
            note="per instance: " + ", ".join(fmt(u) for u in unit) + " (default stack: 10 s health-check interval)",
        ),
        Row(sec, "`chaoslab down`, median", median(downs), "s"),
    ]


def _timed(call: Callable[[], Any], n: int) -> list[float]:
    call()  # the first call pays for connection set-up and model loading
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def api_rows(lab: BenchLab, n: int) -> list[Row]:
    """A cheap call per wire protocol, through boto3 (SigV4 signing and parsing included)."""
    calls = [
        ("query/XML", "sts GetCallerIdentity", lab.client("sts").get_caller_identity),
        ("query/XML", "ec2 DescribeInstances", lab.client("ec2").describe_instances),
        ("json 1.1", "ecs ListClusters", lab.client("ecs").list_clusters),
        ("rest-json", "fis ListExperimentTemplates", lab.client("fis").list_experiment_templates),
        ("query/XML", "cloudwatch DescribeAlarms", lab.client("cloudwatch").describe_alarms),
    ]
    rows = []
    for protocol, name, call in calls:
        ms = _timed(call, n)
        rows.append(
            Row(
                "6 AWS API",
                f"{name} ({protocol}) p50",
                pct(ms, 0.5),
                "ms",
                note=f"p99 {fmt(pct(ms, 0.99))} ms over {n} calls",
            )
        )
    return rows


DEMO = """
import sys
from pathlib import Path
from chaoslab.config import LabConfig
from chaoslab.experiment.demo import run_demo
code, _ = run_demo(LabConfig(home=Path(sys.argv[1]), api_port=int(sys.argv[2])), fast=True,
                   report_dir=Path(sys.argv[1]) / "report", stack=sys.argv[3])
sys.exit(code)
"""


def demo_rows(tmp: Path) -> list[Row]:
    """`chaoslab demo --fast` as the CLI runs it (run_demo), on a private port and stack."""
    from common import free_port

    home = tmp / "demo-home"
    stack = bench_stack(tmp, octet=61)
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", DEMO, str(home), str(free_port()), str(stack)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CHAOSLAB_HOME": str(home)},
    )
    elapsed = time.perf_counter() - start
    verdict = next(
        (
            line.strip()
            for line in out.stdout.splitlines()
            if "hypothesis" in line.lower() and ("held" in line.lower() or "refuted" in line.lower())
        ),
        "",
    )
    note = f"exit {out.returncode}" + (f"; {verdict[:90]}" if verdict else "")
    if out.returncode not in (0, 1):
        note += "; " + (out.stderr.strip().splitlines() or ["?"])[-1][:120]
    return [
        Row(
            "6 demo",
            "`chaoslab demo --fast` wall time (up, experiment, report, down)",
            elapsed,
            "s",
            target=DEMO_TARGET_S,
            note=note,
        )
    ]
