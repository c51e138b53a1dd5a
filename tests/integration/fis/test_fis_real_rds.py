"""FIS RDS actions against the real RDS backend: a PostgreSQL writer + reader cluster fails over
and reboots because an experiment said so, under the experiment role's real IAM policy — and
under the `aws` timing profile at time scale 20, as long as AWS's own (docs/timing.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.fis.backend import FisBackend
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.logs.backend import LogsBackend
from chaoslab.services.rds.backend import RdsBackend
from chaoslab.store import Store
from chaoslab.timing import AWS

CLUSTER = "chaos-lab-aurora"
SCALE = 20
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def policy(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


def template(role: str) -> dict[str, Any]:
    return {
        "description": "fail the Aurora-like cluster over, then reboot the instance in us-east-1a",
        "roleArn": role,
        "stopConditions": [{"source": "none"}],
        "targets": {
            "Db": {"resourceType": "aws:rds:cluster", "selectionMode": "ALL", "resourceTags": {"app": "shop"}},
            "OldWriterAz": {
                "resourceType": "aws:rds:db",
                "selectionMode": "ALL",
                "parameters": {"availabilityZoneIdentifiers": "us-east-1a"},
            },
        },
        "actions": {
            "Failover": {"actionId": "aws:rds:failover-db-cluster", "targets": {"Clusters": "Db"}},
            "Settle": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT5M"}, "startAfter": ["Failover"]},
            "Reboot": {
                "actionId": "aws:rds:reboot-db-instances",
                "targets": {"DBInstances": "OldWriterAz"},
                "startAfter": ["Settle"],
            },
        },
    }


def writer(lab: Any) -> str:
    members = lab.rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["DBClusterMembers"]
    return next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"])


async def scenario(home: Path) -> dict[str, Any]:
    config = LabConfig(home=home, api_port=0)
    config.timing.arm()  # the `aws` profile, as a lab that is ready has it
    lab = SimpleNamespace(
        clock=LabClock(SCALE),
        config=config,
        events=EventLog(),
        store=Store(home / "s.db"),
        run_id="fis-test",
    )
    lab.iam, lab.cloudwatch, lab.logs, lab.rds = (
        IamBackend(lab),
        CloudWatchBackend(lab),
        LogsBackend(lab),
        RdsBackend(lab),
    )
    lab.fis = FisBackend(lab, time_scale=0.01, stop_condition_interval=0.05)
    await lab.rds.start()
    try:
        await lab.rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER,
            Engine="aurora-postgresql",
            MasterUsername="shop",
            MasterUserPassword="chaos-lab-pw",
            DatabaseName="shop",
            AvailabilityZones=["us-east-1a", "us-east-1b"],
            Tags=[{"Key": "app", "Value": "shop"}],
        )
        for name, az in (("chaos-lab-aurora-1", "us-east-1a"), ("chaos-lab-aurora-2", "us-east-1b")):
            await lab.rds.create_db_instance(
                DBInstanceIdentifier=name, DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", AvailabilityZone=az
            )
        await lab.rds.settle()
        before = writer(lab)

        lab.iam.create_role("weak", json.dumps(TRUST))
        lab.iam.put_role_policy("weak", "p", policy("rds:DescribeDBClusters"))
        weak = lab.fis.create_experiment_template(template(lab.iam.get_role("weak").arn))
        denied = await lab.fis.wait_experiment((await lab.fis.start_experiment(weak["id"]))["id"], 30)
        after_denied = writer(lab)

        lab.iam.create_role("fis", json.dumps(TRUST))
        lab.iam.put_role_policy("fis", "p", policy("rds:FailoverDBCluster", "rds:RebootDBInstance"))
        good = lab.fis.create_experiment_template(template(lab.iam.get_role("fis").arn))
        exp = await lab.fis.wait_experiment((await lab.fis.start_experiment(good["id"]))["id"], 60)
        await lab.rds.settle()
        resolved = lab.fis.list_experiment_resolved_targets(exp["id"], "OldWriterAz")[0]
        return {
            "before": before,
            "denied": denied,
            "after_denied": after_denied,
            "exp": exp,
            "after": writer(lab),
            "failovers": lab.events.since(kinds={"db.failover"}),
            "reboots": lab.events.since(kinds={"db.reboot"}),
            "resolved": resolved,
        }
    finally:
        await lab.rds.stop()
        lab.store.close()


def test_failover_and_reboot_through_fis(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    assert got["before"] == "chaos-lab-aurora-1"
    assert got["denied"]["state"]["error"]["code"] == "AuthorizationFailure"
    assert "rds:FailoverDBCluster" in got["denied"]["state"]["reason"]
    assert got["after_denied"] == "chaos-lab-aurora-1"
    exp = got["exp"]
    assert exp["state"]["status"] == "completed", exp["state"]
    assert [a["state"]["status"] for a in exp["actions"].values()] == ["completed"] * 3
    assert [r["targetInformation"]["arn"].rsplit(":", 1)[-1] for r in got["resolved"]] == ["chaos-lab-aurora-1"]
    assert got["after"] == "chaos-lab-aurora-2"
    assert [e["new_writer"] for e in got["failovers"]][:1] == ["chaos-lab-aurora-2"]
    # AWS's times, scaled: each drawn inside the profile's range, each real outage at least that long
    failover, reboot = got["failovers"][0], got["reboots"][0]
    for event, drawn, took, delay in (
        (failover, "drawn_write_unavailable_s", "write_unavailable_s", AWS["rds_failover_write_unavailable_s"]),
        (reboot, "drawn_unavailable_s", "unavailable_s", AWS["rds_reboot_s"]),
    ):
        assert delay.low <= event[drawn] <= delay.high
        assert event[took] * SCALE >= event[drawn] - 0.5
    leftovers = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and str(tmp_path) in " ".join(proc.info["cmdline"] or []):
                leftovers.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
    assert leftovers == []
