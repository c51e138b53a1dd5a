"""Per-second ALB metric aggregation: names, dimensions, and counts only when non-zero."""

from __future__ import annotations

from chaoslab.net.alb import TargetPool, Upstream, elb_response
from chaoslab.net.albstats import RequestStats


class Sink:
    def __init__(self) -> None:
        self.calls: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}

    def put_metric(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        values: list[float],
        unit: str,
        timestamp: float | None = None,
    ) -> None:
        assert namespace == "AWS/ApplicationELB"
        assert unit == ("Seconds" if name == "TargetResponseTime" else "Count")
        self.calls.setdefault((name, tuple(sorted(dimensions.items()))), []).extend(values)


LB = (("LoadBalancer", "app/web/abc"),)
LB_TG = (("LoadBalancer", "app/web/abc"), ("TargetGroup", "targetgroup/tg/def"))


def test_flush_aggregates_per_lb_and_per_target_group() -> None:
    stats = RequestStats("app/web/abc")
    tg = "targetgroup/tg/def"
    stats.record(1.0, tg, "10.0.0.1", 200, 0.010, False, None)
    stats.record(1.1, tg, "10.0.0.2", 404, 0.020, False, None)
    stats.record(1.2, tg, "10.0.0.2", 502, 0.001, True, "connect_error")
    stats.record(1.3, tg, None, 503, 0.0, True, "no_targets")
    sink = Sink()
    assert stats.flush(sink, 1.0) == {tg: 3}  # routed to targets: the backend's RequestCountPerTarget
    assert sink.calls[("RequestCount", LB)] == [3.0]
    assert sink.calls[("RequestCount", LB_TG)] == [3.0]
    assert sink.calls[("HTTPCode_Target_2XX_Count", LB_TG)] == [1.0]
    assert sink.calls[("HTTPCode_Target_4XX_Count", LB)] == [1.0]
    assert sink.calls[("HTTPCode_ELB_5XX_Count", LB)] == [2.0]
    assert sink.calls[("HTTPCode_ELB_502_Count", LB)] == [1.0]
    assert sink.calls[("HTTPCode_ELB_503_Count", LB)] == [1.0]
    assert ("HTTPCode_ELB_502_Count", LB_TG) not in sink.calls  # ELB codes are LB-wide only
    assert sink.calls[("TargetConnectionErrorCount", LB_TG)] == [1.0]
    assert sink.calls[("TargetResponseTime", LB)] == [0.010, 0.020]
    assert ("HTTPCode_Target_5XX_Count", LB) not in sink.calls  # zero counts are not emitted
    again = Sink()
    assert stats.flush(again, 2.0) == {}
    assert again.calls == {}
    assert [r["status"] for r in stats.recent(1.1)] == [502, 503]


def test_round_robin_and_fail_open_list_are_the_backends_choice() -> None:
    pool = TargetPool("targetgroup/tg/def")
    assert pool.pick() is None
    a, b = Upstream("a", "127.0.0.2", 80), Upstream("b", "127.0.0.3", 80)
    pool.set_routing([a, b])
    assert [pool.pick().target_id for _ in range(4)] == ["a", "b", "a", "b"]
    pool.algorithm = "least_outstanding_requests"
    a.inflight = 3
    assert pool.pick() is b


def test_elb_generated_response_looks_like_awselb() -> None:
    raw = elb_response(502)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert b"Server: awselb/2.0" in head
    assert b"Content-Length: %d" % len(body) in head
    assert b"<h1>502 Bad Gateway</h1>" in body


def test_running_totals_by_target_and_class_survive_flushes() -> None:
    stats = RequestStats("app/web/abc")
    tg = "targetgroup/tg/def"
    stats.record(1.0, tg, "i-1", 200, 0.004, False, None)
    stats.record(1.1, tg, "i-1", 204, 0.030, False, None)
    stats.record(1.2, tg, "i-2", 502, 0.001, True, "connect_error")
    stats.record(1.3, tg, None, 503, 0.0, True, "no_targets")
    assert stats.latency == {}  # response times are folded in by flush, off the request path
    stats.flush(Sink(), 1.0)
    stats.record(2.0, tg, "i-1", 200, 20.0, False, None)
    stats.flush(Sink(), 2.0)
    assert stats.totals == {(tg, "i-1", 2, False): 3, (tg, "i-2", 5, True): 1, (tg, None, 5, True): 1}
    histogram = stats.latency[tg]
    assert histogram.count == 3 and abs(histogram.sum - 20.034) < 1e-9
    buckets = dict(histogram.cumulative())
    assert buckets["0.005"] == 1 and buckets["0.05"] == 2 and buckets["10.0"] == 2 and buckets["+Inf"] == 3
