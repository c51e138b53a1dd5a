"""`aws:ecs:stop-task` against the whole lab: a service's real task processes, chosen by the
aws:ecs:task cluster/service parameters and an AvailabilityZone filter; the service replaces it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psutil

from chaoslab.config import LabConfig
from chaoslab.lab import Lab

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ecs:StopTask", "ecs:DescribeTasks", "ecs:ListTasks"], "Resource": "*"}
    ],
}


def running(lab: Lab) -> list[dict[str, Any]]:
    return [t for t in lab.ecs.describe_task_records(cluster="shop", service="web") if t["lastStatus"] == "RUNNING"]


async def until(check: Any, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    try:
        lab.fis.time_scale = 0.01
        vpc = await lab.ec2.create_vpc("10.0.0.0/16", {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"})
        lab.ecs.create_cluster("shop")
        lab.ecs.task_definitions.register(
            {
                "family": "web",
                "containerDefinitions": [
                    {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8080}]}
                ],
            }
        )
        lab.ecs.create_service(
            "shop",
            "web",
            "web",
            2,
            network_configuration={"awsvpcConfiguration": {"subnets": [s.subnet_id for s in vpc.subnets.values()]}},
        )
        await until(lambda: len(running(lab)) == 2)
        before = {t["taskArn"]: t["availabilityZone"] for t in running(lab)}
        pids = [pid for pid, _, _ in lab.store.owned_processes()]

        lab.iam.create_role("fis", json.dumps(TRUST))
        lab.iam.put_role_policy("fis", "ecs", json.dumps(POLICY))
        body = {
            "description": "stop the web task in us-east-1b",
            "roleArn": lab.iam.get_role("fis").arn,
            "stopConditions": [{"source": "none"}],
            "targets": {
                "Web": {
                    "resourceType": "aws:ecs:task",
                    "selectionMode": "COUNT(1)",
                    "parameters": {"cluster": "shop", "service": "web"},
                    "filters": [{"path": "AvailabilityZone", "values": ["us-east-1b"]}],
                }
            },
            "actions": {
                "Kill": {"actionId": "aws:ecs:stop-task", "targets": {"Tasks": "Web"}},
                "Watch": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["Kill"]},
            },
        }
        t = lab.fis.create_experiment_template(body)
        exp = await lab.fis.wait_experiment((await lab.fis.start_experiment(t["id"]))["id"], 30)
        (target,) = lab.fis.list_experiment_resolved_targets(exp["id"])[0]
        victim = target["targetInformation"]["arn"]
        await until(lambda: len(running(lab)) == 2 and victim not in {r["taskArn"] for r in running(lab)})
        stopped = lab.ecs.task_by_arn(victim).describe()
        return {"exp": exp, "before": before, "victim": victim, "stopped": stopped, "pids": pids}
    finally:
        await lab.stop()


def test_stop_task_in_one_az_for_real(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    assert got["exp"]["state"]["status"] == "completed", got["exp"]["state"]
    assert got["before"][got["victim"]] == "us-east-1b"
    assert got["stopped"]["stoppedReason"] == f"Task stopped by AWS FIS experiment {got['exp']['id']}"
    assert got["pids"]
    assert not [p for p in got["pids"] if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
