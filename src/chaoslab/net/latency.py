"""A cumulative latency histogram with fixed buckets, filled in batches.

The ALB feeds it once a second with the response times it already keeps for CloudWatch, so
the proxy's per-request path pays nothing for it; a Prometheus scrape reads it as is.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

# Upper bounds in seconds (le), from a fast in-lab reply to the ALB's own connect timeout.
BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    """Counts per bucket (not cumulative; the last slot is +Inf), their sum and count."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def observe_all(self, values: Iterable[float]) -> None:
        counts = self.counts
        total = 0.0
        for value in values:
            counts[bisect_left(BUCKETS, value)] += 1
            total += value
        self.sum += total

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, observations at or below it) for every bucket, +Inf last: Prometheus's shape."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip((*map(repr, BUCKETS), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, running))
        return out
