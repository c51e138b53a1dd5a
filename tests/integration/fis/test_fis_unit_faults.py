"""ECS task actions and disrupt-connectivity against real tasks in network namespaces (root):
a blackholed port really stops answering, CPU stress workers really run, and everything is gone
when the actions end."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import psutil
import pytest

from chaoslab.config import LabConfig
from chaoslab.lab import Lab

pytestmark = pytest.mark.netns_here

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


async def answers(ip: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 0.3)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True


async def until(check: Any, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        result = check()
        if await result if asyncio.iscoroutine(result) else result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


def workers_of(task_id: str) -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if "chaoslab.faults.worker" in " ".join(p.info["cmdline"] or [])
        and task_id in " ".join(p.info["cmdline"] or [])
    ]


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="auto")
    await lab.start()
    seen: dict[str, Any] = {}
    try:
        lab.fis.time_scale = 0.05  # PT1M -> 3 s
        await lab.ec2.create_vpc("10.77.0.0/16", {"us-east-1a": "10.77.10.0/24", "us-east-1b": "10.77.11.0/24"})
        subnet = lab.ec2.subnet("us-east-1a")
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
            "shop", "web", "web", 1, network_configuration={"awsvpcConfiguration": {"subnets": [subnet.subnet_id]}}
        )
        await until(lambda: [t for t in lab.ecs.describe_task_records("shop") if t["lastStatus"] == "RUNNING"])
        (task,) = lab.ecs.describe_task_records("shop")
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        ip = lab.ecs.tasks[task_id].private_ip
        await until(lambda: answers(ip, 8080))
        seen["netns"] = lab.ecs.tasks[task_id].unit.sandbox.netns

        lab.iam.create_role("fis", json.dumps(TRUST))
        lab.iam.put_role_policy("fis", "all", json.dumps(ALLOW))
        body = {
            "description": "blackhole the web port and stress the CPU, then cut the subnet off",
            "roleArn": lab.iam.get_role("fis").arn,
            "stopConditions": [{"source": "none"}],
            "targets": {
                "Web": {
                    "resourceType": "aws:ecs:task",
                    "selectionMode": "ALL",
                    "parameters": {"cluster": "shop", "service": "web"},
                },
                "SubnetA": {
                    "resourceType": "aws:ec2:subnet",
                    "selectionMode": "ALL",
                    "resourceArns": [f"arn:aws:ec2:us-east-1:123456789012:subnet/{subnet.subnet_id}"],
                },
            },
            "actions": {
                "Blackhole": {
                    "actionId": "aws:ecs:task-network-blackhole-port",
                    "targets": {"Tasks": "Web"},
                    "parameters": {"duration": "PT1M", "port": "8080", "trafficType": "ingress"},
                },
                "Cpu": {
                    "actionId": "aws:ecs:task-cpu-stress",
                    "targets": {"Tasks": "Web"},
                    "parameters": {"duration": "PT1M", "percent": "20", "workers": "1"},
                },
                "Cut": {
                    "actionId": "aws:network:disrupt-connectivity",
                    "targets": {"Subnets": "SubnetA"},
                    "parameters": {"duration": "PT1M", "scope": "all"},
                    "startAfter": ["Blackhole", "Cpu"],
                },
            },
        }
        t = lab.fis.create_experiment_template(body)
        exp = await lab.fis.start_experiment(t["id"])
        await until(lambda: lab.fis.get_experiment(exp["id"])["actions"]["Blackhole"]["state"]["status"] == "running")
        await until(lambda: len(workers_of(task_id)) == 1)
        await asyncio.sleep(0.2)
        seen["blackholed"] = not await answers(ip, 8080)
        await until(
            lambda: any(e["fault"] == "network.disrupt_connectivity" for e in lab.events.since(0, {"fault.applied"}))
        )
        seen["reverted_first"] = [e["fault"] for e in lab.events.since(0, {"fault.reverted", "fault.applied"})]
        seen["cut"] = not await answers(ip, 8080)
        seen["exp"] = await lab.fis.wait_experiment(exp["id"], 30)
        seen["after"] = await answers(ip, 8080)
        seen["workers_after"] = workers_of(task_id)
        seen["pending"] = lab.store.journal_pending()
        return seen
    finally:
        await lab.stop()
        seen["namespaces_after"] = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_task_faults_in_namespaces(tmp_path: Path) -> None:
    seen = asyncio.run(scenario(tmp_path))
    assert seen["exp"]["state"]["status"] == "completed", seen["exp"]["state"]
    assert seen["blackholed"] and seen["cut"] and seen["after"]
    order = seen["reverted_first"]  # both first actions' faults were reverted before the cut began
    assert order.index("network.disrupt_connectivity") > max(
        i for i, f in enumerate(order) if f in ("network.rules", "stress.workers")
    )
    assert seen["workers_after"] == [] and seen["pending"] == []
    assert seen["netns"] and seen["netns"] not in seen["namespaces_after"].split()
