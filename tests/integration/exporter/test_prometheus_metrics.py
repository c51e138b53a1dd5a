"""The /metrics exposition of a real lab (real instances behind the real ALB, real PostgreSQL),
read with Prometheus's own parser: every family is there, and the gauges and counters move
while FIS stops an instance and traffic flows."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from chaoslab.config import LabConfig
from chaoslab.daemon import wait_ready
from chaoslab.lab import Lab
from chaoslab.stack import apply_stack, resolve_stack_path

ROOT = Path(__file__).parents[3]
TEMPLATE = ROOT / "examples" / "templates" / "seed003-stop-instance.json"
DASHBOARD = ROOT / "contrib" / "grafana" / "chaoslab.json"
FAMILIES = {
    "chaoslab_alb_requests",
    "chaoslab_alb_target_response_seconds",
    "chaoslab_alb_target_health",
    "chaoslab_alb_target_inflight_requests",
    "chaoslab_unit_state",
    "chaoslab_alarm_state",
    "chaoslab_fis_experiments",
    "chaoslab_fis_action_state",
    "chaoslab_active_faults",
    "chaoslab_db_instance_role",
    "chaoslab_db_instance_status",
    "chaoslab_db_replication_lag_bytes",
    "chaoslab_db_replication_lag_seconds",
    "chaoslab_db_reader_streaming",
}
Samples = list[tuple[str, dict[str, str], float]]


def private_stack() -> dict[str, Any]:
    """The bundled stack on a random private VPC, its listener on a free port."""
    octet = random.randint(200, 249)
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    return doc


async def scrape(session: aiohttp.ClientSession, url: str) -> tuple[set[str], Samples]:
    async with session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await resp.text()
    families = list(text_string_to_metric_families(text))
    samples = [(s.name, s.labels, s.value) for f in families for s in f.samples]
    return {f.name for f in families}, samples


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items()))


def health(samples: Samples) -> dict[str, str]:
    """target id -> its current health state."""
    return {lab["target"]: lab["state"] for n, lab, v in samples if n == "chaoslab_alb_target_health" and v == 1}


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    out: dict[str, Any] = {}
    try:
        await apply_stack(lab, private_stack(), fast=True)
        assert await wait_ready(lab, 90), "targets never became healthy"
        lab.fis.time_scale = 0.06  # PT1M -> 3.6 s
        api = lab.config.endpoint_url
        listener = next(iter(lab.elbv2.listeners))
        host, port = lab.elbv2.listener_address(listener)
        async with aiohttp.ClientSession() as s:
            out["names"], out["before"] = await scrape(s, f"{api}/metrics")
            out["lab_path"], _ = await scrape(s, f"{api}/_chaoslab/metrics")
            for _ in range(20):
                async with s.get(f"http://{host}:{port}/health") as resp:
                    await resp.read()
            await asyncio.sleep(1.2)  # the ALB folds response times in once a second
            _, out["traffic"] = await scrape(s, f"{api}/metrics")

            body = json.loads(TEMPLATE.read_text())
            body["actions"]["stop-instance"]["parameters"] = {"startInstancesAfterDuration": "PT1M"}
            template = lab.fis.create_experiment_template(body)
            exp = await lab.fis.start_experiment(template["id"])
            during: list[Samples] = []
            while lab.fis.get_experiment(exp["id"])["state"]["status"] not in ("completed", "failed", "stopped"):
                during.append((await scrape(s, f"{api}/metrics"))[1])
                await asyncio.sleep(0.5)
            out["during"] = during
            out["final_state"] = lab.fis.get_experiment(exp["id"])["state"]
            _, out["after"] = await scrape(s, f"{api}/metrics")

            # a paused writer cannot answer the lag query: the scrape goes on without it
            writer = lab.rds.clusters["chaos-lab-aurora"].runtime.writer.server.pid
            os.kill(writer, signal.SIGSTOP)
            try:
                loop = asyncio.get_running_loop()
                out["paused"], out["paused_seconds"] = [], []
                for _ in range(3):
                    began = loop.time()
                    out["paused"].append((await scrape(s, f"{api}/metrics"))[1])
                    out["paused_seconds"].append(loop.time() - began)
            finally:
                os.kill(writer, signal.SIGCONT)
        return out
    finally:
        await lab.stop()


def test_metrics_are_exposed_and_move_during_a_fault(tmp_path: Path) -> None:
    out = asyncio.run(scenario(tmp_path))
    assert FAMILIES <= out["names"], FAMILIES - out["names"]
    assert FAMILIES <= out["lab_path"]
    before, traffic, during, after = out["before"], out["traffic"], out["during"], out["after"]

    # steady state: two healthy targets, two running instances, a writer and a reader, no fault
    assert sorted(health(before).values()) == ["healthy", "healthy"]
    assert total(before, "chaoslab_unit_state", kind="instance", state="running") == 2
    assert total(before, "chaoslab_db_instance_role", role="writer") == 1
    assert total(before, "chaoslab_db_instance_role", role="reader") == 1
    assert total(before, "chaoslab_alarm_state", alarm="chaos-lab-target-5xx") == 1  # one state at a time
    assert total(before, "chaoslab_active_faults") == 0
    assert total(before, "chaoslab_fis_experiments", state="running") == 0

    # traffic: the requests counter and the latency histogram grew by what was sent
    sent = total(traffic, "chaoslab_alb_requests_total", code_class="2xx", source="target") - total(
        before, "chaoslab_alb_requests_total", code_class="2xx", source="target"
    )
    assert sent >= 20
    assert total(traffic, "chaoslab_alb_target_response_seconds_count") >= 20
    assert total(traffic, "chaoslab_alb_target_response_seconds_bucket", le="+Inf") >= 20

    # the fault window: an instance stopped, its target left `healthy`, the fault journaled
    assert out["final_state"]["status"] == "completed", out["final_state"]
    assert any(total(x, "chaoslab_fis_experiments", state="running") == 1 for x in during)
    assert any(total(x, "chaoslab_fis_action_state", action="stop-instance", state="running") == 1 for x in during)
    assert any(total(x, "chaoslab_active_faults", fault="ec2.start_instances") == 1 for x in during)
    # `stopping` counts: on a loaded machine the 3.6 s window can end before the stop completes
    assert any(
        total(x, "chaoslab_unit_state", kind="instance", state="stopping")
        + total(x, "chaoslab_unit_state", kind="instance", state="stopped")
        >= 1
        for x in during
    )
    assert any("healthy" in health(x).values() and set(health(x).values()) != {"healthy"} for x in during)
    assert total(after, "chaoslab_active_faults") == 0
    assert total(after, "chaoslab_fis_experiments", state="completed") == 1

    # the Grafana dashboard asks only for series the lab serves
    served = out["names"] | {name for name, _, _ in [*before, *after, *(x for d in during for x in d)]}
    asked = set(re.findall(r"\bchaoslab_[a-z_]+", DASHBOARD.read_text()))
    assert asked and asked <= served, asked - served

    # the reader streams from the writer, and the writer reports how far behind it is
    assert total(after, "chaoslab_db_reader_streaming", instance="chaos-lab-aurora-2") == 1
    assert [v for n, lab, v in after if n == "chaoslab_db_replication_lag_bytes"] != []
    for paused in out["paused"]:
        assert total(paused, "chaoslab_db_reader_streaming", instance="chaos-lab-aurora-2") == 0
        assert total(paused, "chaoslab_db_instance_role", role="writer") == 1
    assert max(out["paused_seconds"]) < 1.5, out["paused_seconds"]  # 0.5 s lag timeout, not 5 s
