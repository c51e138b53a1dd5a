"""ELBv2 with unmodified boto3 against a real lab: an ALB built by API calls proxies real HTTP to
a real ECS task registered by IP, reports its health, keeps attributes and tags, and maps errors
to botocore's modeled exceptions."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from api_lab import LabHandle, free_port, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def elb(lab: LabHandle):
    return lab.client("elbv2")


def _task_ip(lab: LabHandle) -> str:
    """A real target: one ECS task running the static app on port 8082."""
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="targets")
    ecs.register_task_definition(
        family="static",
        networkMode="awsvpc",
        containerDefinitions=[{"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8082}]}],
    )
    arn = ecs.run_task(cluster="targets", taskDefinition="static")["tasks"][0]["taskArn"]

    def ip() -> str | None:
        task = ecs.describe_tasks(cluster="targets", tasks=[arn])["tasks"][0]
        if task["lastStatus"] != "RUNNING":
            return None
        return task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]

    return wait_for(ip, 30, "the target task RUNNING")


def test_alb_serves_a_registered_ip_target(lab: LabHandle, elb) -> None:
    ec2 = lab.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
    lb = elb.create_load_balancer(
        Name="web-alb", Subnets=subnets, Type="application", Tags=[{"Key": "env", "Value": "test"}]
    )["LoadBalancers"][0]
    assert lb["Type"] == "application" and lb["Scheme"] == "internet-facing"
    tg = elb.create_target_group(
        Name="web-ip",
        Protocol="HTTP",
        Port=8082,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=5,
        HealthyThresholdCount=2,
    )["TargetGroups"][0]
    elb.modify_target_group_attributes(
        TargetGroupArn=tg["TargetGroupArn"], Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "1"}]
    )
    attrs = {
        a["Key"]: a["Value"]
        for a in elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    }
    assert attrs["deregistration_delay.timeout_seconds"] == "1"
    port = free_port()
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    assert elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]["Port"] == port
    assert listener["Listeners"][0]["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]

    ip = _task_ip(lab)
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ip}])
    elb.get_waiter("target_in_service").wait(
        TargetGroupArn=tg["TargetGroupArn"], WaiterConfig={"Delay": 1, "MaxAttempts": 40}
    )
    health = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
    assert [(h["Target"]["Id"], h["Target"]["Port"], h["TargetHealth"]["State"]) for h in health] == [
        (ip, 8082, "healthy")
    ]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        assert json.loads(resp.read())["service"] == "static"

    elb.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ip}])
    elb.get_waiter("target_deregistered").wait(
        TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": ip}], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    with pytest.raises(urllib.error.HTTPError) as empty:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    assert empty.value.code == 503

    tags = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "env", "Value": "test"}]
    elb.delete_listener(ListenerArn=listener["Listeners"][0]["ListenerArn"])
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)


def test_errors_are_modeled_exceptions(lab: LabHandle, elb) -> None:
    missing_tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef"
    with pytest.raises(elb.exceptions.TargetGroupNotFoundException):
        elb.describe_target_health(TargetGroupArn=missing_tg)
    with pytest.raises(elb.exceptions.TargetGroupNotFoundException):
        elb.describe_target_groups(Names=["nope"])
    with pytest.raises(elb.exceptions.LoadBalancerNotFoundException):
        elb.describe_load_balancers(Names=["nope"])
    vpc = lab.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    with pytest.raises(elb.exceptions.ClientError) as bad:
        elb.create_target_group(Name="bad_name!", Protocol="HTTP", Port=80, VpcId=vpc)
    assert bad.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(elb.exceptions.ClientError) as bad:
        elb.create_target_group(
            Name="ok", Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=10
        )
    assert bad.value.response["Error"]["Code"] == "ValidationError"
    elb.create_target_group(Name="dup", Protocol="HTTP", Port=80, VpcId=vpc)
    with pytest.raises(elb.exceptions.DuplicateTargetGroupNameException):
        elb.create_target_group(Name="dup", Protocol="HTTP", Port=81, VpcId=vpc)
