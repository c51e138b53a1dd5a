"""ECS, EC2, ELBv2, RDS and Auto Scaling page their List/Describe calls through the one paginator:
before, they answered everything, ignored the size and token, and never handed a token back
(Auto Scaling cut DescribeScalingActivities at MaxRecords with no token for the rest)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.autoscaling import api as autoscaling
from chaoslab.services.ec2 import api as ec2
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.models import Instance, Subnet
from chaoslab.services.ecs import api as ecs
from chaoslab.services.ecs.backend import EcsBackend
from chaoslab.services.elbv2 import api as elbv2
from chaoslab.services.elbv2.backend import ElbV2Backend
from chaoslab.services.rds import api as rds
from chaoslab.types import ApiHandler

Call = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def lab(tmp_path: Path) -> SimpleNamespace:
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    lab.ecs = EcsBackend(lab, FakeRuntime())
    lab.ec2 = Ec2Backend(lab, FakeRuntime())
    lab.elbv2 = ElbV2Backend(lab)
    return lab


def _ctx(lab: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(lab=lab, account_id="123456789012", region="us-east-1")


def caller(handler: ApiHandler, ctx: Any, **fixed: Any) -> Call:
    """The handler as a client calls it: parameters in, the answer (a dict) out."""

    def call(params: dict[str, Any]) -> dict[str, Any]:
        out = handler(ctx, {**fixed, **params})
        assert isinstance(out, dict)
        return out

    return call


def walk(call: Call, key: str, token: str, size: str, page: int, *, next_token: str | None = None) -> list[list[Any]]:
    """Every page, following the tokens as a client does, until one comes without."""
    pages: list[list[Any]] = []
    params: dict[str, Any] = {size: page}
    while True:
        out = call(dict(params))
        pages.append(out[key])
        if (next_token or token) not in out:
            return pages
        params[token] = out[next_token or token]


def _add_instances(lab: SimpleNamespace, count: int) -> list[str]:
    subnet = Subnet("subnet-1", "vpc-1", "us-east-1a", "10.0.0.0/24")
    start = len(lab.ec2.instances)
    ids = [f"i-{n:017x}" for n in range(start, start + count)]
    for iid in ids:
        lab.ec2.instances[iid] = Instance(iid, "app", "t3.micro", subnet, {}, 80, state="running")
    return ids


def test_ecs_lists_page_by_next_token_and_a_new_resource_comes_last(lab: SimpleNamespace) -> None:
    list_clusters = caller(ecs.OPERATIONS["ListClusters"], _ctx(lab))
    for n in range(5):
        ecs.OPERATIONS["CreateCluster"](_ctx(lab), {"clusterName": f"c{n}"})
    first = list_clusters({"maxResults": 2})
    assert [a.rsplit("/", 1)[1] for a in first["clusterArns"]] == ["c0", "c1"]
    ecs.OPERATIONS["CreateCluster"](_ctx(lab), {"clusterName": "a-new-one"})  # added mid-walk
    arns, token = list(first["clusterArns"]), first["nextToken"]
    while token:
        out = list_clusters({"maxResults": 2, "nextToken": token})
        arns, token = arns + out["clusterArns"], out.get("nextToken")
    assert [a.rsplit("/", 1)[1] for a in arns] == ["c0", "c1", "c2", "c3", "c4", "a-new-one"]


def test_ecs_list_services_answers_ten_by_default(lab: SimpleNamespace) -> None:
    ecs.OPERATIONS["CreateCluster"](_ctx(lab), {"clusterName": "default"})
    arns = [f"arn:aws:ecs:us-east-1:123456789012:service/default/s{n}" for n in range(12)]
    lab.ecs.services = {
        ("default", f"s{n}"): SimpleNamespace(arn=arn, cluster=lab.ecs.cluster("default"), status="ACTIVE")
        for n, arn in enumerate(arns)
    }
    list_services = caller(ecs.OPERATIONS["ListServices"], _ctx(lab))
    assert list_services({}) == {"serviceArns": arns[:10], "nextToken": "10"}
    assert list_services({"nextToken": "10"}) == {"serviceArns": arns[10:]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"maxResults": 101}, "maxResults must be between 1 and 100."),
        ({"maxResults": 0}, "maxResults must be between 1 and 100."),
        ({"nextToken": "not-ours"}, "Invalid nextToken."),
    ],
)
def test_ecs_refuses_a_bad_size_or_token(lab: SimpleNamespace, params: dict[str, Any], message: str) -> None:
    with pytest.raises(AwsError) as err:
        ecs.OPERATIONS["ListClusters"](_ctx(lab), params)
    assert (err.value.code, err.value.message) == ("InvalidParameterException", message)


def test_ec2_describe_instances_pages_reservations(lab: SimpleNamespace) -> None:
    ids = _add_instances(lab, 7)
    call = caller(ec2.OPERATIONS["DescribeInstances"], _ctx(lab))
    pages = walk(call, "Reservations", "NextToken", "MaxResults", 5)
    assert [len(p) for p in pages] == [5, 2]
    assert [r["Instances"][0]["InstanceId"] for p in pages for r in p] == ids
    assert "NextToken" not in call({})  # without MaxResults: everything, no token


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"MaxResults": 4},
            "InvalidParameterValue",
            "Value ( 4 ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.",
        ),
        (
            {"MaxResults": 1001},
            "InvalidParameterValue",
            "Value ( 1001 ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.",
        ),
        (
            {"MaxResults": 5, "InstanceIds": ["i-00000000000000000"]},
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ),
        ({"NextToken": "x"}, "InvalidPaginationToken", "Invalid pagination token: x"),
    ],
)
def test_ec2_describe_instances_rules(lab: SimpleNamespace, params: dict[str, Any], code: str, message: str) -> None:
    _add_instances(lab, 1)
    with pytest.raises(AwsError) as err:
        ec2.OPERATIONS["DescribeInstances"](_ctx(lab), params)
    assert (err.value.code, err.value.message) == (code, message)


def test_ec2_launch_template_versions_page_up_to_200(lab: SimpleNamespace) -> None:
    ec2.OPERATIONS["CreateLaunchTemplate"](_ctx(lab), {"LaunchTemplateName": "web-lt", "LaunchTemplateData": {}})
    for _ in range(2):
        ec2.OPERATIONS["CreateLaunchTemplateVersion"](
            _ctx(lab), {"LaunchTemplateName": "web-lt", "LaunchTemplateData": {}}
        )
    call = caller(ec2.OPERATIONS["DescribeLaunchTemplateVersions"], _ctx(lab), LaunchTemplateName="web-lt")
    pages = walk(call, "LaunchTemplateVersions", "NextToken", "MaxResults", 1)
    assert [v["VersionNumber"] for p in pages for v in p] == [1, 2, 3]
    with pytest.raises(AwsError) as err:
        call({"MaxResults": 201})
    assert err.value.code == "InvalidParameterValue"


def test_elbv2_pages_by_marker_and_answers_next_marker(lab: SimpleNamespace) -> None:
    for n in range(3):
        lab.elbv2.create_target_group(Name=f"tg{n}", Protocol="HTTP", Port=80, VpcId="vpc-1")
    call = caller(elbv2.OPERATIONS["DescribeTargetGroups"], _ctx(lab))
    first = call({"PageSize": 1})
    assert "Marker" not in first and first["NextMarker"] == "1"
    pages = walk(call, "TargetGroups", "Marker", "PageSize", 1, next_token="NextMarker")
    assert [tg["TargetGroupName"] for p in pages for tg in p] == ["tg0", "tg1", "tg2"]
    with pytest.raises(AwsError) as err:
        call({"Marker": "x"})
    assert (err.value.code, err.value.message) == ("ValidationError", "The marker 'x' is not valid")


@pytest.mark.parametrize("operation", ["DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners"])
def test_elbv2_describes_page(operation: str) -> None:
    assert elbv2.OPERATIONS[operation].__name__ == "paged"


def test_rds_pages_20_to_100_by_marker() -> None:
    rows = [{"DBInstanceIdentifier": f"db{n}"} for n in range(25)]
    whole = {"DBInstances": rows}
    handler = rds.PAGES.around(lambda ctx, p: dict(whole), "DBInstances")
    first = handler(None, {"MaxRecords": 20})
    assert first == {"DBInstances": rows[:20], "Marker": "20"}
    assert handler(None, {"MaxRecords": 20, "Marker": "20"}) == {"DBInstances": rows[20:]}
    assert handler(None, {}) == whole  # 100 by default
    for size in (19, 101):
        with pytest.raises(AwsError) as err:
            handler(None, {"MaxRecords": size})
        assert (err.value.code, err.value.message) == (
            "InvalidParameterValue",
            f"Invalid value {size} for MaxRecords. Must be between 20 and 100",
        )
    assert {rds.OPERATIONS[op].__name__ for op in ("DescribeDBClusters", "DescribeDBInstances")} == {"paged"}


def test_around_refuses_a_coroutine_handler() -> None:
    async def handler(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    with pytest.raises(TypeError):
        rds.PAGES.around(handler, "X")


def _asg_ctx(groups: dict[str, Any]) -> SimpleNamespace:
    backend = SimpleNamespace(
        groups=groups,
        get=groups.__getitem__,
        describe=lambda g: {"AutoScalingGroupName": g.name},
        describe_member=lambda g, m: {"InstanceId": m.instance_id},
    )
    return SimpleNamespace(lab=SimpleNamespace(autoscaling=backend))


def test_autoscaling_scaling_activities_hand_back_a_token_for_the_rest() -> None:
    group = SimpleNamespace(name="web", activities=[{"ActivityId": str(n)} for n in range(5)], members={})
    ctx = _asg_ctx({"web": group})
    first = autoscaling.OPERATIONS["DescribeScalingActivities"](ctx, {"MaxRecords": 3})
    assert first == {"Activities": [{"ActivityId": "4"}, {"ActivityId": "3"}, {"ActivityId": "2"}], "NextToken": "3"}
    rest = autoscaling.OPERATIONS["DescribeScalingActivities"](ctx, {"MaxRecords": 3, "NextToken": "3"})
    assert rest == {"Activities": [{"ActivityId": "1"}, {"ActivityId": "0"}]}


def test_autoscaling_groups_and_instances_sizes_and_tokens() -> None:
    members = {f"i-{n}": SimpleNamespace(instance_id=f"i-{n}", lifecycle="InService") for n in range(3)}
    groups = {
        f"g{n}": SimpleNamespace(name=f"g{n}", activities=[], members=members if n == 0 else {}) for n in range(3)
    }
    ctx = _asg_ctx(groups)
    call = caller(autoscaling.OPERATIONS["DescribeAutoScalingGroups"], ctx)
    pages = walk(call, "AutoScalingGroups", "NextToken", "MaxRecords", 2)
    assert [g["AutoScalingGroupName"] for p in pages for g in p] == ["g0", "g1", "g2"]
    with pytest.raises(AwsError) as err:
        call({"MaxRecords": 101})
    assert (err.value.code, err.value.message) == ("ValidationError", "MaxRecords must be between 1 and 100; got 101.")
    with pytest.raises(AwsError) as err:
        autoscaling.OPERATIONS["DescribeAutoScalingInstances"](ctx, {"MaxRecords": 51})
    assert err.value.message == "MaxRecords must be between 1 and 50; got 51."
    with pytest.raises(AwsError) as err:
        call({"NextToken": "-1"})
    assert (err.value.code, err.value.message) == ("InvalidNextToken", "The token provided is not valid.")


def test_ec2_describe_volumes_pages_5_to_500_and_not_with_ids() -> None:
    records = [{"VolumeId": f"vol-{i:02d}", "Tags": []} for i in range(12)]
    volumes = {r["VolumeId"]: r for r in records}
    ctx = SimpleNamespace(
        lab=SimpleNamespace(ec2=SimpleNamespace(describe_volume_records=lambda: records, volume=volumes.__getitem__))
    )
    call = caller(ec2.OPERATIONS["DescribeVolumes"], ctx)
    pages = walk(call, "Volumes", "NextToken", "MaxResults", 5)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [v["VolumeId"] for p in pages for v in p] == [r["VolumeId"] for r in records]
    with pytest.raises(AwsError, match="between 5 and 500"):
        call({"MaxResults": 4})
    with pytest.raises(AwsError) as refused:
        call({"MaxResults": 5, "VolumeIds": ["vol-01"]})
    assert refused.value.code == "InvalidParameterCombination"
