"""Spot interruptions (EC2 Spot instance; the lab-only Fargate Spot action) and the refusal of
namespace-only network faults in loopback mode — neither needs root, so they run on a loopback lab."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from net_lab import ALLOW_ALL, TRUST, context, static_task, task_resource, wait_port

from chaoslab.config import LabConfig
from chaoslab.lab import Lab
from chaoslab.services.fis.executors import ActionContext, ActionFailure
from chaoslab.services.fis.registry import REGISTRY
from chaoslab.services.fis.selection import Resource

PORT = random.randint(20000, 40000)  # loopback units share 127.0.x.y with other labs on this host


async def loopback_lab(home: Path) -> Lab:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    await lab.ec2.create_vpc("10.0.0.0/16", {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"})
    lab.iam.create_role("net-fis-role", json.dumps(TRUST))
    lab.iam.put_role_policy("net-fis-role", "all", json.dumps(ALLOW_ALL))
    return lab


async def until(check: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.05)


async def spot_scenario(home: Path) -> dict[str, Any]:
    lab = await loopback_lab(home)
    try:
        spot = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"), spot=True, port=PORT)
        plain = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"), port=PORT)
        ctx = context(lab, "aws:ec2:send-spot-instance-interruptions")
        res = Resource(
            spot.arn(lab.config.region, lab.config.account_id),
            "aws:ec2:spot-instance",
            spot.to_record(lab.config.account_id),
        )
        started = time.monotonic()
        run = asyncio.create_task(
            REGISTRY["ec2.send_spot_instance_interruptions"](
                ctx, {"SpotInstances": [res]}, {"durationBeforeInterruption": "PT2M"}
            )
        )  # 2 s at this time scale
        await until(lambda: lab.events.since(0, {"ec2.spot_interruption_warning"}))
        warned_state = spot.state
        await run
        await until(lambda: spot.state == "terminated")
        out: dict[str, Any] = {
            "warned_state": warned_state,
            "interrupted_after": time.monotonic() - started,
            "plain": plain.state,
            "reason": spot.to_record(lab.config.account_id)["StateReason"]["Code"],
        }

        plain_res = Resource(
            plain.arn(lab.config.region, lab.config.account_id),
            "aws:ec2:spot-instance",
            plain.to_record(lab.config.account_id),
        )
        with pytest.raises(ActionFailure) as refused:
            await REGISTRY["ec2.send_spot_instance_interruptions"](
                ctx, {"SpotInstances": [plain_res]}, {"durationBeforeInterruption": "PT2M"}
            )
        out["on_demand_refused"] = refused.value.code

        spot_task = await static_task(lab, capacity_provider="FARGATE_SPOT", port=PORT)
        task = await static_task(lab, port=PORT)
        ctx = context(lab, "chaoslab:ecs:fargate-spot-interruption")
        run = asyncio.create_task(
            REGISTRY["ecs.fargate_spot_interruption"](
                ctx, {"Tasks": [task_resource(spot_task), task_resource(task)]}, {"durationBeforeInterruption": "PT2M"}
            )
        )
        await until(lambda: lab.events.since(0, {"ecs.task_event"}))
        out["task_during_warning"] = (spot_task.desired_status, spot_task.stop_code)
        await run
        await until(lambda: spot_task.last_status == "STOPPED")
        out["task_stop"] = (spot_task.stop_code, spot_task.stopped_reason)
        out["on_demand_task"] = task.last_status
        out["warning"] = lab.events.since(0, {"ecs.task_event"})[0]["message"]
        return out
    finally:
        await lab.stop()


def test_spot_interruptions(tmp_path: Path) -> None:
    got = asyncio.run(spot_scenario(tmp_path))
    print(got)
    assert got["warned_state"] == "running" and got["plain"] == "running", got
    assert 1.9 <= got["interrupted_after"] < 10, got
    assert got["reason"] == "Server.SpotInstanceTermination", got
    assert got["on_demand_refused"] == "InvalidTarget", got
    assert got["task_during_warning"] == ("STOPPED", "SpotInterruption"), got
    assert got["warning"] == "Spot interruption warning", got
    assert got["task_stop"] == ("SpotInterruption", "Your Spot Task was interrupted."), got
    assert got["on_demand_task"] == "RUNNING", got


async def loopback_refusal(home: Path) -> dict[str, list[tuple[str, str]]]:
    lab = await loopback_lab(home)
    try:
        task = await static_task(lab, port=PORT)
        # AWS's managed ECS policy is enough to get past the permission checks (to the netns
        # refusal); a role without ssm:SendCommand on the AWSFIS document is refused first.
        lab.iam.create_role("ecs-fis-role", json.dumps(TRUST))
        lab.iam.attach_role_policy(
            "ecs-fis-role", "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorECSAccess"
        )
        lab.iam.create_role("bare-role", json.dumps(TRUST))
        out: dict[str, list[tuple[str, str]]] = {"net-fis-role": [], "ecs-fis-role": [], "bare-role": []}
        for executor, params in (
            ("ecs.task_network_blackhole_port", {"port": "80", "trafficType": "ingress", "duration": "PT1M"}),
            ("ecs.task_network_packet_loss", {"lossPercent": "10", "duration": "PT1M"}),
            ("ecs.task_network_latency", {"delayMilliseconds": "100", "duration": "PT1M"}),
        ):
            for role in out:
                ctx = ActionContext(lab, "EXPrefusal", lab.iam.get_role(role).arn, "act", executor)
                with pytest.raises(ActionFailure) as refused:
                    await REGISTRY[executor](ctx, {"Tasks": [task_resource(task)]}, params)
                out[role].append((refused.value.code, refused.value.reason))
                assert not ctx.journaled  # refused before anything was recorded or changed
        return out
    finally:
        await lab.stop()


def test_network_faults_refused_in_loopback_mode(tmp_path: Path) -> None:
    got = asyncio.run(loopback_refusal(tmp_path))
    for code, reason in got["net-fis-role"] + got["ecs-fis-role"]:
        assert code == "ConfigurationFailure" and "root on Linux" in reason and "netns" in reason, reason
    for code, reason in got["bare-role"]:
        assert code == "AuthorizationFailure" and "ecs:DescribeTasks" in reason, reason


async def fargate_spot_experiment(home: Path) -> dict[str, Any]:
    lab = await loopback_lab(home)
    try:
        lab.fis.time_scale = 0.02  # PT2M lasts 2.4 s
        first = await static_task(lab, port=PORT)  # registers the task definition; not Spot, so spared
        lab.ecs.create_service(
            "net",
            "spot",
            first.task_definition["family"],
            1,
            capacity_provider_strategy=[{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
            network_configuration={"awsvpcConfiguration": {"subnets": [lab.ec2.subnet("us-east-1a").subnet_id]}},
        )
        service = lab.ecs.services[("net", "spot")]
        await until(lambda: any(t.last_status == "RUNNING" for t in lab.ecs.tasks.values() if t.service == "spot"))
        (spot_task,) = [t for t in lab.ecs.tasks.values() if t.service == "spot"]
        await wait_port(spot_task.private_ip, PORT)
        template = lab.fis.create_experiment_template(
            {
                "description": "Fargate Spot interruption (lab-only action)",
                "roleArn": lab.iam.get_role("net-fis-role").arn,
                "stopConditions": [{"source": "none"}],
                "targets": {
                    "Tasks": {"resourceType": "aws:ecs:task", "selectionMode": "ALL", "parameters": {"cluster": "net"}}
                },
                "actions": {
                    "interrupt": {"actionId": "chaoslab:ecs:fargate-spot-interruption", "targets": {"Tasks": "Tasks"}}
                },
            }
        )
        exp = await lab.fis.start_experiment(template["id"])
        await until(lambda: lab.events.since(0, {"ecs.task_event"}))
        warned = time.monotonic()
        # the static app exits on the SIGTERM that comes with the warning, so the task stops
        # well before the warning's 2.4 s are over
        await until(lambda: spot_task.last_status == "STOPPED")
        stopped_after = time.monotonic() - warned
        await until(
            lambda: any(
                t.last_status == "RUNNING" and t is not spot_task for t in lab.ecs.tasks.values() if t.service == "spot"
            )
        )
        (replacement,) = [t for t in lab.ecs.tasks.values() if t.service == "spot" and t is not spot_task]
        done = await lab.fis.wait_experiment(exp["id"], 30)
        described = [e["message"] for e in lab.ecs.describe_service(service)["events"]]
        shown = lab.ecs.get_task("net", spot_task.arn).describe()  # what DescribeTasks returns
        return {
            "status": done["state"]["status"],
            "stop_code": spot_task.stop_code,
            "described": (shown["stopCode"], shown["stoppedReason"], shown["capacityProviderName"]),
            "stopped_after": stopped_after,
            "replacement": (replacement.capacity_provider, replacement.last_status),
            "spared": first.last_status,
            "warnings": len(lab.events.since(0, {"ecs.task_event"})),
            "service_events": [m for m in described if "Spot interruption warning" in m],
        }
    finally:
        await lab.stop()


def test_fargate_spot_lab_action_as_an_experiment(tmp_path: Path) -> None:
    """The lab-only action from the catalogue, through the engine: only the FARGATE_SPOT task gets
    the warning (also as a service event DescribeServices shows) with SIGTERM, stops with
    SpotInterruption, and the service runs a replacement on its strategy's provider."""
    got = asyncio.run(fargate_spot_experiment(tmp_path))
    assert (got["status"], got["stop_code"], got["spared"], got["warnings"]) == (
        "completed",
        "SpotInterruption",
        "RUNNING",
        1,
    ), got
    assert len(got["service_events"]) == 1, got
    assert got["described"] == ("SpotInterruption", "Your Spot Task was interrupted.", "FARGATE_SPOT"), got
    assert got["stopped_after"] < 2.0, got  # SIGTERM at the warning, not when it ends
    assert got["replacement"] == ("FARGATE_SPOT", "RUNNING"), got
