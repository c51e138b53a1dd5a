"""Real HTTP targets and a minimal lab for ALB integration tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.elbv2.backend import ElbV2Backend


class HttpTarget:
    """A tiny keep-alive HTTP/1.1 server on a loopback address.

    `mode`: "ok" answers 200 with its name (and the request headers it saw), "status" answers
    `status`, "hang" reads the request and never answers, "close" closes mid-request.
    `health_status` is what GET /health answers in "ok" mode."""

    def __init__(self, host: str, name: str, mode: str = "ok", status: int = 200, health_status: int = 200) -> None:
        self.host, self.name, self.mode, self.status = host, name, mode, status
        self.health_status = health_status
        self.port = 0
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.requests: list[dict[str, str]] = []

    async def start(self, port: int = 0) -> HttpTarget:
        self.server = await asyncio.start_server(self._serve, self.host, port or self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def kill(self) -> None:
        """Stop listening and reset open connections, as a crashed process would."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (item.partition(":") for item in lines[1:] if item)
                }
                if "content-length" in headers:
                    await reader.readexactly(int(headers["content-length"]))
                self.requests.append({"method": method, "path": path, **headers})
                if self.mode == "hang":
                    await asyncio.sleep(3600)
                if self.mode == "close":
                    writer.transport.abort()
                    return
                status = self.status if path != "/health" or self.mode == "status" else self.health_status
                body = self.name.encode()
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s"
                    % (status, len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


class RecordingSink:
    """Collects put_metric calls the way lab.cloudwatch would receive them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str], list[float], str]] = []

    def put_metric(
        self,
        namespace: str,
        name: str,
        dimensions: dict[str, str],
        values: list[float],
        unit: str,
        timestamp: float | None = None,
        storage_resolution: int = 1,
    ) -> None:
        self.calls.append((namespace, name, dict(dimensions), list(values), unit))

    def total(self, name: str, dims: dict[str, str]) -> float:
        return sum(sum(v) for _, n, d, v, _ in self.calls if n == name and d == dims)


class Ec2Directory:
    """The one method the ALB needs from lab.ec2: instance id -> private IP."""

    def __init__(self) -> None:
        self.addresses: dict[str, str] = {}

    def private_ip(self, instance_id: str) -> str | None:
        return self.addresses.get(instance_id)


def make_lab(home: Path, clock: LabClock | None = None) -> Any:
    lab = SimpleNamespace(
        clock=clock or LabClock(),
        config=LabConfig(home=home),
        events=EventLog(),
        cloudwatch=RecordingSink(),
        ec2=Ec2Directory(),
    )
    lab.elbv2 = ElbV2Backend(lab)
    return lab


async def make_alb(
    lab: Any,
    name: str = "web",
    interval: int = 1,
    healthy: int = 2,
    unhealthy: int = 2,
    idle: int | None = None,
    delay: int | None = None,
    target_type: str = "ip",
) -> dict[str, str]:
    """An ALB with one HTTP listener on a free port forwarding to one target group."""
    elb = lab.elbv2
    lb = elb.create_load_balancer(Name=name, Subnets=["subnet-a", "subnet-b"])["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name=f"{name}-tg",
        Protocol="HTTP",
        Port=80,
        VpcId="vpc-1",
        TargetType=target_type,
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=interval,
        HealthCheckTimeoutSeconds=1,
        HealthyThresholdCount=healthy,
        UnhealthyThresholdCount=unhealthy,
    )["TargetGroups"][0]
    if idle is not None:
        elb.modify_load_balancer_attributes(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": str(idle)}],
        )
    if delay is not None:
        elb.modify_target_group_attributes(
            TargetGroupArn=tg["TargetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}],
        )
    listener = (
        await elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"],
            Protocol="HTTP",
            Port=0,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
        )
    )["Listeners"][0]
    return {
        "lb": lb["LoadBalancerArn"],
        "tg": tg["TargetGroupArn"],
        "listener": listener["ListenerArn"],
        "url": f"http://127.0.0.1:{listener['Port']}",
    }


async def wait_for_state(lab: Any, tg_arn: str, target_id: str, state: str, timeout: float = 10.0) -> float:
    """Poll describe_target_health until the target reaches `state`; returns seconds waited."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < timeout:
        for d in lab.elbv2.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]:
            if d["Target"]["Id"] == target_id and d["TargetHealth"]["State"] == state:
                return loop.time() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"{target_id} never became {state}")


async def assert_nothing_left(lab: Any, url: str) -> None:
    """After stop(): the listener socket is closed and no health checker or metric task runs."""
    host, port = url.removeprefix("http://").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        pass
    else:
        writer.close()
        raise AssertionError("listener still accepts connections after stop()")
    await asyncio.sleep(0)
    names = {getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()} - {
        asyncio.current_task().get_coro().__qualname__
    }
    assert not [n for n in names if n.startswith(("ElbV2Backend.", "TargetSupervisor."))], names
