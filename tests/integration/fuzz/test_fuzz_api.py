"""The lab's own fuzzer (docs/reliability.md, "Fuzzing"): every implemented operation of every
emulated service with random and edge inputs from botocore's models, plus hand-made hostile HTTP,
against a real lab whose ALB serves a static target. It asserts no 5xx, every response readable by
botocore's parser for its protocol, the ALB's p99 latency while fuzzing within 10x its idle p99
(both measured here), and the lab alive at the end.

Deterministic per seed: CHAOSLAB_FUZZ_SEED=<n> replays a run; every failure message names its seed.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fuzz_client import ModelFuzzer, Outcome, implemented
from fuzz_lab import FuzzLab, start_fuzz_lab, stop_fuzz_lab
from fuzz_raw import cases, half_sent_is_closed, run_case, stored_control_character

from chaoslab.aws import limits

PROBE = Path(__file__).with_name("alb_probe.py")
PROBE_INTERVAL = 0.02  # 50 ALB requests a second
IDLE_SECONDS = 10
LATENCY_FACTOR = 10  # the ALB's p99 while fuzzing may be at most this many times its idle p99


@dataclass
class FuzzReport:
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    idle_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)
    alb_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(1 for o in self.outcomes if o.sent)

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.sent} requests sent in {self.seconds:.0f} s ({len(self.outcomes)} generated, "
            f"{sum(1 for o in self.outcomes if 200 <= o.status < 300)} answered 2xx), "
            f"{sum(1 for o in self.outcomes if o.status >= 500)} 5xx, {len(self.problems)} problems; "
            f"ALB p99 idle {p99(self.idle_ms):.2f} ms, while fuzzing {p99(self.busy_ms):.2f} ms "
            f"(p50 {statistics.median(self.idle_ms or [0]):.2f} / {statistics.median(self.busy_ms or [0]):.2f} ms, "
            f"{len(self.busy_ms)} probes)"
        )


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def probe(lab: FuzzLab, seconds: float) -> subprocess.Popen[str]:
    """The ALB prober, for `seconds` or until `collect` stops it."""
    return subprocess.Popen(
        [sys.executable, str(PROBE), str(lab.alb_port), str(seconds), str(PROBE_INTERVAL)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def collect(proc: subprocess.Popen[str]) -> dict[str, list]:
    out, _ = proc.communicate(input="", timeout=120)  # closing its stdin stops it
    return json.loads(out)


def fuzz(lab: FuzzLab, seed: int, seconds: float, max_requests: int) -> FuzzReport:
    """Measure the ALB idle for IDLE_SECONDS, then fuzz for `seconds` or `max_requests` calls,
    whichever ends first, measuring it throughout."""
    report = FuzzReport(seed)
    rng = random.Random(seed)
    idle_probe = probe(lab, IDLE_SECONDS)
    time.sleep(IDLE_SECONDS)
    idle = collect(idle_probe)
    report.idle_ms = idle["latencies_ms"]
    report.alb_errors += idle["errors"]

    busy = probe(lab, seconds + 600)
    started = time.monotonic()
    host, port = lab.api_address
    slow_client: list[str | None] = []
    watcher = threading.Thread(
        target=lambda: slow_client.append(half_sent_is_closed(host, port, limits.HEAD_DEADLINE + 5)), daemon=True
    )
    watcher.start()
    fuzzer = ModelFuzzer(lab.endpoint, rng)
    operations = implemented()
    raw = cases()
    end = time.monotonic() + seconds
    round_ops: list[tuple[str, str]] = []
    while time.monotonic() < end and len(report.outcomes) < max_requests:
        if not round_ops:
            round_ops = operations[:]
            rng.shuffle(round_ops)
        if raw and rng.random() < 0.05:
            problem = run_case(raw.pop(0), host, port)
            if problem:
                report.problems.append(problem)
            continue
        service, operation = round_ops.pop()
        try:
            outcome = fuzzer.call(service, operation)
        except Exception as exc:  # a fuzzer bug must still name its seed
            report.problems.append(f"{service}.{operation}: the fuzzer itself failed: {exc!r}")
            continue
        report.outcomes.append(outcome)
        if outcome.problem:
            report.problems.append(f"{service}.{operation}: {outcome.problem}")
    for case in raw:  # the hand-made cases not reached by chance
        problem = run_case(case, host, port)
        if problem:
            report.problems.append(problem)
    problem = stored_control_character(fuzzer.client("ec2"))
    if problem:
        report.problems.append(problem)
    measured = collect(busy)
    report.seconds = time.monotonic() - started
    report.busy_ms = measured["latencies_ms"]
    report.alb_errors += measured["errors"]
    watcher.join(limits.HEAD_DEADLINE + 20)
    report.problems += [p for p in slow_client if p] or (
        [] if slow_client else ["the half-sent head check never ended"]
    )
    return report


def check(report: FuzzReport, lab: FuzzLab) -> None:
    print(report.summary())
    assert not report.problems, f"{report.summary()}\n" + "\n".join(report.problems[:40])
    assert not report.alb_errors, f"{report.summary()}: the ALB failed while fuzzing: {report.alb_errors[:10]}"
    bound = LATENCY_FACTOR * p99(report.idle_ms)
    assert p99(report.busy_ms) < bound, f"{report.summary()}: the ALB's p99 passed {bound:.2f} ms while fuzzing"
    assert lab.alive(), f"{report.summary()}: the lab stopped answering"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> FuzzLab:
    handle = start_fuzz_lab(tmp_path_factory.mktemp("fuzzlab"))
    yield handle
    stop_fuzz_lab(handle)


@pytest.mark.timeout(240)
def test_fuzz_smoke(lab: FuzzLab) -> None:
    """Well under a minute in all: 3,000 generated calls (at most 40 s of them) plus the hand-made
    cases, a fixed seed: in the default suite."""
    seed = int(os.environ.get("CHAOSLAB_FUZZ_SEED", "20260101"))
    report = fuzz(lab, seed, seconds=40, max_requests=3000)
    assert report.sent >= 300, report.summary()
    check(report, lab)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_fuzz_long(lab: FuzzLab) -> None:
    """Ten minutes, a fresh seed each run (printed; CHAOSLAB_FUZZ_SEED replays it)."""
    seed = int(os.environ.get("CHAOSLAB_FUZZ_SEED") or random.randrange(2**32))
    seconds = float(os.environ.get("CHAOSLAB_FUZZ_SECONDS", "600"))
    check(fuzz(lab, seed, seconds=seconds, max_requests=1_000_000), lab)
