"""The metric availability delay (docs/timing.md): a datapoint is invisible to reads and alarm
evaluation until the timing profile's delay has passed — a service's (AWS/*, put by the lab's
producers) about a minute, a PutMetricData call's seconds — stamped when it was put; nothing is
held before the lab is ready, under `fast` or with the delay overridden to 0."""

import asyncio
import datetime as dt
import types

import pytest

from chaoslab.services.cloudwatch.api import OPERATIONS
from chaoslab.services.cloudwatch.arrivals import Arrivals
from chaoslab.timing import AWS, Timing

DIMS = {"LoadBalancer": "app/shop/1"}


def armed(profile: str = "aws", **overrides: float) -> Timing:
    timing = Timing(profile, dict(overrides))
    timing.arm()
    return timing


def sums(cw, start: float, end: float, period: int = 60) -> list[tuple[float, float]]:
    rows = cw.statistics("AWS/ApplicationELB", "RequestCount", DIMS, start, end, period)
    return [(t, agg.statistic("Sum")) for t, agg in rows]


def test_a_service_datapoint_arrives_after_its_drawn_delay_stamped_when_it_was_put(cw, lab, clock):
    lab.config.timing = armed()
    replay = armed()  # the same seed: the lab's first two draws
    delays = [replay.draw("cloudwatch_metric_delay_s") for _ in range(2)]
    put_at = clock.t
    cw.put_metric("AWS/ApplicationELB", "RequestCount", DIMS, [3.0], "Count")
    clock.t += 1
    cw.put_metric("AWS/ApplicationELB", "RequestCount", DIMS, [4.0], "Count")
    assert all(AWS["cloudwatch_metric_delay_s"].low <= d <= AWS["cloudwatch_metric_delay_s"].high for d in delays)
    window = (put_at - 120, put_at + 600)
    clock.t = put_at + min(delays[0], delays[1] + 1) - 0.01
    assert sums(cw, *window) == [] and cw.list_metrics("AWS/ApplicationELB") == []
    clock.t = put_at + max(delays[0], delays[1] + 1)
    assert sums(cw, *window) == [(put_at // 60 * 60, 7.0)]  # both in the minute they were put in
    assert len(cw.arrivals) == 0 and len(cw.list_metrics("AWS/ApplicationELB")) == 1


def test_put_metric_data_arrives_whole_after_one_draw_of_its_own_delay(cw, lab, clock):
    lab.cloudwatch, lab.config.timing = cw, armed()
    delay = armed().draw("cloudwatch_put_metric_data_delay_s")  # the lab's first draw, replayed
    params = {
        "Namespace": "Shop",
        "MetricData": [{"MetricName": "Orders", "Value": 1.0}, {"MetricName": "Refunds", "Value": 2.0}],
    }
    put_at = clock.t
    asyncio.run(OPERATIONS["PutMetricData"](types.SimpleNamespace(lab=lab), params))
    assert 1 <= delay <= 10 and len(cw.arrivals) == 2  # seconds, not a service's minute
    clock.t = put_at + delay - 0.01
    assert cw.list_metrics("Shop") == []
    clock.t = put_at + delay
    for name, value in (("Orders", 1.0), ("Refunds", 2.0)):
        ((stamp, agg),) = cw.statistics("Shop", name, {}, put_at - 60, put_at + 60, 60)
        assert stamp == put_at // 60 * 60 and agg.statistic("Sum") == value
    body = {**params, "MetricData": [{"MetricName": "Orders", "Value": 5.0, "Timestamp": dt.datetime.now(dt.UTC)}]}
    asyncio.run(OPERATIONS["PutMetricData"](types.SimpleNamespace(lab=lab), body))
    assert len(cw.arrivals) == 1  # a given Timestamp waits as well


@pytest.mark.parametrize(
    "timing",
    [Timing("aws"), armed("fast"), armed(cloudwatch_metric_delay_s=0, cloudwatch_put_metric_data_delay_s=0)],
    ids=["not-ready", "fast", "overridden-0"],
)
def test_nothing_waits_before_the_lab_is_ready_under_fast_or_overridden_to_zero(cw, lab, clock, timing):
    lab.cloudwatch, lab.config.timing = cw, timing
    cw.put_metric("AWS/ApplicationELB", "RequestCount", DIMS, [3.0], "Count")
    asyncio.run(
        OPERATIONS["PutMetricData"](
            types.SimpleNamespace(lab=lab),
            {"Namespace": "Shop", "MetricData": [{"MetricName": "Orders", "Value": 1.0}]},
        )
    )
    assert len(cw.arrivals) == 0
    assert sums(cw, clock.t - 60, clock.t + 60) == [(clock.t // 60 * 60, 3.0)]
    assert len(cw.list_metrics("Shop")) == 1


def test_an_override_is_the_delay_exactly(cw, lab, clock):
    lab.config.timing = armed(cloudwatch_metric_delay_s=45)
    put_at = clock.t
    cw.put_metric("AWS/ApplicationELB", "RequestCount", DIMS, [3.0], "Count")
    clock.t = put_at + 44.9
    assert sums(cw, put_at - 60, put_at + 60) == []
    clock.t = put_at + 45
    assert sums(cw, put_at - 60, put_at + 60) == [(put_at // 60 * 60, 3.0)]


@pytest.mark.parametrize(("delay", "first_alarm"), [(0, 10), (25, 30)])
def test_an_alarm_sees_a_breach_only_once_it_has_arrived(cw, lab, clock, delay, first_alarm):
    """10 s period, evaluated every 10 s: a breach put at once is seen by the evaluation at 10 s
    when nothing delays it; with a 25 s delay it has arrived only for the one at 30 s, whose range
    (three periods) still holds the breaching period."""
    lab.config.timing = armed(cloudwatch_metric_delay_s=delay)
    clock.t = (clock.t // 60 + 1) * 60  # a minute boundary: periods and cadence line up
    cw.put_metric_alarm(
        {
            "AlarmName": "5xx",
            "Namespace": "AWS/ApplicationELB",
            "MetricName": "HTTPCode_Target_5XX_Count",
            "Dimensions": [{"Name": k, "Value": v} for k, v in DIMS.items()],
            "Statistic": "Sum",
            "Period": 10,
            "EvaluationPeriods": 1,
            "Threshold": 5,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        }
    )
    start = clock.t
    cw.put_metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", DIMS, [1.0] * 6, "Count")
    states = {}
    for offset in (10, 20, 30):
        clock.t = start + offset
        cw.evaluate_due(clock.t)
        states[offset] = cw.get_alarm_state("5xx")
    assert [t for t, state in states.items() if state == "ALARM"][0] == first_alarm
    assert all(state == "OK" for t, state in states.items() if t < first_alarm)


def test_arrivals_release_in_arrival_order_and_only_what_has_arrived():
    arrivals, stored = Arrivals(), []
    arrivals.hold(5.0, lambda: stored.append("b"))
    arrivals.hold(2.0, lambda: stored.append("a"))
    arrivals.hold(5.0, lambda: stored.append("c"))
    assert arrivals.release(1.9) == 0 and stored == []
    assert arrivals.release(5.0) == 3 and stored == ["a", "b", "c"] and len(arrivals) == 0
