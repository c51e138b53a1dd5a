"""The ALB's cumulative latency histogram: Prometheus's `le` semantics (a value on a bound
counts in that bucket), cumulative counts, +Inf last."""

from __future__ import annotations

from chaoslab.net.latency import BUCKETS, LatencyHistogram


def test_bounds_are_inclusive_and_counts_cumulative() -> None:
    histogram = LatencyHistogram()
    histogram.observe_all([0.001, 0.0011, 0.1, 11.0])
    histogram.observe_all([0.0])
    buckets = histogram.cumulative()
    assert [le for le, _ in buckets] == [*map(repr, BUCKETS), "+Inf"]
    counts = dict(buckets)
    assert counts["0.001"] == 2  # 0.0 and 0.001 (on the bound)
    assert counts["0.0025"] == 3
    assert counts["0.1"] == 4
    assert counts["10.0"] == 4 and counts["+Inf"] == 5
    assert [c for _, c in buckets] == sorted(c for _, c in buckets)
    assert histogram.count == 5 and abs(histogram.sum - 11.1021) < 1e-9
