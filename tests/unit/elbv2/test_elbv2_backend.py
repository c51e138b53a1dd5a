"""ELBv2 backend semantics: defaults, validation, error codes, and output shapes per botocore."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import botocore.session
import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.services.elbv2.api import OPERATIONS
from chaoslab.services.elbv2.backend import ElbV2Backend

MODEL = botocore.session.get_session().get_service_model("elbv2")


def conforms(value: Any, shape: Any, path: str = "") -> None:
    """Assert `value` fits the botocore shape (member names and primitive types)."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key} is not in {shape.name}"
            conforms(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), path
        for i, item in enumerate(value):
            conforms(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "timestamp":
        assert isinstance(value, (datetime, float, int)), path
    elif shape.type_name == "integer":
        assert isinstance(value, int), path
    elif shape.type_name == "boolean":
        assert isinstance(value, bool), path
    else:
        assert isinstance(value, str), path


def call(lab: Any, op: str, **params: Any) -> dict[str, Any]:
    ctx = SimpleNamespace(lab=lab, region="us-east-1", account_id="123456789012", principal_arn="", request_id="r")
    result = OPERATIONS[op](ctx, params)
    if asyncio.iscoroutine(result):
        result = asyncio.get_event_loop().run_until_complete(result)
    conforms(result, MODEL.operation_model(op).output_shape, op)
    return result


@pytest.fixture
def lab(tmp_path: Path) -> Any:
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    lab.elbv2 = ElbV2Backend(lab)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield lab
    loop.run_until_complete(lab.elbv2.stop())
    loop.close()
    asyncio.set_event_loop(None)


def test_operations_cover_the_brief() -> None:
    assert len(OPERATIONS) == 21
    for op in OPERATIONS:
        MODEL.operation_model(op)  # every key is a real botocore operation name


def test_load_balancer_arn_dns_and_attribute_defaults(lab: Any) -> None:
    lb = call(lab, "CreateLoadBalancer", Name="shop", Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
    assert lb["LoadBalancerArn"].startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/"
    )
    assert len(lb["LoadBalancerArn"].rsplit("/", 1)[1]) == 16
    assert lb["DNSName"].startswith("shop-") and lb["DNSName"].endswith(".us-east-1.elb.amazonaws.com")
    assert [z["ZoneName"] for z in lb["AvailabilityZones"]] == ["us-east-1a", "us-east-1b"]
    attrs = {
        a["Key"]: a["Value"]
        for a in call(lab, "DescribeLoadBalancerAttributes", LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    }
    assert attrs["idle_timeout.timeout_seconds"] == "60"
    assert call(lab, "CreateLoadBalancer", Name="shop", Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0] == lb
    with pytest.raises(AwsError) as err:
        call(lab, "CreateLoadBalancer", Name="shop", Subnets=["subnet-8", "subnet-9"])
    assert err.value.code == "DuplicateLoadBalancerName"


def test_an_alb_needs_subnets_in_two_zones(lab: Any) -> None:
    for subnets in ([], ["subnet-1"], ["subnet-1", "subnet-1"]):
        with pytest.raises(AwsError) as err:
            call(lab, "CreateLoadBalancer", Name="one-zone", Subnets=subnets)
        assert err.value.code == "ValidationError" and "two different Availability Zones" in err.value.message


def test_target_group_health_check_defaults_and_attributes(lab: Any) -> None:
    tg = call(lab, "CreateTargetGroup", Name="web", Protocol="HTTP", Port=5000, VpcId="vpc-1")["TargetGroups"][0]
    assert tg["TargetGroupArn"].split(":")[-1].startswith("targetgroup/web/")
    assert {
        k: tg[k]
        for k in (
            "HealthCheckProtocol",
            "HealthCheckPort",
            "HealthCheckPath",
            "HealthCheckIntervalSeconds",
            "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
            "HealthCheckEnabled",
            "Matcher",
            "TargetType",
        )
    } == {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckPath": "/",
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
        "HealthCheckEnabled": True,
        "Matcher": {"HttpCode": "200"},
        "TargetType": "instance",
    }
    attrs = {
        a["Key"]: a["Value"]
        for a in call(lab, "DescribeTargetGroupAttributes", TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    }
    assert attrs["deregistration_delay.timeout_seconds"] == "300"
    assert attrs["slow_start.duration_seconds"] == "0"
    assert attrs["load_balancing.algorithm.type"] == "round_robin"
    changed = call(
        lab,
        "ModifyTargetGroupAttributes",
        TargetGroupArn=tg["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}],
    )["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "5"} in changed
    modified = call(
        lab,
        "ModifyTargetGroup",
        TargetGroupArn=tg["TargetGroupArn"],
        HealthCheckIntervalSeconds=10,
        UnhealthyThresholdCount=3,
        HealthCheckPath="/health",
        Matcher={"HttpCode": "200-299"},
    )["TargetGroups"][0]
    assert (modified["HealthCheckIntervalSeconds"], modified["UnhealthyThresholdCount"], modified["Matcher"]) == (
        10,
        3,
        {"HttpCode": "200-299"},
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Matcher": {"HttpCode": "600"}}, "ValidationError"),
        ({"HealthyThresholdCount": 1}, "ValidationError"),
        ({"HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 6}, "ValidationError"),
        ({"HealthCheckPath": "health"}, "ValidationError"),
        ({"HealthCheckPath": "/x HTTP/1.1\r\nX-Injected: 1"}, "ValidationError"),  # would split the probe request
        ({"HealthCheckPath": "/\u2713"}, "ValidationError"),  # not encodable in a request line
        ({"HealthCheckPath": "/health\n"}, "ValidationError"),  # a line break ends the request line early
        ({"HealthCheckPath": "/" + "a" * 1024}, "ValidationError"),
    ],
)
def test_target_group_validation(lab: Any, params: dict[str, Any], code: str) -> None:
    with pytest.raises(AwsError) as err:
        call(lab, "CreateTargetGroup", Name="bad", Protocol="HTTP", Port=80, VpcId="vpc-1", **params)
    assert err.value.code == code


def test_not_found_and_duplicate_errors(lab: Any) -> None:
    missing = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
    cases = [
        (
            "DescribeLoadBalancers",
            {"LoadBalancerArns": [missing + "loadbalancer/app/x/0123456789abcdef"]},
            "LoadBalancerNotFound",
        ),
        ("DescribeTargetGroups", {"Names": ["nope"]}, "TargetGroupNotFound"),
        ("DescribeListeners", {"ListenerArns": [missing + "listener/app/x/1/2"]}, "ListenerNotFound"),
        ("DescribeTargetHealth", {"TargetGroupArn": missing + "targetgroup/x/1"}, "TargetGroupNotFound"),
    ]
    for op, params, code in cases:
        with pytest.raises(AwsError) as err:
            call(lab, op, **params)
        assert (err.value.code, err.value.status) == (code, 400)
    call(lab, "CreateTargetGroup", Name="web", Protocol="HTTP", Port=80, VpcId="vpc-1")
    with pytest.raises(AwsError) as err:
        call(lab, "CreateTargetGroup", Name="web", Protocol="HTTP", Port=81, VpcId="vpc-1")
    assert err.value.code == "DuplicateTargetGroupName"


def test_targets_of_unused_group_and_invalid_targets(lab: Any) -> None:
    ip_tg = call(lab, "CreateTargetGroup", Name="ips", Protocol="HTTP", Port=80, VpcId="vpc-1", TargetType="ip")[
        "TargetGroups"
    ][0]
    call(lab, "RegisterTargets", TargetGroupArn=ip_tg["TargetGroupArn"], Targets=[{"Id": "10.0.10.5"}])
    health = call(lab, "DescribeTargetHealth", TargetGroupArn=ip_tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert health == [
        {
            "Target": {"Id": "10.0.10.5", "Port": 80},
            "HealthCheckPort": "80",
            "TargetHealth": {
                "State": "unused",
                "Reason": "Target.NotInUse",
                "Description": "Target group is not configured to receive traffic from the load balancer",
            },
        }
    ]
    with pytest.raises(AwsError) as err:
        call(lab, "RegisterTargets", TargetGroupArn=ip_tg["TargetGroupArn"], Targets=[{"Id": "i-0abc"}])
    assert err.value.code == "InvalidTarget"
    inst_tg = call(lab, "CreateTargetGroup", Name="inst", Protocol="HTTP", Port=80, VpcId="vpc-1")["TargetGroups"][0]
    with pytest.raises(AwsError) as err:
        call(lab, "RegisterTargets", TargetGroupArn=inst_tg["TargetGroupArn"], Targets=[{"Id": "i-0abc"}])
    assert err.value.code == "InvalidTarget"  # no lab.ec2 knows this instance
    with pytest.raises(AwsError) as err:
        call(lab, "DeregisterTargets", TargetGroupArn=ip_tg["TargetGroupArn"], Targets=[{"Id": "10.0.10.6"}])
    assert err.value.code == "InvalidTarget"
    call(lab, "DeregisterTargets", TargetGroupArn=ip_tg["TargetGroupArn"], Targets=[{"Id": "10.0.10.5"}])
    assert call(lab, "DescribeTargetHealth", TargetGroupArn=ip_tg["TargetGroupArn"])["TargetHealthDescriptions"] == []


def test_listener_binds_a_real_port_and_tags(lab: Any) -> None:
    lb = call(lab, "CreateLoadBalancer", Name="shop", Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
    tg = call(lab, "CreateTargetGroup", Name="web", Protocol="HTTP", Port=80, VpcId="vpc-1")["TargetGroups"][0]
    action = [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]
    listener = lab.elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Port=0, Protocol="HTTP", DefaultActions=action
    )
    listener = asyncio.get_event_loop().run_until_complete(listener)["Listeners"][0]
    assert listener["Port"] > 0
    assert lab.elbv2.listener_address(listener["ListenerArn"]) == ("127.0.0.1", listener["Port"])
    assert listener["ListenerArn"].split(":")[-1].startswith("listener/app/shop/")
    with pytest.raises(AwsError) as err:
        call(
            lab,
            "CreateListener",
            LoadBalancerArn=lb["LoadBalancerArn"],
            Port=listener["Port"],
            Protocol="HTTP",
            DefaultActions=[{"Type": "forward", "TargetGroupArn": "arn:other"}],
        )
    assert err.value.code == "TargetGroupNotFound"
    assert call(lab, "DescribeTargetGroups", LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"][0][
        "LoadBalancerArns"
    ] == [lb["LoadBalancerArn"]]
    with pytest.raises(AwsError) as err:
        call(lab, "DeleteTargetGroup", TargetGroupArn=tg["TargetGroupArn"])
    assert err.value.code == "ResourceInUse"
    call(
        lab,
        "AddTags",
        ResourceArns=[lb["LoadBalancerArn"], tg["TargetGroupArn"]],
        Tags=[{"Key": "env", "Value": "lab"}],
    )
    call(lab, "RemoveTags", ResourceArns=[tg["TargetGroupArn"]], TagKeys=["env"])
    tags = call(lab, "DescribeTags", ResourceArns=[lb["LoadBalancerArn"], tg["TargetGroupArn"]])["TagDescriptions"]
    assert [t["Tags"] for t in tags] == [[{"Key": "env", "Value": "lab"}], []]
    call(lab, "DeleteListener", ListenerArn=listener["ListenerArn"])
    call(lab, "DeleteTargetGroup", TargetGroupArn=tg["TargetGroupArn"])
    call(lab, "DeleteLoadBalancer", LoadBalancerArn=lb["LoadBalancerArn"])
    assert call(lab, "DescribeLoadBalancers")["LoadBalancers"] == []


def test_a_rejected_modify_or_register_changes_nothing(lab: Any) -> None:
    arn = call(lab, "CreateTargetGroup", Name="web", Protocol="HTTP", Port=80, VpcId="vpc-1", TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    with pytest.raises(AwsError):
        call(lab, "ModifyTargetGroup", TargetGroupArn=arn, HealthCheckPath="/changed", Matcher={"HttpCode": "600"})
    assert call(lab, "DescribeTargetGroups", TargetGroupArns=[arn])["TargetGroups"][0]["HealthCheckPath"] == "/"
    with pytest.raises(AwsError) as err:
        call(
            lab,
            "RegisterTargets",
            TargetGroupArn=arn,
            Targets=[{"Id": "127.0.0.1", "Port": 8000}, {"Id": "127.0.0.2", "Port": 70000}],
        )
    assert err.value.code == "ValidationError"
    assert call(lab, "DescribeTargetHealth", TargetGroupArn=arn)["TargetHealthDescriptions"] == []
