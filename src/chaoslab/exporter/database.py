"""Database families: each instance's role and status, and each reader's replication lag as
its writer reports it (sampled by the scrape before collection, since that is a SQL query)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric

Lags = dict[str, tuple[float, float | None]]


def families(rds: Any, lags: Lags) -> Iterator[Metric]:
    roles = GaugeMetricFamily(
        "chaoslab_db_instance_role",
        "1 per DB instance, labelled writer or reader (DescribeDBClusters' IsClusterWriter).",
        labels=["cluster", "instance", "role"],
    )
    status = GaugeMetricFamily(
        "chaoslab_db_instance_status",
        "1 per DB instance, labelled with its DBInstanceStatus.",
        labels=["cluster", "instance", "status"],
    )
    lag_bytes = GaugeMetricFamily(
        "chaoslab_db_replication_lag_bytes",
        "WAL bytes a streaming reader has yet to replay (absent while it is not streaming).",
        labels=["cluster", "instance"],
    )
    lag_seconds = GaugeMetricFamily(
        "chaoslab_db_replication_lag_seconds",
        "Replay lag PostgreSQL last measured for a streaming reader (absent when idle and caught up).",
        labels=["cluster", "instance"],
    )
    streaming = GaugeMetricFamily(
        "chaoslab_db_reader_streaming",
        "1 while a reader streams WAL from its cluster's writer, else 0.",
        labels=["cluster", "instance"],
    )
    for cluster in rds.describe_db_clusters()["DBClusters"]:
        name = cluster["DBClusterIdentifier"]
        for member in cluster.get("DBClusterMembers", []):
            instance = member["DBInstanceIdentifier"]
            writer = bool(member.get("IsClusterWriter"))
            roles.add_metric([name, instance, "writer" if writer else "reader"], 1.0)
            if writer:
                continue
            streaming.add_metric([name, instance], 1.0 if instance in lags else 0.0)
            if instance in lags:
                behind, seconds = lags[instance]
                lag_bytes.add_metric([name, instance], behind)
                if seconds is not None:
                    lag_seconds.add_metric([name, instance], seconds)
    for instance in rds.describe_db_instances()["DBInstances"]:
        status.add_metric(
            [instance.get("DBClusterIdentifier", ""), instance["DBInstanceIdentifier"], instance["DBInstanceStatus"]],
            1.0,
        )
    yield from (roles, status, lag_bytes, lag_seconds, streaming)
