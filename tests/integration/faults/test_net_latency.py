"""aws:ecs:task-network-latency on a real task: p50 of the added latency over 50 requests is
within ±20 % of delayMilliseconds, on ingress (HTTP from the host to the task) and on egress
(round trips from inside the task to a server on the VPC's service address, the DB endpoint's
place); the delay proxy is gone and iptables are as before after the revert. A request in flight
when the fault starts or ends is answered: neither the onset nor the revert cuts it off."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from net_lab import (
    context,
    http_get_ms,
    in_unit,
    needs_netns,
    net_lab,
    p50,
    rules_of,
    run_for,
    static_task,
    task_resource,
)

pytestmark = needs_netns

DELAY_MS = 100
REQUESTS = 50


def round_trips(ip: str, port: int, n: int) -> str:
    """In-unit probe: n request/answer round trips on one connection; prints their ms."""
    return (
        f"import socket,time,json\ns=socket.create_connection(('{ip}',{port}),timeout=10)\n"
        f"s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\nout=[]\n"
        f"for i in range({n}):\n    t=time.perf_counter(); s.sendall(b'ping'); s.recv(64)\n"
        f"    out.append((time.perf_counter()-t)*1000)\nprint(json.dumps(out))"
    )


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(64):
        writer.write(data)
        await writer.drain()
    writer.close()


async def scenario(home: Path) -> dict[str, float]:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        unit = task.unit
        service_ip = lab.ec2.network_of(task.subnet).service_ip
        server = await asyncio.start_server(echo, service_ip, 0)
        port = server.sockets[0].getsockname()[1]
        before = await rules_of(unit)
        base_in = p50([await http_get_ms(task.private_ip) for _ in range(REQUESTS)])
        base_out = p50(await in_unit(unit, round_trips(service_ip, port, REQUESTS)))

        ctx = context(lab, "aws:ecs:task-network-latency")
        running = await run_for(
            ctx,
            "ecs.task_network_latency",
            {"Tasks": [task_resource(task)]},
            {
                "duration": "PT10M",
                "delayMilliseconds": str(DELAY_MS),
                "jitterMilliseconds": "10",
                "flowsPercent": "100",
                "sources": "ALL",
            },
        )
        added_in = p50([await http_get_ms(task.private_ip) for _ in range(REQUESTS)]) - base_in
        added_out = p50(await in_unit(unit, round_trips(service_ip, port, REQUESTS))) - base_out
        proxies = [n for n in unit.extras if n.startswith("delayproxy-")]
        assert len(proxies) == 1

        running.cancel()  # as when the experiment is stopped
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await ctx.revert_all()
        assert not [n for n in unit.extras if n.startswith("delayproxy-")]
        assert await rules_of(unit) == before
        after_in = p50([await http_get_ms(task.private_ip) for _ in range(20)]) - base_in
        server.close()
    return {"added_in": added_in, "added_out": added_out, "after_in": after_in}


def test_latency_ingress_and_egress(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    print(
        f"added latency p50: ingress {got['added_in']:.1f} ms, egress {got['added_out']:.1f} ms "
        f"(parameter {DELAY_MS} ms); after revert {got['after_in']:.1f} ms"
    )
    assert abs(got["added_in"] - DELAY_MS) <= 0.2 * DELAY_MS, got
    assert abs(got["added_out"] - DELAY_MS) <= 0.2 * DELAY_MS, got
    assert got["after_in"] < 0.2 * DELAY_MS, got


async def half_request(ip: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A GET sent but for its last CRLF: the app holds the connection open, waiting for it."""
    reader, writer = await asyncio.open_connection(ip, 80)
    writer.write(f"GET / HTTP/1.1\r\nHost: {ip}\r\nConnection: close\r\n".encode())
    await writer.drain()
    return reader, writer


async def finish(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[bytes, float]:
    """Send the rest of a half request; the answer and the seconds it took."""
    start = time.monotonic()
    writer.write(b"\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer, time.monotonic() - start


async def in_flight(home: Path) -> dict[str, tuple[bytes, float]]:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        opened_before = await half_request(task.private_ip)
        ctx = context(lab, "aws:ecs:task-network-latency")
        running = await run_for(
            ctx,
            "ecs.task_network_latency",
            {"Tasks": [task_resource(task)]},
            {"duration": "PT10M", "delayMilliseconds": str(DELAY_MS), "sources": "ALL"},
        )
        across_onset = await finish(*opened_before)
        through_proxy = await half_request(task.private_ip)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        revert = asyncio.create_task(ctx.revert_all())
        await asyncio.sleep(0.3)  # the redirect is gone; the proxy is draining, undelayed
        across_revert = await finish(*through_proxy)
        await revert
    return {"onset": across_onset, "revert": across_revert}


def test_a_request_in_flight_survives_the_onset_and_the_revert(tmp_path: Path) -> None:
    got = asyncio.run(in_flight(tmp_path))
    assert got["onset"][0].startswith(b"HTTP/1.1 200"), got  # not hijacked into the proxy mid-stream
    answer, took = got["revert"]
    assert answer.startswith(b"HTTP/1.1 200"), got  # the proxy's answer reached the client
    # ... no longer delayed: the revert ends the delay of flows in flight at once, as removing
    # FIS's qdisc does; the proxy only carries them to their end.
    assert took < 0.8 * DELAY_MS / 1000, got
