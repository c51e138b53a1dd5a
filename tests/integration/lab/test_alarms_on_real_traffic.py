"""CloudWatch alarms on real traffic (docs/cloudwatch.md), on a real lab: seed 002's alarm (HTTPCode_Target_5XX_Count, Sum > 5,
missing data not breaching, a 2 s local period) goes to ALARM within about a period of the app
answering 500 and back to OK after it recovers; HealthyHostCount drops when a unit dies; and
RequestCountPerTarget is the target group's requests over its healthy targets."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest

from chaoslab.config import LabConfig
from chaoslab.lab import Lab
from chaoslab.stack import apply_stack, load_stack

pytestmark = pytest.mark.netns_here

PERIOD = 2


async def _traffic(url: str, stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            try:
                async with session.get(url + "/products", timeout=aiohttp.ClientTimeout(total=3)) as resp:
                    await resp.read()
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)


async def _wait_state(lab: Lab, alarm: str, state: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if lab.cloudwatch.get_alarm_state(alarm) == state:
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    raise AssertionError(f"{alarm} did not reach {state} in {timeout} s (is {lab.cloudwatch.get_alarm_state(alarm)})")


def test_5xx_alarm_follows_the_app_and_healthy_hosts_follow_the_units(tmp_path) -> None:
    async def scenario() -> None:
        doc = load_stack("default")
        octet = random.randint(130, 169)
        doc["vpc"] = {
            "cidr": f"10.{octet}.0.0/16",
            "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
        }
        doc["load_balancers"][0]["listeners"][0]["port"] = 0
        doc["alarms"][0].update(Period=PERIOD)
        lab = Lab(LabConfig(home=tmp_path / "home", api_port=0))
        await lab.start()
        stop = asyncio.Event()
        try:
            await apply_stack(lab, doc, fast=True)
            lb_arn = lab.elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
            listener = lab.elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"][0]["ListenerArn"]
            host, port = lab.elbv2.listener_address(listener)
            traffic = asyncio.create_task(_traffic(f"http://{host}:{port}", stop))
            alarm = "chaos-lab-target-5xx"
            await _wait_state(lab, alarm, "OK", 15)
            # Requests per healthy target, what target tracking on ALBRequestCountPerTarget reads.
            lb_tg = {"LoadBalancer": doc_lb(lab), "TargetGroup": doc_tg(lab)}
            deadline = time.monotonic() + 10
            while not (routed := _sums(lab, "RequestCount", lb_tg, now := time.time())) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            per_target = _sums(lab, "RequestCountPerTarget", {"TargetGroup": doc_tg(lab)}, now)
            assert routed and per_target == pytest.approx({t: n / 2 for t, n in routed.items()})

            writer = lab.rds.clusters["chaos-lab-aurora"].runtime.writer_proxies
            for proxy in writer:  # the database goes away: /products answers 500
                proxy.pause("refuse")
                await proxy.drop_all()
            took = await _wait_state(lab, alarm, "ALARM", 4 * PERIOD)
            assert took <= 3 * PERIOD, f"ALARM took {took:.1f} s with a {PERIOD} s period"

            for proxy in writer:
                proxy.resume()
            await _wait_state(lab, alarm, "OK", 8 * PERIOD)

            dims = {"LoadBalancer": doc_lb(lab), "TargetGroup": doc_tg(lab)}
            assert _latest(lab, "HealthyHostCount", dims) == 2
            for group in lab.autoscaling.groups.values():
                group.sweep_seconds = 3600  # no replacement: watch the count itself
            victim = sorted(lab.ec2.instances)[0]
            await lab.ec2.stop_instances([victim])
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _latest(lab, "HealthyHostCount", dims) != 1:
                await asyncio.sleep(0.2)
            assert _latest(lab, "HealthyHostCount", dims) == 1
            stop.set()
            await traffic
        finally:
            stop.set()
            await lab.stop()

    asyncio.run(scenario())


def doc_lb(lab: Lab) -> str:
    return lab.elbv2.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"].split(":loadbalancer/")[1]


def doc_tg(lab: Lab) -> str:
    return lab.elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"].split(":", 5)[5]


def _sums(lab: Lab, metric: str, dims: dict[str, str], now: float) -> dict[float, float]:
    """Per-second sums over the last five complete seconds."""
    points = lab.cloudwatch.statistics("AWS/ApplicationELB", metric, dims, now - 6, now - 1, 1)
    return {t: agg.total for t, agg in points}


def _latest(lab: Lab, metric: str, dims: dict[str, str]) -> float | None:
    now = time.time()
    points = lab.cloudwatch.statistics("AWS/ApplicationELB", metric, dims, now - 3, now, 1)
    return points[-1][1].minimum if points else None
