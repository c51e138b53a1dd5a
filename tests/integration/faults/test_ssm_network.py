"""The SSM network documents delegate to chaoslab.faults.network on an instance's namespace:
a blackholed port times out while another answers, latency is added to responses, and
cancelling the command restores both."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from fault_lab import fault_lab, needs_netns, running_instance

pytestmark = needs_netns


async def connects(ip: str, port: int, timeout: float) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True


async def wait_until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


def fetch_ms(url: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=5) as response:
        response.read()
    return (time.perf_counter() - t0) * 1000


async def p50(url: str, n: int = 15) -> float:
    return statistics.median([await asyncio.to_thread(fetch_ms, url) for _ in range(n)])


def test_blackhole_and_latency_documents(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            ip = inst.private_ip
            await inst.unit.spawn_extra(
                "second-port", [sys.executable, "-m", "http.server", "8081", "--bind", "0.0.0.0"]
            )
            assert await wait_until(lambda: connects(ip, 8081, 0.5))
            cmd = await lab.ssm.send_command(
                "AWSFIS-Run-Network-Blackhole-Port",
                [inst.instance_id],
                {"DurationSeconds": ["60"], "Port": ["80"], "Protocol": ["tcp"]},
            )
            assert await wait_until(lambda: _not(connects(ip, 80, 0.5)))
            assert await connects(ip, 8081, 1.0)
            await lab.ssm.cancel_command(cmd.command_id)
            assert cmd.status == "Cancelled"
            assert await connects(ip, 80, 2.0)

            url = f"http://{ip}/health"
            base = await p50(url)
            cmd = await lab.ssm.send_command(
                "AWSFIS-Run-Network-Latency",
                [inst.instance_id],
                {"DurationSeconds": ["60"], "DelayMilliseconds": ["200"]},
            )
            for _ in range(100):
                if any(name.startswith("delayproxy-") for name in inst.unit.extras):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            slow = await p50(url)
            await lab.ssm.cancel_command(cmd.command_id)
            after = await p50(url)
            assert lab.store.journal_pending() == []
            return {"base": base, "slow": slow, "after": after}

    m = asyncio.run(scenario())
    print(f"\nSSM Network-Latency 200 ms: p50 {m['base']:.1f} ms -> {m['slow']:.1f} ms -> {m['after']:.1f} ms")
    assert 160 <= m["slow"] - m["base"] <= 260
    assert m["after"] < m["base"] + 50


async def _not(awaitable) -> bool:
    return not await awaitable
