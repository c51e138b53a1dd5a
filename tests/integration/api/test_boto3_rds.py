"""RDS with unmodified boto3 against a real lab: an Aurora-like cluster of real PostgreSQL
servers is described, failed over (the writer really moves; the cluster endpoint follows it) and
rebooted, tags round-trip, and unknown resources raise RDS's modeled faults."""

from __future__ import annotations

import pg8000.native
import pytest
from api_lab import LabHandle, free_port, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = pytest.mark.timeout(180)

PASSWORD = "chaos-lab-secret"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "rdstest",
        {
            "database": {
                "cluster": "orders-db",
                "engine": "aurora-postgresql",
                "database": "orders",
                "username": "admin1",
                "password": PASSWORD,
                "port": free_port(),
                "instances": [{"id": "orders-db-1", "az": "us-east-1a"}, {"id": "orders-db-2", "az": "us-east-1b"}],
            }
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("rds"), doc)
    yield handle
    stop_and_check(handle)


@pytest.fixture(scope="module")
def rds(lab: LabHandle):
    return lab.client("rds")


def _writer(rds) -> str:
    members = rds.describe_db_clusters(DBClusterIdentifier="orders-db")["DBClusters"][0]["DBClusterMembers"]
    return next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"])


def _server_is_writer(cluster: dict) -> bool:
    """Ask PostgreSQL itself, through the cluster (writer) endpoint."""
    conn = pg8000.native.Connection(
        "admin1", host="127.0.0.1", port=cluster["Port"], database="orders", password=PASSWORD, timeout=5
    )
    try:
        return conn.run("SELECT pg_is_in_recovery()")[0][0] is False
    finally:
        conn.close()


def test_describe_failover_and_reboot(rds) -> None:
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders-db")["DBClusters"][0]
    assert cluster["Status"] == "available" and cluster["Engine"] == "aurora-postgresql"
    assert cluster["DBClusterArn"] == "arn:aws:rds:us-east-1:123456789012:cluster:orders-db"
    assert _server_is_writer(cluster)
    instances = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": ["orders-db"]}])["DBInstances"]
    assert {i["DBInstanceIdentifier"] for i in instances} == {"orders-db-1", "orders-db-2"}
    assert {i["DBInstanceStatus"] for i in instances} == {"available"}

    before = _writer(rds)
    rds.failover_db_cluster(DBClusterIdentifier="orders-db")
    wait_for(
        lambda: (
            _writer(rds) != before
            and rds.describe_db_clusters(DBClusterIdentifier="orders-db")["DBClusters"][0]["Status"] == "available"
        ),
        60,
        "the writer to move to the other instance",
    )
    wait_for(lambda: _server_is_writer(cluster), 30, "the cluster endpoint to reach the new writer")

    rds.reboot_db_instance(DBInstanceIdentifier=before)
    rds.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=before, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )

    rds.add_tags_to_resource(ResourceName=cluster["DBClusterArn"], Tags=[{"Key": "team", "Value": "sre"}])
    assert {"Key": "team", "Value": "sre"} in rds.list_tags_for_resource(ResourceName=cluster["DBClusterArn"])[
        "TagList"
    ]
    rds.remove_tags_from_resource(ResourceName=cluster["DBClusterArn"], TagKeys=["team"])
    assert {"Key": "team", "Value": "sre"} not in rds.list_tags_for_resource(ResourceName=cluster["DBClusterArn"])[
        "TagList"
    ]


def test_unknown_resources_raise_modeled_faults(rds) -> None:
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.describe_db_clusters(DBClusterIdentifier="no-such-cluster")
    with pytest.raises(rds.exceptions.DBClusterNotFoundFault):
        rds.failover_db_cluster(DBClusterIdentifier="no-such-cluster")
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.reboot_db_instance(DBInstanceIdentifier="no-such-instance")
    with pytest.raises(rds.exceptions.DBInstanceNotFoundFault):
        rds.describe_db_instances(DBInstanceIdentifier="no-such-instance")
