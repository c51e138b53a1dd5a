"""The capacity and zonal-shift actions against a real lab, through boto3: an ALB in front of an
Auto Scaling group of real instances in two zones. Launches fail in the named zone and succeed in
the other, and the activities say so; a role's StartInstances and RunInstances are refused in the zone only; a
zonal shift keeps ALB traffic and new members out of the zone, and both come back when it ends."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chaoslab.config import LabConfig
from chaoslab.lab import Lab
from chaoslab.stack import apply_stack

pytestmark = pytest.mark.timeout(120)

ACCOUNT = "123456789012"
ZONES = {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"}
TRUST_FIS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
STACK = {
    "name": "capacity",
    "settings": {"instance_shutdown_seconds": 0.1},
    "vpc": {"cidr": "10.0.0.0/16", "subnets": ZONES},
    "target_groups": [{"name": "web-tg", "port": 80, "target_type": "instance", "health_check": {"path": "/health"}}],
    "load_balancers": [{"name": "web-alb", "listeners": [{"port": 0, "target_group": "web-tg"}]}],
    "auto_scaling_groups": [
        {
            "name": "web-asg",
            "image": "chaoslab/static",
            "port": 80,
            "min": 0,
            "max": 4,
            "desired": 2,
            "azs": list(ZONES),
            "target_groups": ["web-tg"],
        }
    ],
    "roles": [
        {"name": "fis", "trust": TRUST_FIS, "policies": {"all": ALLOW_ALL}},
        {"name": "app", "trust": TRUST_ACCOUNT, "policies": {"all": ALLOW_ALL}},
    ],
}


class Running:
    """The lab on its own loop thread, and boto3 clients for it."""

    def __init__(self, lab: Lab, loop: asyncio.AbstractEventLoop) -> None:
        self.lab, self.loop = lab, loop

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def client(self, service: str, **credentials: str) -> Any:
        return boto3.session.Session(
            region_name="us-east-1",
            aws_access_key_id=credentials.get("AccessKeyId", "test"),
            aws_secret_access_key=credentials.get("SecretAccessKey", "test"),
            aws_session_token=credentials.get("SessionToken"),
        ).client(
            service,
            endpoint_url=self.lab.config.endpoint_url,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )

    def alb_targets(self, count: int) -> set[str]:
        """Send `count` requests through the ALB; the targets that answered them."""
        host, port = self.lab.elbv2.listener_address(next(iter(self.lab.elbv2.listeners)))
        since = time.time()
        for _ in range(count):
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=5) as resp:
                assert resp.status == 200
        return {r["target"] for r in self.lab.elbv2.recent_requests(since)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    lab = Lab(LabConfig(home=tmp_path_factory.mktemp("capacity"), api_port=0), network_mode="loopback")
    running = Running(lab, loop)
    running.run(lab.start())
    try:
        running.run(apply_stack(lab, STACK, fast=True))
        yield running
    finally:
        running.run(lab.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def in_service(lab: Running, count: int) -> dict[str, str]:
    """Wait for `count` members in service and healthy behind the ALB; instance id -> zone."""
    asg, elbv2 = lab.client("autoscaling"), lab.client("elbv2")
    tg = elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]

    def ready() -> dict[str, str] | None:
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
        members = {
            i["InstanceId"]: i["AvailabilityZone"] for i in group["Instances"] if i["LifecycleState"] == "InService"
        }
        health = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        healthy = {h["Target"]["Id"] for h in health if h["TargetHealth"]["State"] == "healthy"}
        return members if len(members) == count and set(members) <= healthy else None

    return dict(wait_for(ready, f"{count} members in service and healthy"))


def experiment(lab: Running, targets: dict[str, Any], action: dict[str, Any]) -> str:
    fis = lab.client("fis")
    template = fis.create_experiment_template(
        description="capacity",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
        stopConditions=[{"source": "none"}],
        targets=targets,
        actions={"Fault": action},
    )["experimentTemplate"]
    exp_id = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
    events = lab.lab.events
    wait_for(lambda: [e for e in events.since(0, {"fault.applied"}) if e.get("experiment") == exp_id], "the fault")
    return str(exp_id)


def _status(lab: Running, exp_id: str) -> str:
    return str(lab.client("fis").get_experiment(id=exp_id)["experiment"]["state"]["status"])


def _ended(lab: Running, exp_id: str) -> str:
    return str(wait_for(lambda: (s := _status(lab, exp_id)) in ("completed", "stopped", "failed") and s, "the end"))


def test_launches_fail_in_the_zone_and_succeed_in_the_other(lab: Running) -> None:
    asg = lab.client("autoscaling")
    before = in_service(lab, 2)
    group_arn = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    exp_id = experiment(
        lab,
        {"Groups": {"resourceType": "aws:ec2:autoscaling-group", "resourceArns": [group_arn], "selectionMode": "ALL"}},
        {
            "actionId": "aws:ec2:asg-insufficient-instance-capacity-error",
            "targets": {"AutoScalingGroups": "Groups"},
            "parameters": {"availabilityZoneIdentifiers": "use1-az1", "percentage": "100", "duration": "PT3S"},
        },
    )
    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=3)
    during = in_service(lab, 3)
    assert [during[i] for i in set(during) - set(before)] == ["us-east-1b"]  # us-east-1a had its turn
    activities = asg.describe_scaling_activities(AutoScalingGroupName="web-asg")["Activities"]
    failed = [a for a in activities if a["StatusCode"] == "Failed"]
    assert failed, activities
    assert json.loads(failed[0]["Details"])["Availability Zone"] == "us-east-1a"
    assert failed[0]["StatusMessage"].startswith(
        "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-east-1a)."
    )
    assert _ended(lab, exp_id) == "completed"
    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=4)
    after = in_service(lab, 4)
    assert [after[i] for i in set(after) - set(during)] == ["us-east-1a"]  # capacity is back
    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=2)
    in_service(lab, 2)


def test_a_zonal_autoshift_moves_traffic_and_launches_away_and_back(lab: Running) -> None:
    asg = lab.client("autoscaling")
    members = in_service(lab, 2)
    assert lab.alb_targets(20) == set(members)
    alb = lab.client("elbv2").describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    group_arn = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    exp_id = experiment(
        lab,
        {
            "Managed": {
                "resourceType": "aws:arc:zonal-shift-managed-resource",
                "resourceArns": [alb, group_arn],
                "selectionMode": "ALL",
            }
        },
        {
            "actionId": "aws:arc:start-zonal-autoshift",
            "targets": {"ManagedResources": "Managed"},
            "parameters": {"availabilityZoneIdentifier": "us-east-1a", "duration": "PT1M"},
        },
    )
    in_b = {i for i, zone in members.items() if zone == "us-east-1b"}
    assert lab.alb_targets(20) == in_b
    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=3)
    during = in_service(lab, 3)
    assert [during[i] for i in set(during) - set(members)] == ["us-east-1b"]
    health = lab.client("elbv2").describe_target_health(
        TargetGroupArn=lab.client("elbv2").describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]
    )["TargetHealthDescriptions"]
    states = {h["Target"]["Id"]: h["TargetHealth"]["State"] for h in health}
    assert {states[i] for i in during} == {"healthy"}  # the zone's target stays registered and checked
    lab.client("fis").stop_experiment(id=exp_id)
    assert _ended(lab, exp_id) == "stopped"
    assert lab.alb_targets(30) == set(during)  # traffic is back in us-east-1a
    assert lab.lab.store.journal_pending() == []
    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=2)
    in_service(lab, 2)


def test_the_roles_start_requests_fail_in_the_zone_only(lab: Running) -> None:
    instances = {
        zone: lab.run(lab.lab.ec2.run_instance("chaoslab/static", lab.lab.ec2.subnet(zone))).instance_id
        for zone in ZONES
    }
    ec2 = lab.client("ec2")
    ec2.stop_instances(InstanceIds=list(instances.values()))
    wait_for(lambda: {lab.lab.ec2.get(i).state for i in instances.values()} == {"stopped"}, "both stopped")
    credentials = lab.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/app", RoleSessionName="app")
    app = lab.client("ec2", **credentials["Credentials"])
    exp_id = experiment(
        lab,
        {
            "Roles": {
                "resourceType": "aws:iam:role",
                "resourceArns": [f"arn:aws:iam::{ACCOUNT}:role/app"],
                "selectionMode": "ALL",
            }
        },
        {
            "actionId": "aws:ec2:api-insufficient-instance-capacity-error",
            "targets": {"Roles": "Roles"},
            "parameters": {"availabilityZoneIdentifiers": "us-east-1a", "percentage": "100", "duration": "PT2S"},
        },
    )
    with pytest.raises(ClientError) as refused:
        app.start_instances(InstanceIds=[instances["us-east-1a"]])
    error = refused.value.response["Error"]
    assert (error["Code"], refused.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InsufficientInstanceCapacity",
        500,
    )
    assert "capacity in the Availability Zone you requested (us-east-1a)" in error["Message"]
    assert lab.lab.ec2.get(instances["us-east-1a"]).state == "stopped"
    launch = {"ImageId": "chaoslab/static", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.micro"}
    with pytest.raises(ClientError) as refused:
        app.run_instances(**launch, Placement={"AvailabilityZone": "us-east-1a"})
    assert refused.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert "t3.micro" in refused.value.response["Error"]["Message"]
    launched = app.run_instances(**launch, SubnetId=lab.lab.ec2.subnet("us-east-1b").subnet_id)["Instances"]
    instances["launched"] = launched[0]["InstanceId"]  # RunInstances in the other zone has capacity
    app.start_instances(InstanceIds=[instances["us-east-1b"]])  # the other zone has capacity
    assert _ended(lab, exp_id) == "completed"
    app.start_instances(InstanceIds=[instances["us-east-1a"]])  # and so has this one, once it ended
    wait_for(lambda: {lab.lab.ec2.get(i).state for i in instances.values()} == {"running"}, "both running")
    ec2.terminate_instances(InstanceIds=list(instances.values()))
