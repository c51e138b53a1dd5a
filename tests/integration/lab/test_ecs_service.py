"""Seed 000/004's ECS shape on the real runtime: a service of two awsvpc tasks behind an ALB
(target type ip) keeps its desired count, with ECS's lifecycle, stop codes and health."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import yaml
from lab_helpers import RunningLab, free_port

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached
from chaoslab.stack import resolve_stack_path

pytestmark = pytest.mark.netns_here


@pytest.fixture(scope="module")
def pet_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    tmp = tmp_path_factory.mktemp("pet")
    doc = yaml.safe_load(resolve_stack_path("pet-payment").read_text())
    doc["vpc"] = {"cidr": "10.95.0.0/16", "subnets": {"us-east-1a": "10.95.10.0/24", "us-east-1b": "10.95.11.0/24"}}
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    (tmp / "stack.yaml").write_text(yaml.safe_dump(doc))
    config = LabConfig(home=tmp / "home", api_port=free_port())
    lab = RunningLab(config, start_detached(config, str(tmp / "stack.yaml"), fast=True, quiet=True))
    yield lab
    lab.stop()


def ecs(lab: RunningLab) -> Any:
    return boto3.client(
        "ecs",
        endpoint_url=lab.info["api"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def running_tasks(client: Any) -> list[dict[str, Any]]:
    arns = client.list_tasks(cluster="pet-adoption", serviceName="pet-payment-service")["taskArns"]
    return client.describe_tasks(cluster="pet-adoption", tasks=arns)["tasks"] if arns else []


def wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_service_runs_two_tasks_in_two_azs_behind_the_alb(pet_lab) -> None:
    client = ecs(pet_lab)
    svc = client.describe_services(cluster="pet-adoption", services=["pet-payment-service"])["services"][0]
    assert svc["desiredCount"] == 2 and svc["runningCount"] == 2
    tasks = running_tasks(client)
    assert sorted(t["availabilityZone"] for t in tasks) == ["us-east-1a", "us-east-1b"]
    assert all(t["lastStatus"] == "RUNNING" and t["group"] == "service:pet-payment-service" for t in tasks)
    served = {urllib.request.urlopen(pet_lab.alb + "/", timeout=5).read() for _ in range(4)}
    assert len(served) == 2
    assert wait_for(lambda: all(t["healthStatus"] == "HEALTHY" for t in running_tasks(client)))


def test_stopped_task_is_replaced_by_the_scheduler(pet_lab) -> None:
    client = ecs(pet_lab)
    victim = running_tasks(client)[0]
    stopped = client.stop_task(cluster="pet-adoption", task=victim["taskArn"], reason="chaos")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    final = wait_for(
        lambda: [
            t
            for t in client.describe_tasks(cluster="pet-adoption", tasks=[victim["taskArn"]])["tasks"]
            if t["lastStatus"] == "STOPPED"
        ]
    )[0]
    assert final["stopCode"] == "UserInitiated" and final["stoppedReason"] == "chaos"
    fresh = wait_for(
        lambda: [
            t
            for t in running_tasks(client)
            if t["taskArn"] != victim["taskArn"]
            and t["lastStatus"] == "RUNNING"
            and t["availabilityZone"] == victim["availabilityZone"]
        ]
    )
    assert fresh


def test_essential_container_exit_stops_the_task_with_its_stop_code(pet_lab) -> None:
    client = ecs(pet_lab)
    victim = running_tasks(client)[0]
    status = pet_lab.status()
    ip = next(t["ip"] for t in status["tasks"] if victim["taskArn"].endswith(t["id"]))
    import subprocess

    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    ns = next(
        n
        for n in names
        if n.startswith("cl-")
        and ip in subprocess.run(["ip", "-n", n, "-4", "addr"], capture_output=True, text=True).stdout
    )
    for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
        os.kill(int(pid), 9)
    final = wait_for(
        lambda: [
            t
            for t in client.describe_tasks(cluster="pet-adoption", tasks=[victim["taskArn"]])["tasks"]
            if t["lastStatus"] == "STOPPED"
        ]
    )[0]
    assert final["stopCode"] == "EssentialContainerExited"
    assert final["stoppedReason"] == "Essential container in task exited"
    wait_for(lambda: len([t for t in running_tasks(client) if t["lastStatus"] == "RUNNING"]) == 2)
