"""How fast is the metric store and how cheap is an alarm evaluation round?

Run: .venv/bin/python benchmarks/cloudwatch_bench.py
Prints a small table: ingestion (raw values/s through put_metric, the producers' path, in
ALB-like per-second batches), statistics queries, and one evaluation round of 100 alarms over
an hour of 1-second data.
"""

from __future__ import annotations

import random
import time
import types

from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend

NS = "AWS/ApplicationELB"


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    lab = types.SimpleNamespace(config=LabConfig(), events=EventLog())
    now = time.time()
    cw = CloudWatchBackend(lab, clock=lambda: now)
    rng = random.Random(1)
    tgs = [{"LoadBalancer": "app/web/1", "TargetGroup": f"targetgroup/tg{i}/{i:012d}"} for i in range(10)]
    seconds = 3600
    batch = [rng.expovariate(20) for _ in range(50)]

    def ingest() -> None:
        for s in range(seconds):
            ts = now - seconds + s
            for dims in tgs:
                cw.put_metric(NS, "TargetResponseTime", dims, batch, "Seconds", ts)
                cw.put_metric(NS, "HTTPCode_Target_5XX_Count", dims, [1.0], "Count", ts)

    t_ingest = timed(ingest)
    calls = seconds * len(tgs) * 2
    values = seconds * len(tgs) * (len(batch) + 1)

    for i in range(100):
        dims = tgs[i % len(tgs)]
        cw.put_metric_alarm(
            {
                "AlarmName": f"a{i}",
                "Namespace": NS,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "MetricName": "TargetResponseTime" if i % 2 else "HTTPCode_Target_5XX_Count",
                **({"ExtendedStatistic": "p99"} if i % 2 else {"Statistic": "Sum"}),
                "Period": [1, 10, 60][i % 3],
                "EvaluationPeriods": 3,
                "DatapointsToAlarm": 2,
                "Threshold": 5.0,
                "ComparisonOperator": "GreaterThanThreshold",
            }
        )
    alarms = list(cw.alarms.values())
    t_round = timed(lambda: [cw.evaluate_alarm(a, now) for a in alarms], repeat=20)
    s = cw.metrics.find(NS, "TargetResponseTime", tgs[0])
    t_query = timed(lambda: [agg.statistic("p99") for _, agg in cw.metrics.periods(s, now - 3600, now, 60)], repeat=5)

    rows = [
        ("put_metric calls/s", f"{calls / t_ingest:,.0f}"),
        ("raw values ingested/s", f"{values / t_ingest:,.0f}"),
        ("evaluate 100 alarms (one round)", f"{t_round * 1000:.2f} ms"),
        ("p99 per minute over 1 h (60 points, 180k values)", f"{t_query * 1000:.1f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  -----")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
