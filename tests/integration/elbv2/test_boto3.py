"""ELBv2 through the real gateway with unmodified boto3: the ALB built by API calls serves real
HTTP, reports target health, maps errors to modeled exceptions and feeds real CloudWatch metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.elbv2.backend import ElbV2Backend

from .helpers import HttpTarget

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def endpoint(tmp_path):
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path, api_port=0), events=EventLog())
    lab.cloudwatch = CloudWatchBackend(lab)
    lab.elbv2 = ElbV2Backend(lab)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = Gateway(lab)
    run = lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(10)
    run(gateway.start())
    run(lab.cloudwatch.start())
    run(lab.elbv2.start())
    target = run(HttpTarget("127.0.0.2", "app").start())
    try:
        yield gateway.endpoint_url, lab, target
    finally:
        run(target.kill())
        run(lab.elbv2.stop())
        run(lab.cloudwatch.stop())
        run(gateway.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert not thread.is_alive()


def client(url: str, service: str):
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_boto3_builds_a_working_alb(endpoint) -> None:
    url, lab, target = endpoint
    elb = client(url, "elbv2")
    lb = elb.create_load_balancer(Name="shop", Subnets=["subnet-a", "subnet-b"], Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="shop-tg",
        Protocol="HTTP",
        Port=target.port,
        VpcId="vpc-1",
        TargetType="ip",
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=5,
        HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
    )["TargetGroups"][0]
    port = free_port()
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )["Listeners"][0]
    assert listener["Port"] == port
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.2"}])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        health = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"][0]
        if health["TargetHealth"]["State"] == "healthy":
            break
        time.sleep(0.05)
    assert health == {
        "Target": {"Id": "127.0.0.2", "Port": target.port},
        "HealthCheckPort": str(target.port),
        "TargetHealth": {"State": "healthy"},
    }
    for _ in range(5):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/products", timeout=5) as resp:
            assert resp.read() == b"app"
    assert elb.describe_load_balancers(Names=["shop"])["LoadBalancers"][0]["DNSName"] == lb["DNSName"]
    attrs = elb.describe_target_group_attributes(TargetGroupArn=tg["TargetGroupArn"])["Attributes"]
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "300"} in attrs
    with pytest.raises(elb.exceptions.LoadBalancerNotFoundException):
        elb.describe_load_balancers(Names=["nope"])
    with pytest.raises(elb.exceptions.DuplicateTargetGroupNameException):
        elb.create_target_group(Name="shop-tg", Protocol="HTTP", Port=1, VpcId="vpc-1", TargetType="ip")
    with pytest.raises(elb.exceptions.InvalidTargetException):
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "not-an-ip"}])

    cw = client(url, "cloudwatch")
    dims = [{"Name": "LoadBalancer", "Value": lb["LoadBalancerArn"].split("loadbalancer/")[1]}]
    total = 0.0
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline and total < 5:
        now = dt.datetime.now(dt.UTC)
        points = cw.get_metric_statistics(
            Namespace="AWS/ApplicationELB",
            MetricName="RequestCount",
            Dimensions=dims,
            StartTime=now - dt.timedelta(minutes=2),
            EndTime=now + dt.timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )["Datapoints"]
        total = sum(p["Sum"] for p in points)
        time.sleep(0.2)
    assert total == 5

    elb.delete_listener(ListenerArn=listener["ListenerArn"])
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
