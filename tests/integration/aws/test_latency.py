"""How long a trivial boto3 call takes through the gateway (SigV4 verify + model parse + serialise)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from conftest import make_client, serve


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


@pytest.mark.slow
def test_trivial_call_latency(lab: Any, record_property: Any) -> None:
    ops = {"ecs": {"ListClusters": lambda ctx, params: {"clusterArns": []}}}
    with serve(lab, ops) as gw:
        ecs = make_client(gw, "ecs")
        for _ in range(50):
            ecs.list_clusters()
        samples = []
        for _ in range(2000):
            start = time.perf_counter()
            ecs.list_clusters()
            samples.append((time.perf_counter() - start) * 1000)
    p50, p99 = percentiles(samples)
    record_property("p50_ms", round(p50, 2))
    record_property("p99_ms", round(p99, 2))
    print(f"ListClusters through the gateway: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert p50 < 20 and p99 < 100
