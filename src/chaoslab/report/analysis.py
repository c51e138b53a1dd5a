"""Pure derivations from a run journal (docs/journal.md) that several reports share.

Every report is a function of the journal alone, so the per-second buckets, percentiles and the
seed-style probe timeline are computed here once, the same way for the terminal and the HTML.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Journal = dict[str, Any]
Record = dict[str, Any]

# Outcome classes, in stacking order (bottom first) for charts and tables.
OUTCOMES = ("2xx", "4xx", "5xx", "timeout", "no answer")


def clock(t: float) -> str:
    """`HH:MM:SS` in local time, like `date '+%H:%M:%S'` in seed 003's probe loop."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def status_text(record: Record) -> str:
    """The three-digit code curl's `%{http_code}` prints: `000` when nothing answered."""
    status = record.get("status")
    return "000" if status is None else f"{int(status):03d}"


def probe_line(record: Record) -> str:
    """One line of the seed's timeline: `HH:MM:SS - 200`."""
    return f"{clock(record['t'])} - {status_text(record)}"


def outcome(record: Record) -> str:
    """Which stacked series a request belongs to (3xx counts with 2xx: the user got an answer).

    An error kind wins over a status, as in the runner's `is_failure`: a body cut off after
    the status line is no answer to the user.
    """
    status = record.get("status")
    if status is None or record.get("error") is not None:
        return "timeout" if record.get("error") == "timeout" else "no answer"
    if status >= 500:
        return "5xx"
    return "4xx" if status >= 400 else "2xx"


def is_failure(record: Record) -> bool:
    """User-visible failure: a 5xx or no HTTP answer at all (4xx are the caller's own fault)."""
    return outcome(record) in ("5xx", "timeout", "no answer")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of non-empty `values` (q in 0..100), as CloudWatch reports pNN."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Second:
    """What happened in one second of the run (by scheduled time)."""

    index: int
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in OUTCOMES})
    latencies: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def duration(journal: Journal) -> float:
    """Run length in seconds; falls back to the last request when the run has no end."""
    start = journal["started"]
    end = journal.get("ended")
    if end is None:
        end = max((r["t"] for r in journal.get("requests", [])), default=start)
    return max(0.0, end - start)


def seconds(journal: Journal, *, probes: bool = True) -> list[Second]:
    """Per-second buckets from the run's start, empty seconds included so charts stay aligned."""
    start = journal["started"]
    buckets = [Second(i) for i in range(max(1, math.ceil(duration(journal))))]
    for record in journal.get("requests", []):
        if record.get("probe") and not probes:
            continue
        i = int(record["t"] - start)
        if i < 0:
            continue
        while i >= len(buckets):
            buckets.append(Second(len(buckets)))
        buckets[i].counts[outcome(record)] += 1
        buckets[i].latencies.append(float(record.get("latency_ms") or 0.0))
    return buckets


def latency_series(
    buckets: Iterable[Second], qs: tuple[float, ...] = (50, 90, 99)
) -> dict[float, list[tuple[int, float]]]:
    """pNN latency per second, skipping seconds without requests."""
    out: dict[float, list[tuple[int, float]]] = {q: [] for q in qs}
    for b in buckets:
        if b.latencies:
            for q in qs:
                out[q].append((b.index, percentile(b.latencies, q)))
    return out


@dataclass(frozen=True)
class Totals:
    requests: int
    failures: int
    by_outcome: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def totals(records: Iterable[Record]) -> Totals:
    counts = {k: 0 for k in OUTCOMES}
    n = 0
    for r in records:
        counts[outcome(r)] += 1
        n += 1
    failures = counts["5xx"] + counts["timeout"] + counts["no answer"]
    return Totals(n, failures, counts)


def failure_span(records: Iterable[Record]) -> tuple[float, float] | None:
    """Scheduled times of the first and last failure, or None when nothing failed."""
    times = [r["t"] for r in records if is_failure(r)]
    return (min(times), max(times)) if times else None


def fault_windows(journal: Journal) -> list[tuple[float, float, str]]:
    """(start, end, label) per fault; a fault still in effect lasts until the run ended."""
    end_of_run = journal["started"] + duration(journal)
    return [
        (
            f["start"],
            f["end"] if f.get("end") is not None else end_of_run,
            f.get("action") or f.get("action_id") or "fault",
        )
        for f in journal.get("faults", [])
    ]


VERDICT_TITLES = {
    "held": "Hypothesis held",
    "deviated": "Hypothesis REFUTED",
    "baseline-not-met": "Baseline not met - nothing injected",
    "aborted": "Aborted by a stop condition",
    "error": "Experiment could not run",
}

EXIT_MEANINGS = {
    0: "hypothesis held",
    1: "deviated: the hypothesis did not hold",
    2: "baseline not met or the experiment could not run",
    3: "aborted by a stop condition",
}


def verdict_title(journal: Journal) -> str:
    outcome_ = journal.get("verdict", {}).get("outcome", "error")
    return VERDICT_TITLES.get(outcome_, outcome_)


def exit_meaning(code: int) -> str:
    return EXIT_MEANINGS.get(code, "unknown exit code")


def integrity_ok(integrity: dict[str, Any]) -> bool:
    """Acknowledged writes all intact, nothing invented, no duplicates, stock adds up."""
    return (
        not integrity.get("lost")
        and not integrity.get("phantom")
        and not integrity.get("changed")
        and not integrity.get("duplicates")
        and integrity.get("stock_consistent") is not False
    )


def seconds_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


WINDOW_ROWS = (
    ("detection_window_s", "detection window", "first to last failure from the dead target"),
    ("time_to_unhealthy_s", "time to unhealthy", "fault start → ALB marks the target unhealthy"),
    ("time_to_replacement_healthy_s", "replacement healthy", "fault start → a replacement target is healthy"),
    ("recovery_time_s", "recovery time", "fault start → steady state holds again"),
)


def window_rows(journal: Journal) -> list[tuple[str, float | None, float | None, str]]:
    """(label, measured, bound, meaning) per measured window.

    The health-check bound (interval x unhealthy threshold + timeout) applies to the two windows
    the ALB's detection decides: the failures seen and the time to mark the target unhealthy.
    """
    windows = journal.get("windows") or {}
    bound = windows.get("detection_bound_s")
    rows = []
    for key, label, meaning in WINDOW_ROWS:
        applies = key in ("detection_window_s", "time_to_unhealthy_s")
        rows.append((label, windows.get(key), bound if applies else None, meaning))
    return rows
