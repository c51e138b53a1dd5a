"""ALB families: requests by target group, target and status class; response-time histograms;
target health and in-flight requests. Read from `lab.elbv2` at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from chaoslab.net import healthcheck as hc

HEALTH_STATES = (hc.INITIAL, hc.HEALTHY, hc.UNHEALTHY, hc.DRAINING, hc.UNUSED)


def families(elbv2: Any) -> Iterator[Metric]:
    groups = list(elbv2.target_groups.values())
    names = {tg.pool.dimension: tg.name for tg in groups}
    requests = CounterMetricFamily(
        "chaoslab_alb_requests",
        "Requests the ALB answered, by target group, target (empty when none was chosen), "
        "status class and who generated the response (target or elb).",
        labels=["load_balancer", "target_group", "target", "code_class", "source"],
    )
    latency = HistogramMetricFamily(
        "chaoslab_alb_target_response_seconds",
        "TargetResponseTime: seconds from sending a request to a target to its response headers "
        "(target-generated responses; folded in once a second).",
        labels=["load_balancer", "target_group"],
    )
    for lb in list(elbv2.load_balancers.values()):
        stats = lb.stats
        for (tg, target, klass, elb), count in list(stats.totals.items()):
            source = "elb" if elb else "target"
            requests.add_metric([lb.name, names.get(tg, tg), target or "", f"{klass}xx", source], count)
        for tg, histogram in list(stats.latency.items()):
            latency.add_metric([lb.name, names.get(tg, tg)], histogram.cumulative(), histogram.sum)
    yield requests
    yield latency
    yield from _targets(groups)


def _targets(groups: list[Any]) -> Iterator[Metric]:
    health = GaugeMetricFamily(
        "chaoslab_alb_target_health",
        "1 for the target's current health state, 0 for the others (DescribeTargetHealth).",
        labels=["target_group", "target", "port", "az", "state"],
    )
    inflight = GaugeMetricFamily(
        "chaoslab_alb_target_inflight_requests",
        "Requests forwarded to the target and not yet answered.",
        labels=["target_group", "target", "port"],
    )
    for tg in groups:
        for reg in list(tg.targets.values()):
            port = str(reg.port)
            for state in HEALTH_STATES:
                health.add_metric(
                    [tg.name, reg.target_id, port, reg.az or reg.zone or "", state],
                    1.0 if reg.health.state == state else 0.0,
                )
            inflight.add_metric([tg.name, reg.target_id, port], reg.upstream.inflight)
    yield health
    yield inflight
