import math
import random

import pytest

from chaoslab.services.cloudwatch.metrics import MetricStore
from chaoslab.services.cloudwatch.statistics import Aggregate, is_valid_statistic, percentile_of


def brute_percentile(values: list[float], p: float) -> float:
    """Nearest rank by definition: smallest v with #(x <= v) >= p% of n."""
    n = len(values)
    for v in sorted(values):
        if sum(1 for x in values if x <= v) >= p / 100.0 * n:
            return v
    raise AssertionError


@pytest.mark.parametrize("seed", range(20))
def test_percentiles_match_brute_force(seed):
    rng = random.Random(seed)
    values = [round(rng.expovariate(1 / 50), 3) for _ in range(rng.randint(1, 400))]
    agg = Aggregate()
    for i in range(0, len(values), 37):  # arrives in batches, like the ALB's per-second puts
        agg.add_values(values[i : i + 37])
    for p in (0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0):
        assert agg.statistic(f"p{p:g}") == brute_percentile(values, p)


def test_values_with_counts_weight_percentiles_and_sums():
    agg = Aggregate()
    agg.add_values([1.0, 100.0], [99.0, 1.0])
    assert agg.statistic("SampleCount") == 100.0
    assert agg.statistic("Sum") == 199.0
    assert agg.statistic("p99") == 1.0
    assert agg.statistic("p100") == 100.0
    agg.add_values([5.0])
    assert agg.statistic("SampleCount") == 101.0


def test_statistic_values_disable_percentiles():
    agg = Aggregate()
    agg.add_values([1.0, 2.0])
    agg.add_summary(2.0, 10.0, 0.5, 9.5)
    assert agg.statistic("Average") == 13.0 / 4
    assert agg.statistic("Minimum") == 0.5 and agg.statistic("Maximum") == 9.5
    assert agg.statistic("p50") is None


def test_statistic_names():
    assert percentile_of("p99.9") == 99.9 and percentile_of("p50") == 50.0
    assert percentile_of("p101") is None and percentile_of("tm90") is None
    assert is_valid_statistic("Sum") and not is_valid_statistic("sum")


def test_store_periods_align_and_split_by_unit():
    store = MetricStore(clock=lambda: 1000.0)
    dims = {"LoadBalancer": "app/web/1"}
    for ts, v in [(60.5, 1.0), (61.2, 3.0), (119.9, 5.0), (120.0, 7.0)]:
        store.put("AWS/ApplicationELB", "TargetResponseTime", dims, [v], "Seconds", ts)
    store.put("AWS/ApplicationELB", "TargetResponseTime", dims, [100.0], "Milliseconds", 61.0)
    s = store.find("AWS/ApplicationELB", "TargetResponseTime", dims)
    rows = store.periods(s, 65, 180, 60, unit="Seconds")
    assert [t for t, _ in rows] == [60.0, 120.0]
    assert rows[0][1].statistic("Sum") == 9.0 and rows[1][1].statistic("Sum") == 7.0
    assert store.periods(s, 60, 120, 60)[0][1].statistic("SampleCount") == 4.0
    assert store.periods(s, 0, 2, 1)[0][1].statistic("Sum") is None


def test_standard_resolution_lands_on_the_minute():
    store = MetricStore(clock=lambda: 1000.0)
    store.put("N", "m", {}, [2.0], "Count", 125.0, storage_resolution=60)
    s = store.find("N", "m", {})
    assert store.periods(s, 120, 121, 1)[0][1].statistic("Sum") == 2.0


def test_retention_drops_old_data():
    now = [10_000.0]
    store = MetricStore(retention=100, clock=lambda: now[0])
    store.put("N", "old", {}, [1.0], "Count", 9_990.0)
    now[0] = 10_200.0
    store.put("N", "new", {}, [1.0], "Count")
    names = {s.name for s in store.all_series()}
    assert names == {"new"}
    assert math.isclose(store.periods(store.find("N", "new", {}), 10_200, 10_201, 1)[0][1].total, 1.0)
