"""ALB data-plane benchmark: req/s and latency through the lab ALB vs straight to the target.

Three processes, so the proxy gets a core of its own as far as a 2-core box allows:
a static HTTP target, the ALB (ElbV2Backend with one listener, one target), and this client.
Two runs per path: one connection (latency: what the proxy adds per request) and
`--connections` concurrent keep-alive connections (throughput).

    .venv/bin/python benchmarks/alb_bench.py [--seconds 5] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from types import SimpleNamespace

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    uvloop = None

REQUEST = b"GET /products HTTP/1.1\r\nHost: bench\r\nUser-Agent: alb-bench\r\n\r\n"
BODY = b'{"products": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


def _run(coro_factory, ready, use_uvloop: bool = True) -> None:  # type: ignore[no-untyped-def]
    if uvloop is not None and use_uvloop:
        uvloop.install()
    asyncio.run(coro_factory(ready))


class _Static(asyncio.Protocol):
    """A target that answers every request with the same small JSON document."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)  # type: ignore[attr-defined]


async def _target(ready) -> None:  # type: ignore[no-untyped-def]
    server = await asyncio.get_running_loop().create_server(_Static, "127.0.0.2", 0, backlog=1024)
    ready.send(server.sockets[0].getsockname()[1])
    await asyncio.Event().wait()


def _alb_main(target_port: int):  # type: ignore[no-untyped-def]
    async def alb(ready) -> None:  # type: ignore[no-untyped-def]
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from chaoslab.config import LabConfig
        from chaoslab.events import EventLog
        from chaoslab.services.elbv2.backend import ElbV2Backend

        with TemporaryDirectory() as home:
            lab = SimpleNamespace(config=LabConfig(home=Path(home)), events=EventLog())
            elb = lab.elbv2 = ElbV2Backend(lab)
            await elb.start()
            lb = elb.create_load_balancer(Name="bench", Subnets=["subnet-a"])["LoadBalancers"][0]
            tg = elb.create_target_group(Name="bench", Protocol="HTTP", Port=target_port, VpcId="vpc-1",
                                         TargetType="ip", HealthCheckIntervalSeconds=5)["TargetGroups"][0]
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.2"}])
            listener = (await elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Port=0, DefaultActions=[
                {"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]))["Listeners"][0]
            while elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])[
                    "TargetHealthDescriptions"][0]["TargetHealth"]["State"] != "healthy":
                await asyncio.sleep(0.05)
            ready.send(listener["Port"])
            await asyncio.Event().wait()

    return alb


class _Client(asyncio.Protocol):
    """One keep-alive connection sending requests back to back, recording each latency."""

    def __init__(self, deadline: float, latencies: list[float], done: asyncio.Future[None]) -> None:
        self.deadline, self.latencies, self.done = deadline, latencies, done
        self.parser = httptools.HttpResponseParser(self)
        self.sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent = time.perf_counter()
        self.transport.write(REQUEST)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        if self.parser.get_status_code() == 200:
            self.latencies.append(now - self.sent)
        if now < self.deadline:
            self._send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _load(port: int, host: str, connections: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(deadline, latencies, d), host, port)
        waits.append(done)
    await asyncio.gather(*waits)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed),
            "p50_ms": round(statistics.median(latencies) * 1000, 3),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3)}


def _spawn(main, use_uvloop: bool = True) -> tuple[multiprocessing.Process, int]:  # type: ignore[no-untyped-def]
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_run, args=(main, child, use_uvloop), daemon=True)
    proc.start()
    if not parent.poll(30):
        proc.kill()
        raise RuntimeError("benchmark helper process did not start")
    return proc, parent.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--alb-loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="event loop of the ALB process (the lab may run either)")
    args = parser.parse_args()
    target, target_port = _spawn(_target)
    alb, alb_port = _spawn(_alb_main(target_port), args.alb_loop == "uvloop")
    if uvloop is not None:
        uvloop.install()
    try:
        results = {}
        for label, host, port in (("direct", "127.0.0.2", target_port), ("alb", "127.0.0.1", alb_port)):
            results[f"{label}_1conn"] = asyncio.run(_load(port, host, 1, args.seconds))
            results[f"{label}_{args.connections}conn"] = asyncio.run(_load(port, host, args.connections, args.seconds))
        results["added_p50_ms_1conn"] = round(results["alb_1conn"]["p50_ms"] - results["direct_1conn"]["p50_ms"], 3)
        print(json.dumps(results, indent=2))
    finally:
        for proc in (alb, target):
            proc.kill()
            proc.join()


if __name__ == "__main__":
    main()
