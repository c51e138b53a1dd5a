"""The metric store: raw datapoints per metric, bucketed by second, kept for a bounded time.

A metric is (namespace, name, dimensions). Each metric keeps one bucket per storage slot
(1 s for high-resolution data, 60 s for standard resolution) and per unit, holding the raw
sample values, so any statistic — percentiles included — is exact over any period.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from chaoslab.services.cloudwatch.statistics import Aggregate

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]
DEFAULT_RETENTION = 3 * 3600.0


def metric_key(namespace: str, name: str, dimensions: dict[str, str]) -> MetricKey:
    return (namespace, name, frozenset(dimensions.items()))


@dataclass
class Series:
    """One metric's buckets: unit -> slot start (epoch second) -> samples."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    buckets: dict[str, dict[int, Aggregate]] = field(default_factory=dict)
    last_put: float = 0.0

    def bucket(self, unit: str, slot: int) -> Aggregate:
        by_slot = self.buckets.setdefault(unit, {})
        agg = by_slot.get(slot)
        if agg is None:
            agg = by_slot[slot] = Aggregate()
        return agg

    def window(self, start: float, end: float, unit: str | None = None, raw: bool = True) -> Aggregate:
        """All samples with start <= timestamp < end (optionally of one unit only); raw=False
        skips copying raw values when no percentile is wanted."""
        out = Aggregate()
        lo, hi = math.ceil(start), math.ceil(end)
        for u, by_slot in self.buckets.items():
            if unit is not None and u != unit:
                continue
            if hi - lo <= len(by_slot):
                for slot in range(lo, hi):
                    agg = by_slot.get(slot)
                    if agg is not None:
                        out.merge(agg, raw)
            else:
                for slot, agg in by_slot.items():
                    if lo <= slot < hi:
                        out.merge(agg, raw)
        return out

    def prune(self, before: int) -> None:
        for by_slot in self.buckets.values():
            for slot in [s for s in by_slot if s < before]:
                del by_slot[slot]


class MetricStore:
    """Every metric the lab has seen, with retention bounded to `retention` seconds."""

    def __init__(self, retention: float = DEFAULT_RETENTION, clock=time.time) -> None:
        self.retention = retention
        self._clock = clock
        self._series: dict[MetricKey, Series] = {}
        self._next_prune = 0.0

    def series(self, namespace: str, name: str, dimensions: dict[str, str]) -> Series:
        key = metric_key(namespace, name, dimensions)
        s = self._series.get(key)
        if s is None:
            s = self._series[key] = Series(namespace, name, dict(dimensions))
        return s

    def find(self, namespace: str, name: str, dimensions: dict[str, str]) -> Series | None:
        return self._series.get(metric_key(namespace, name, dimensions))

    def put(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        values: list[float],
        unit: str = "None",
        timestamp: float | None = None,
        storage_resolution: int = 1,
        counts: list[float] | None = None,
    ) -> None:
        """Record raw samples (optionally weighted by `counts`) at `timestamp` (default now)."""
        now = self._clock()
        ts = now if timestamp is None else timestamp
        slot = int(ts // 60 * 60) if storage_resolution >= 60 else int(ts)
        s = self.series(namespace, name, dimensions)
        s.bucket(unit or "None", slot).add_values(list(values), counts)
        s.last_put = now
        self._maybe_prune(now)

    def put_statistics(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        sample_count: float,
        total: float,
        minimum: float,
        maximum: float,
        unit: str = "None",
        timestamp: float | None = None,
        storage_resolution: int = 1,
    ) -> None:
        """Record a pre-aggregated StatisticValues set (percentiles become unavailable)."""
        now = self._clock()
        ts = now if timestamp is None else timestamp
        slot = int(ts // 60 * 60) if storage_resolution >= 60 else int(ts)
        s = self.series(namespace, name, dimensions)
        s.bucket(unit or "None", slot).add_summary(sample_count, total, minimum, maximum)
        s.last_put = now
        self._maybe_prune(now)

    def _maybe_prune(self, now: float) -> None:
        """Drop expired buckets at most once a minute, so ingestion stays O(1) amortised."""
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        cutoff = int(now - self.retention)
        for key in list(self._series):
            s = self._series[key]
            s.prune(cutoff)
            if all(not b for b in s.buckets.values()) and s.last_put < cutoff:
                del self._series[key]

    def all_series(self) -> Iterator[Series]:
        return iter(list(self._series.values()))

    def periods(
        self,
        series: Series | None,
        start: float,
        end: float,
        period: int,
        unit: str | None = None,
        raw: bool = True,
    ) -> list[tuple[float, Aggregate]]:
        """(period start, samples) for each period aligned to `period` that overlaps [start, end)."""
        first = math.floor(start / period) * period
        out: list[tuple[float, Aggregate]] = []
        t = first
        while t < end:
            agg = series.window(t, t + period, unit, raw) if series is not None else Aggregate()
            out.append((float(t), agg))
            t += period
        return out
