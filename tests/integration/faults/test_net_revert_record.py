"""Reverting from the undo record alone, as a restarted lab does after a crash: the lab that
applied the faults no longer knows the unit, yet the reverters remove the rules and find the
delay proxy by its tag; reverting again, or after the namespace is gone, does nothing."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from net_lab import needs_netns, net_lab, rules_of, static_task

from chaoslab.faults import network as net
from chaoslab.faults import network_rules as rules
from chaoslab.faults.base import FaultStartError
from chaoslab.faults.registry import REGISTRY

pytestmark = needs_netns


def proxies_in(netns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    found = []
    for pid in map(int, out):
        try:
            if net.PROXY_MODULE in psutil.Process(pid).cmdline():
                found.append(pid)
        except psutil.Error:
            continue
    return found


async def scenario(home: Path) -> None:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        netns = task.unit.sandbox.netns
        before = await rules_of(task.unit)
        records: list[tuple[str, dict]] = []

        def journal(fault: str, record: dict) -> None:
            records.append((fault, json.loads(json.dumps(record))))  # as stored in the journal

        latency = net.NetworkLatency(
            task.unit, task.arn, netns, delay_ms=50, jitter_ms=0, flows_percent=100, sources=None, ingress_ports=[80]
        )
        await latency.apply(journal)
        await net.NetworkRules(task.arn, rules.packet_loss(netns, net.new_tag(), 5, 50, None)).apply(journal)
        await net.NetworkRules(task.arn, rules.blackhole(netns, net.new_tag(), 81, "udp", "egress")).apply(journal)
        assert [fault for fault, _ in records] == ["network.latency", "network.rules", "network.rules"]
        assert proxies_in(netns) and await rules_of(task.unit) != before

        crashed = SimpleNamespace(ec2=SimpleNamespace(instances={}), ecs=SimpleNamespace(tasks={}))
        for fault, record in reversed(records):
            await REGISTRY[fault].revert(crashed, record)
        await asyncio.sleep(0.2)
        assert not proxies_in(netns)
        assert await rules_of(task.unit) == before
        for fault, record in records:  # idempotent
            await REGISTRY[fault].revert(crashed, record)
        assert await rules_of(task.unit) == before

        await lab.ecs.stop_task("net", task.arn)
        for _ in range(200):
            if task.last_status == "STOPPED":
                break
            await asyncio.sleep(0.05)
        assert not Path(f"/run/netns/{netns}").exists()
        for fault, record in records:  # the namespace is gone: nothing to do, no error
            await REGISTRY[fault].revert(crashed, record)


def test_revert_from_record_alone(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path))


async def overlapping_latency(home: Path) -> None:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        netns = task.unit.sandbox.netns
        before = await rules_of(task.unit)

        records: list[dict] = []

        def fault() -> net.NetworkLatency:
            return net.NetworkLatency(
                task.unit,
                task.arn,
                netns,
                delay_ms=50,
                jitter_ms=0,
                flows_percent=100,
                sources=None,
                ingress_ports=[80],
            )

        first = await fault().apply(lambda _, record: records.append(record))
        with_first = await rules_of(task.unit)
        with pytest.raises(FaultStartError, match="parallel"):
            await fault().apply(lambda _, record: records.append(record))
        second = records[-1]  # journaled before the refusal
        await net.NetworkLatency.revert(lab, second)  # the failed action's revert leaves the first alone
        assert len(proxies_in(netns)) == 1 and await rules_of(task.unit) == with_first
        await net.NetworkLatency.revert(lab, first)
        await asyncio.sleep(0.2)
        assert not proxies_in(netns) and await rules_of(task.unit) == before


def test_a_second_latency_fault_on_a_unit_is_refused(tmp_path: Path) -> None:
    asyncio.run(overlapping_latency(tmp_path))
