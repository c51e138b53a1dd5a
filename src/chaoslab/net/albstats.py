"""Request records and ALB metrics, kept in the lab process from what the workers report.

Every record the data plane's workers leave in their rings comes through `RequestStats.record`
here, so the `recent` records, the per-second CloudWatch batches and the Prometheus totals are
one bookkeeping of the same requests and cannot disagree.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

from chaoslab.net.albwire import CONNECT_ERROR, CONNECT_TIMEOUT_KIND
from chaoslab.net.latency import LatencyHistogram


class MetricSink(Protocol):
    """What the proxy needs from CloudWatch (the lab's `cloudwatch` backend satisfies it)."""

    def put_metric(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        values: list[float],
        unit: str,
        timestamp: float | None = None,
    ) -> Any: ...


class RequestStats:
    """Per-load-balancer request records: a bounded ring, per-second metric aggregates, and
    running totals a Prometheus scrape reads (`totals`, and `latency` fed once a second)."""

    # Counter slots, one row per target group; flush() sums rows for the LB-wide series and keeps
    # the HTTPCode_ELB_* ones LB-wide only (the dimension sets AWS publishes them with).
    _COUNTERS = (
        "RequestCount",
        "HTTPCode_Target_2XX_Count",
        "HTTPCode_Target_3XX_Count",
        "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count",
        "HTTPCode_ELB_5XX_Count",
        "HTTPCode_ELB_502_Count",
        "HTTPCode_ELB_503_Count",
        "HTTPCode_ELB_504_Count",
        "TargetConnectionErrorCount",
    )
    _TARGET_SLOT = {2: 1, 3: 2, 4: 3, 5: 4}
    _ELB_SLOT = {502: 6, 503: 7, 504: 8}

    def __init__(self, lb_dimension: str, keep: int = 100_000) -> None:
        self.lb_dimension = lb_dimension
        self.ring: deque[tuple[float, str | None, int, float, bool, str | None]] = deque(maxlen=keep)
        self._counts: dict[str, list[int]] = {}
        self._times: dict[str, list[float]] = {}
        # (target group, target or None, status // 100, ELB-generated) -> requests since start
        self.totals: dict[tuple[str, str | None, int, bool], int] = {}
        self.latency: dict[str, LatencyHistogram] = {}  # target group -> TargetResponseTime

    def record(
        self, when: float, tg: str, target_id: str | None, status: int, latency: float, elb: bool, error: str | None
    ) -> None:
        self.ring.append((when, target_id, status, latency, elb, error))
        key = (tg, target_id, status // 100, elb)
        self.totals[key] = self.totals.get(key, 0) + 1
        counts = self._counts.get(tg)
        if counts is None:
            counts = self._counts[tg] = [0] * len(self._COUNTERS)
        if target_id is not None:
            counts[0] += 1
        if elb:
            counts[5] += 1
            slot = self._ELB_SLOT.get(status)
            if slot is not None:
                counts[slot] += 1
            if error in (CONNECT_ERROR, CONNECT_TIMEOUT_KIND):
                counts[9] += 1
        else:
            slot = self._TARGET_SLOT.get(status // 100)
            if slot is not None:
                counts[slot] += 1
            times = self._times.get(tg)
            if times is None:
                times = self._times[tg] = []
            times.append(latency)

    def recent(self, since: float = 0.0) -> list[dict[str, Any]]:
        return [
            {
                "time": t,
                "target": target,
                "status": status,
                "latency": latency,
                "source": "elb" if elb else "target",
                "error": error,
            }
            for t, target, status, latency, elb, error in self.ring
            if t > since
        ]

    def flush(self, sink: MetricSink, timestamp: float) -> dict[str, int]:
        """Push the last second's aggregates: LB-wide and LB+TG, counts only when non-zero.
        Returns the requests routed to each target group's targets (by its dimension), which the
        backend, knowing how many targets are healthy, turns into RequestCountPerTarget."""
        counts, times = self._counts, self._times
        self._counts, self._times = {}, {}
        lb = {"LoadBalancer": self.lb_dimension}
        totals = [0] * len(self._COUNTERS)
        all_times: list[float] = []
        for tg, row in counts.items():
            dims = {"LoadBalancer": self.lb_dimension, "TargetGroup": tg} if tg else None
            for i, value in enumerate(row):
                totals[i] += value
                if value and dims and not self._COUNTERS[i].startswith("HTTPCode_ELB"):
                    sink.put_metric("AWS/ApplicationELB", self._COUNTERS[i], dims, [float(value)], "Count", timestamp)
            if tg in times:
                all_times.extend(times[tg])
                histogram = self.latency.get(tg)
                if histogram is None:
                    histogram = self.latency[tg] = LatencyHistogram()
                histogram.observe_all(times[tg])
                if dims:
                    sink.put_metric("AWS/ApplicationELB", "TargetResponseTime", dims, times[tg], "Seconds", timestamp)
        for i, value in enumerate(totals):
            if value:
                sink.put_metric("AWS/ApplicationELB", self._COUNTERS[i], lb, [float(value)], "Count", timestamp)
        if all_times:
            sink.put_metric("AWS/ApplicationELB", "TargetResponseTime", lb, all_times, "Seconds", timestamp)
        return {tg: row[0] for tg, row in counts.items() if tg and row[0]}
