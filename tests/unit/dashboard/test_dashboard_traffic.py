"""Per-second bucketing of ALB request records for the dashboard's sparklines."""

from __future__ import annotations

from chaoslab.dashboard.traffic import per_second


def rec(t: float, status: int = 200, source: str = "target", latency: float = 0.01, lb: str = "alb") -> dict:
    return {"time": t, "status": status, "source": source, "latency": latency, "load_balancer": lb}


def test_buckets_whole_seconds_and_leaves_out_the_current_one() -> None:
    now = 1000.7
    records = [rec(999.1), rec(999.9), rec(998.5), rec(1000.2), rec(900.0)]
    out = per_second(records, now, window=10, load_balancers=["alb"])
    (lb,) = out["load_balancers"]
    assert (out["start"], out["end"]) == (990, 1000)
    assert lb["requests"][-1] == 2 and lb["requests"][-2] == 1 and sum(lb["requests"]) == 3
    assert lb["rps_10s"] == 0.3


def test_errors_elb_errors_rate_and_median_latency() -> None:
    records = [
        rec(5.5, latency=0.010),
        rec(5.6, latency=0.030),
        rec(5.7, latency=0.020),
        rec(5.8, status=503, source="elb", latency=0.0),
        rec(5.9, status=500, latency=0.5),
    ]
    (lb,) = per_second(records, 6.0, window=10)["load_balancers"]
    assert lb["errors"][-1] == 2 and lb["elb_errors"][-1] == 1
    assert lb["p50_ms"][-1] == 25.0  # target-generated only: 10, 20, 30, 500 ms
    assert lb["p50_ms"][0] is None
    assert lb["error_rate_10s"] == 0.4


def test_every_named_load_balancer_has_a_series_even_when_idle() -> None:
    out = per_second([rec(5.2, lb="b")], 6.0, window=10, load_balancers=["a"])
    assert [lb["name"] for lb in out["load_balancers"]] == ["a", "b"]
    idle = out["load_balancers"][0]
    assert idle["requests"] == [0] * 10 and idle["error_rate_10s"] == 0.0 and idle["p50_ms"] == [None] * 10
