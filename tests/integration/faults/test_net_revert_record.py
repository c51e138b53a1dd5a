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
from chaoslab.services.fis.registry import REVERTERS

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
        latency = net.latency_record(
            task.arn, task.task_id, netns, delay_ms=50, jitter_ms=0, flows_percent=100, sources=None, ingress_ports=[80]
        )
        loss = net.rules_record(task.arn, rules.packet_loss(netns, net.new_tag(), 5, 50, None))
        blackhole = net.rules_record(task.arn, rules.blackhole(netns, net.new_tag(), 81, "udp", "egress"))
        records = [
            (fault, json.loads(json.dumps(record)))  # as stored in the journal
            for fault, record in (("network.latency", latency), ("network.rules", loss), ("network.rules", blackhole))
        ]
        await net.apply_latency(task.unit, latency)
        await net.apply_rules(loss)
        await net.apply_rules(blackhole)
        assert proxies_in(netns) and await rules_of(task.unit) != before

        crashed = SimpleNamespace(ec2=SimpleNamespace(instances={}), ecs=SimpleNamespace(tasks={}))
        for fault, record in reversed(records):
            await REVERTERS[fault](crashed, record)
        await asyncio.sleep(0.2)
        assert not proxies_in(netns)
        assert await rules_of(task.unit) == before
        for fault, record in records:  # idempotent
            await REVERTERS[fault](crashed, record)
        assert await rules_of(task.unit) == before

        await lab.ecs.stop_task("net", task.arn)
        for _ in range(200):
            if task.last_status == "STOPPED":
                break
            await asyncio.sleep(0.05)
        assert not Path(f"/run/netns/{netns}").exists()
        for fault, record in records:  # the namespace is gone: nothing to do, no error
            await REVERTERS[fault](crashed, record)


def test_revert_from_record_alone(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path))


async def overlapping_latency(home: Path) -> None:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        netns = task.unit.sandbox.netns
        before = await rules_of(task.unit)

        def record() -> dict:
            return net.latency_record(
                task.arn,
                task.task_id,
                netns,
                delay_ms=50,
                jitter_ms=0,
                flows_percent=100,
                sources=None,
                ingress_ports=[80],
            )

        first, second = record(), record()
        await net.apply_latency(task.unit, first)
        with_first = await rules_of(task.unit)
        with pytest.raises(net.NetworkFaultError, match="parallel"):
            await net.apply_latency(task.unit, second)
        await REVERTERS["network.latency"](lab, second)  # the failed action's revert leaves the first alone
        assert len(proxies_in(netns)) == 1 and await rules_of(task.unit) == with_first
        await REVERTERS["network.latency"](lab, first)
        await asyncio.sleep(0.2)
        assert not proxies_in(netns) and await rules_of(task.unit) == before


def test_a_second_latency_fault_on_a_unit_is_refused(tmp_path: Path) -> None:
    asyncio.run(overlapping_latency(tmp_path))
