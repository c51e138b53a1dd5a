"""The RDS API through the real gateway with boto3: the default stack's cluster, describe shapes,
failover and reboot as FIS calls them, error codes, tags, metrics into the real CloudWatch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pg8000.native
import psutil
import pytest
from botocore.config import Config
from rds_helpers import assert_no_postgres_left

from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.rds.backend import RdsBackend
from chaoslab.services.rds.postgres import pg_root
from chaoslab.store import Store

CLUSTER = "chaos-lab-aurora"


class LabThread:
    """A lab (RDS + CloudWatch + gateway) on its own event-loop thread, as boto3 needs."""

    def __init__(self, home: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        lab = SimpleNamespace(
            clock=LabClock(),
            config=LabConfig(home=home, api_port=0),
            events=EventLog(),
            store=Store(home / "state.db"),
            run_id="test-run",
        )
        lab.cloudwatch = CloudWatchBackend(lab)
        lab.rds = RdsBackend(lab)
        self.lab = lab
        self.gateway = Gateway(lab)
        self.run(lab.rds.start())
        self.run(self.gateway.start())

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.lab.rds.stop())
        self.run(self.gateway.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.lab.store.close()


@pytest.fixture
def lab_thread(state_dir: Path) -> Iterator[LabThread]:
    lt = LabThread(state_dir)
    try:
        yield lt
    finally:
        lt.close()
    assert_no_postgres_left(pg_root(state_dir))
    assert not pg_root(state_dir).exists()


@pytest.fixture
def rds(lab_thread: LabThread) -> Any:
    return boto3.session.Session().client(
        "rds",
        endpoint_url=lab_thread.gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _default_stack(rds: Any) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        MasterUsername="shop",
        MasterUserPassword="chaos-lab-pw",
        DatabaseName="shop",
        AvailabilityZones=["us-east-1a", "us-east-1b"],
        Tags=[{"Key": "app", "Value": "shop"}],
    )
    for name, az in (("chaos-lab-aurora-1", "us-east-1a"), ("chaos-lab-aurora-2", "us-east-1b")):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier=CLUSTER,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            AvailabilityZone=az,
        )


def _writer(rds: Any) -> str:
    members = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["DBClusterMembers"]
    return next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"])


def test_default_stack_describe_failover_reboot(lab_thread: LabThread, rds: Any) -> None:
    _default_stack(rds)
    cluster = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    assert cluster["DBClusterArn"] == f"arn:aws:rds:us-east-1:123456789012:cluster:{CLUSTER}"
    assert cluster["Status"] == "available" and cluster["Engine"] == "aurora-postgresql"
    assert cluster["Port"] == 5432 and cluster["AvailabilityZones"] == ["us-east-1a", "us-east-1b"]
    assert cluster["Endpoint"].startswith(f"{CLUSTER}.cluster-") and ".cluster-ro-" in cluster["ReaderEndpoint"]
    assert [
        (m["DBInstanceIdentifier"], m["IsClusterWriter"], m["PromotionTier"]) for m in cluster["DBClusterMembers"]
    ] == [("chaos-lab-aurora-1", True, 1), ("chaos-lab-aurora-2", False, 1)]
    assert cluster["TagList"] == [{"Key": "app", "Value": "shop"}]
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [CLUSTER]}])["DBInstances"]
    assert [(i["DBInstanceIdentifier"], i["AvailabilityZone"], i["DBInstanceStatus"]) for i in instances] == [
        ("chaos-lab-aurora-1", "us-east-1a", "available"),
        ("chaos-lab-aurora-2", "us-east-1b", "available"),
    ]
    assert instances[0]["DBInstanceArn"] == "arn:aws:rds:us-east-1:123456789012:db:chaos-lab-aurora-1"
    assert instances[0]["Endpoint"]["Port"] == 5432

    model = lab_thread.lab.rds.clusters[CLUSTER]
    conn = pg8000.native.Connection(
        "shop", password="chaos-lab-pw", host=model.endpoint_ip, port=model.endpoint_port, database="shop", timeout=5
    )
    conn.run("CREATE TABLE orders (id serial PRIMARY KEY)")
    conn.run("INSERT INTO orders DEFAULT VALUES")

    # metrics: the held connection shows up as a WRITER connection in the real CloudWatch store
    cw = lab_thread.lab.cloudwatch

    def writer_connections() -> float:
        rows = cw.statistics(
            "AWS/RDS",
            "DatabaseConnections",
            {"DBClusterIdentifier": CLUSTER, "Role": "WRITER"},
            time.time() - 30,
            time.time() + 1,
            1,
        )
        return max((agg.maximum for _, agg in rows), default=0.0)

    _until(lambda: writer_connections() >= 1)
    # one sampling pass puts the writer's series before the reader's, from the lab's own thread
    _until(
        lambda: cw.series_for("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "chaos-lab-aurora-2"}) is not None
    )

    answer = rds.failover_db_cluster(DBClusterIdentifier=CLUSTER)["DBCluster"]
    assert answer["Status"] == "failing-over"
    with pytest.raises(rds.exceptions.InvalidDBClusterStateFault):
        rds.failover_db_cluster(DBClusterIdentifier=CLUSTER)
    _until(lambda: rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["Status"] == "available")
    assert _writer(rds) == "chaos-lab-aurora-2"
    with pytest.raises((pg8000.exceptions.InterfaceError, pg8000.exceptions.DatabaseError, OSError)):
        conn.run("SELECT 1")  # the failover dropped it
    conn = pg8000.native.Connection(
        "shop", password="chaos-lab-pw", host=model.endpoint_ip, port=model.endpoint_port, database="shop", timeout=5
    )
    assert conn.run("SELECT count(*) FROM orders") == [[1]]
    conn.run("INSERT INTO orders DEFAULT VALUES")
    conn.close()
    [event] = lab_thread.lab.events.since(kinds={"db.failover"})
    assert event["new_writer"] == "chaos-lab-aurora-2" and event["write_unavailable_s"] < 10

    answer = rds.reboot_db_instance(DBInstanceIdentifier="chaos-lab-aurora-2", ForceFailover=True)["DBInstance"]
    assert answer["DBInstanceStatus"] == "rebooting"
    lab_thread.run(lab_thread.lab.rds.settle())
    assert _writer(rds) == "chaos-lab-aurora-1"
    rds.reboot_db_instance(DBInstanceIdentifier="chaos-lab-aurora-2")
    lab_thread.run(lab_thread.lab.rds.settle())
    assert {i["DBInstanceStatus"] for i in rds.describe_db_instances()["DBInstances"]} == {"available"}

    with pytest.raises(rds.exceptions.InvalidDBClusterStateFault):
        rds.delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)
    rds.delete_db_instance(DBInstanceIdentifier="chaos-lab-aurora-1", SkipFinalSnapshot=True)
    assert _writer(rds) == "chaos-lab-aurora-2"
    rds.delete_db_instance(DBInstanceIdentifier="chaos-lab-aurora-2", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier=CLUSTER, SkipFinalSnapshot=True)
    assert rds.describe_db_clusters()["DBClusters"] == []


def test_errors_and_tags(lab_thread: LabThread, rds: Any) -> None:
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier="nope")
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.reboot_db_instance(DBInstanceIdentifier="nope")
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.failover_db_cluster(DBClusterIdentifier="nope")
    rds.create_db_cluster(
        DBClusterIdentifier="solo", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="password1"
    )
    with pytest.raises(rds.exceptions.DBClusterAlreadyExistsFault):
        rds.create_db_cluster(
            DBClusterIdentifier="solo", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="password1"
        )
    rds.create_db_instance(
        DBInstanceIdentifier="solo-1",
        DBClusterIdentifier="solo",
        Engine="aurora-postgresql",
        DBInstanceClass="db.t4g.medium",
    )
    with pytest.raises(rds.exceptions.InvalidDBClusterStateFault):
        rds.failover_db_cluster(DBClusterIdentifier="solo")  # no reader to fail over to
    arn = rds.describe_db_instances(DBInstanceIdentifier="solo-1")["DBInstances"][0]["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "sre"}])
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "team", "Value": "sre"}]
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.list_tags_for_resource(ResourceName="arn:aws:rds:us-east-1:123456789012:cluster:nope")
    rds.delete_db_instance(DBInstanceIdentifier="solo-1", SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="solo", SkipFinalSnapshot=True)


def _listening_ports() -> set[int]:
    return {c.laddr.port for c in psutil.Process().net_connections("tcp") if c.status == psutil.CONN_LISTEN}


def test_concurrent_creates_of_one_name_start_one_cluster(lab_thread: LabThread) -> None:
    before = _listening_ports()
    backend = lab_thread.lab.rds

    async def create() -> Any:
        return await backend.create_db_cluster(
            DBClusterIdentifier="twice", Engine="aurora-postgresql", MasterUsername="u", MasterUserPassword="password1"
        )

    async def both() -> list[Any]:
        return await asyncio.gather(create(), create(), return_exceptions=True)

    results = lab_thread.run(both())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and getattr(errors[0], "code", None) == "DBClusterAlreadyExistsFault", results
    lab_thread.run(backend.delete_db_cluster(DBClusterIdentifier="twice"))
    assert _listening_ports() == before  # no endpoint of a second, forgotten runtime is left open
