"""Pure RDS logic: process-title parsing, identifiers, tags, target choice, and describe output that
only uses members botocore's RDS model knows (so boto3 parses every field we send)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import botocore.session
import pytest
from botocore import xform_name

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.rds import api
from chaoslab.services.rds.backend import RdsBackend, _merge_tags, _strip_arn
from chaoslab.services.rds.cluster import AuroraCluster, Member
from chaoslab.services.rds.metrics import is_client_backend
from chaoslab.services.rds.models import DBCluster, DBInstance

MODEL = botocore.session.get_session().get_service_model("rds")


class FakeServer(SimpleNamespace):
    """Only the address fields the routing code reads; no process behind it."""


def _cluster(tmp_path: Path) -> DBCluster:
    runtime = AuroraCluster(
        "c1",
        tmp_path,
        master_username="u",
        master_password="password1",
        writer_binds=[("127.0.0.1", 0)],
        reader_binds=[("127.0.0.1", 0)],
    )
    for name, tier in (("w", 1), ("r1", 2), ("r2", 0), ("r3", 0)):
        runtime.members[name] = Member(
            name, "us-east-1a", tier, FakeServer(host="127.0.0.1", port=1, running=True), "available"
        )
    runtime.writer_id = "w"
    return DBCluster(
        identifier="c1",
        arn="arn:aws:rds:us-east-1:123456789012:cluster:c1",
        engine="aurora-postgresql",
        engine_version="15.8",
        port=5432,
        master_username="u",
        database_name="shop",
        azs=["us-east-1a"],
        endpoint_host="c1.cluster-x.us-east-1.rds.amazonaws.com",
        reader_endpoint_host="c1.cluster-ro-x.us-east-1.rds.amazonaws.com",
        runtime=runtime,
        instances=["w", "r1", "r2", "r3"],
    )


def test_client_backend_titles() -> None:
    assert is_client_backend("postgres: shop shop 127.0.0.1(51234) idle")
    assert is_client_backend("postgres: shop shop 10.0.10.4(40000) INSERT")
    assert is_client_backend("postgres: shop postgres [local] idle")
    assert not is_client_backend("postgres: walsender shop 127.0.0.1(5555) streaming 0/3000148")
    assert not is_client_backend("postgres: checkpointer ")
    assert not is_client_backend("postgres: logical replication launcher ")
    assert not is_client_backend("/usr/lib/postgresql/15/bin/postgres -D /var/tmp/x/data -p 5432")


def test_identifiers_and_tags() -> None:
    assert _strip_arn("arn:aws:rds:us-east-1:123456789012:cluster:c1", "cluster") == "c1"
    assert _strip_arn("c1", "cluster") == "c1"
    assert _strip_arn("arn:aws:rds:us-east-1:123456789012:db:i-1", "db") == "i-1"
    merged = _merge_tags([{"Key": "a", "Value": "1"}], [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert merged == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}]


def test_failover_target_is_lowest_promotion_tier_then_first(tmp_path: Path) -> None:
    runtime = _cluster(tmp_path).runtime
    assert runtime.pick_target().instance_id == "r2"
    assert runtime.pick_target("r1").instance_id == "r1"
    with pytest.raises(AwsError) as err:
        runtime.pick_target("w")
    assert err.value.code == "InvalidDBInstanceState"
    for name in ("r1", "r2", "r3"):
        runtime.members[name].status = "rebooting"
    with pytest.raises(AwsError) as err:
        runtime.pick_target()
    assert err.value.code == "InvalidDBClusterStateFault"


def _unknown_members(value: object, shape: object) -> list[str]:
    """Paths of keys in `value` that the botocore output shape does not define."""
    bad: list[str] = []
    if isinstance(value, dict) and shape.type_name == "structure":
        for key, item in value.items():
            if key not in shape.members:
                bad.append(key)
            else:
                bad += [f"{key}.{b}" for b in _unknown_members(item, shape.members[key])]
    elif isinstance(value, list) and shape.type_name == "list":
        for item in value:
            bad += _unknown_members(item, shape.member)
    return bad


def test_describe_shapes_match_botocore(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path)
    view = cluster.describe()
    assert _unknown_members(view, MODEL.shape_for("DBCluster")) == []
    assert [m["IsClusterWriter"] for m in view["DBClusterMembers"]] == [True, False, False, False]
    instance = DBInstance(
        identifier="w",
        cluster_id="c1",
        arn="arn:aws:rds:us-east-1:123456789012:db:w",
        az="us-east-1a",
        instance_class="db.r6g.large",
        engine="aurora-postgresql",
        engine_version="15.8",
        promotion_tier=1,
        address="w.x.us-east-1.rds.amazonaws.com",
        port=5432,
    )
    assert _unknown_members(cluster.describe_instance(instance), MODEL.shape_for("DBInstance")) == []


def test_every_operation_is_a_botocore_operation_with_a_backend_method() -> None:
    for op in api.OPERATIONS:
        MODEL.operation_model(op)
        assert callable(getattr(RdsBackend, xform_name(op)))


def test_backend_needs_only_the_config() -> None:
    backend = RdsBackend(SimpleNamespace(clock=LabClock(), config=LabConfig(home=Path("/nonexistent"))))
    assert backend.describe_db_clusters() == {"DBClusters": []}
    with pytest.raises(AwsError) as err:
        backend.describe_db_instances(DBInstanceIdentifier="nope")
    assert (err.value.code, err.value.status) == ("DBInstanceNotFound", 404)
    backend.publish_metrics()  # no cloudwatch in this lab: a no-op, not an error
