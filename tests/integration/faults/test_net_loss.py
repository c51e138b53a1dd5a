"""aws:ecs:task-network-packet-loss on a real task, measured with UDP echoes from the host:
a datagram comes back only if neither direction dropped it, so the echo rate must be within
four binomial standard deviations of (1 - loss)²; with flowsPercent, each flow (a new source
port) is either spared or hit, so with lossPercent 100 about flowsPercent % of the flows die."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import sys
import time
from pathlib import Path

from net_lab import context, needs_netns, net_lab, rules_of, run_for, static_task, task_resource

pytestmark = needs_netns

ECHO_PORT = 9999
ECHO = (
    "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 9999))\n"
    "while True:\n    d, a = s.recvfrom(2048)\n    s.sendto(d, a)"
)


def echo_rate(ip: str, n: int) -> float:
    """Share of n numbered datagrams on one flow that came back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    got: set[int] = set()
    for i in range(n):
        s.sendto(str(i).encode(), (ip, ECHO_PORT))
        time.sleep(0.0005)
        with contextlib.suppress(BlockingIOError):
            s.setblocking(False)
            while True:
                got.add(int(s.recv(64)))
    s.setblocking(True)
    s.settimeout(0.5)
    with contextlib.suppress(socket.timeout):
        while True:
            got.add(int(s.recv(64)))
    s.close()
    return len(got) / n


def flow_rate(ip: str, flows: int) -> float:
    """Share of flows (one socket, one datagram each) that got their echo."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    for s in socks:
        s.sendto(b"x", (ip, ECHO_PORT))
    time.sleep(0.5)
    alive = 0
    for s in socks:
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.recv(64)
            alive += 1
        s.close()
    return alive / flows


def within(measured: float, expected: float, n: int) -> bool:
    return abs(measured - expected) <= 4 * math.sqrt(expected * (1 - expected) / n) + 1e-9


async def scenario(home: Path) -> dict[str, float]:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        await task.unit.spawn_extra("udp-echo", [sys.executable, "-c", ECHO])
        for _ in range(100):
            if await asyncio.to_thread(echo_rate, task.private_ip, 1) == 1.0:
                break
        before = await rules_of(task.unit)
        out: dict[str, float] = {"base": await asyncio.to_thread(echo_rate, task.private_ip, 200)}

        ctx = context(lab, "aws:ecs:task-network-packet-loss")
        running = await run_for(
            ctx,
            "ecs.task_network_packet_loss",
            {"Tasks": [task_resource(task)]},
            {"duration": "PT10M", "lossPercent": "30", "flowsPercent": "100", "sources": "ALL"},
        )
        out["echo_30"] = await asyncio.to_thread(echo_rate, task.private_ip, 1000)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await ctx.revert_all()
        assert await rules_of(task.unit) == before

        ctx = context(lab, "aws:ecs:task-network-packet-loss")
        running = await run_for(
            ctx,
            "ecs.task_network_packet_loss",
            {"Tasks": [task_resource(task)]},
            {"duration": "PT10M", "lossPercent": "100", "flowsPercent": "50", "sources": "us-east-1a"},
        )
        out["flows_50"] = await asyncio.to_thread(flow_rate, task.private_ip, 300)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await ctx.revert_all()
        assert await rules_of(task.unit) == before
        out["after"] = await asyncio.to_thread(echo_rate, task.private_ip, 200)
    return out


def test_packet_loss_rate_and_flows(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    loss = 1 - math.sqrt(got["echo_30"])
    print(
        f"echo rate {got['echo_30']:.3f} at lossPercent 30 (expected 0.490) -> per-direction loss {loss:.3f}; "
        f"flows alive {got['flows_50']:.3f} at flowsPercent 50/lossPercent 100; "
        f"before {got['base']:.3f}, after revert {got['after']:.3f}"
    )
    assert got["base"] >= 0.99 and got["after"] >= 0.99, got  # a busy host may drop the odd datagram
    assert within(got["echo_30"], 0.49, 1000), got
    assert within(got["flows_50"], 0.5, 300), got
