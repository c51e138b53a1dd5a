"""Section 1: the lab's ALB data plane against HAProxy and nginx fronting the same backends.

Each proxy gets the same number of cores: the lab ALB runs its default worker processes (one per
usable core, as the daemon runs it), HAProxy `nbthread N`, nginx `worker_processes N`, with N
the usable cores, so the ratio compares proxies, not core counts. Latency is measured with one
connection (what the proxy adds per request, over going direct); throughput with many
keep-alive connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httptools
from common import Row, fmt, free_port, kill, load, load_tool, median, spawn

from chaoslab.net.albplane import usable_cores

BODY = b'{"products": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
HAPROXY, NGINX = shutil.which("haproxy"), shutil.which("nginx")
WORKERS = usable_cores()  # the lab ALB's default worker count, and the references' threads/workers
# The data plane's targets, against HAProxy in the same run (static backend)
RPS_VS_HAPROXY = 0.5
P99_VS_HAPROXY = 2.0
ADDED_P50_MS = 0.1


class _Static(asyncio.Protocol):
    """The static backend: the same small JSON document for every request, so proxies are measured."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_message_complete(self) -> None:
        self.transport.write(RESPONSE)


async def static_target(conn: Any) -> None:
    server = await asyncio.get_running_loop().create_server(_Static, "127.0.0.2", 0, backlog=2048)
    conn.send(server.sockets[0].getsockname()[1])
    await asyncio.Event().wait()


async def lab_alb(conn: Any) -> None:
    """The lab's ALB (the ELBv2 backend, its worker processes and health checker) alone, one target."""
    target_port = conn.recv()
    from chaoslab.clock import LabClock
    from chaoslab.config import LabConfig
    from chaoslab.events import EventLog
    from chaoslab.services.elbv2.backend import ElbV2Backend

    with tempfile.TemporaryDirectory() as home:
        lab = SimpleNamespace(config=LabConfig(home=Path(home)), events=EventLog(), clock=LabClock())
        elb = lab.elbv2 = ElbV2Backend(lab)
        await elb.start()
        lb = elb.create_load_balancer(Name="bench", Subnets=["subnet-a"])["LoadBalancers"][0]
        tg = elb.create_target_group(
            Name="bench",
            Protocol="HTTP",
            Port=target_port,
            VpcId="vpc-1",
            TargetType="ip",
            HealthCheckIntervalSeconds=5,
        )["TargetGroups"][0]
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.2"}])
        listener = (
            await elb.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Port=0,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
            )
        )["Listeners"][0]
        health = elb.describe_target_health
        while (
            health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"][0]["TargetHealth"]["State"]
            != "healthy"
        ):
            await asyncio.sleep(0.05)
        conn.send(listener["Port"])
        await asyncio.Event().wait()


# reference proxies -------------------------------------------------------------------------
def _haproxy_conf(port: int, backends: list[tuple[str, int]]) -> str:
    servers = "\n".join(f"  server s{i} {h}:{p}" for i, (h, p) in enumerate(backends))
    return f"""global
  maxconn 8192
  nbthread {WORKERS}
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  balance roundrobin
{servers}
"""


def _nginx_conf(port: int, backends: list[tuple[str, int]], prefix: Path) -> str:
    servers = "\n".join(f"    server {h}:{p};" for h, p in backends)
    return f"""daemon off;
worker_processes {WORKERS};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  upstream be {{
{servers}
    keepalive 128;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reference proxy exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("reference proxy did not listen")


@contextlib.contextmanager
def reference_proxy(kind: str, backends: list[tuple[str, int]]) -> Iterator[int]:
    """HAProxy or nginx on a free port in front of `backends`; yields the port, stops it after."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp)
        conf = prefix / f"{kind}.conf"
        if kind == "haproxy":
            conf.write_text(_haproxy_conf(port, backends))
            argv = [HAPROXY, "-db", "-f", str(conf)]
        else:
            conf.write_text(_nginx_conf(port, backends, prefix))
            argv = [NGINX, "-p", str(prefix), "-c", str(conf)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(port, proc)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# measuring --------------------------------------------------------------------------------
def _measure(url: str, connections: int, seconds: float) -> dict[str, dict[str, float]]:
    return {
        "one": load(url, connections=1, seconds=seconds),
        "many": load(url, connections=connections, seconds=seconds),
    }


def _median_of(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per figure, the median over the rounds (the box is shared: one round can be unlucky)."""
    return {
        mode: {key: median([r[mode][key] for r in runs]) for key in ("rps", "p50_ms", "p99_ms")}
        for mode in ("one", "many")
    }


def compare(
    label: str,
    backends: list[tuple[str, int]],
    lab_url: str,
    path: str,
    *,
    seconds: float,
    connections: int,
    rounds: int,
    targets: bool,
) -> list[Row]:
    """Direct, lab ALB, HAProxy, nginx against the same backends, interleaved over `rounds`;
    rows with ratios lab/reference. With `targets`, the data plane's: throughput ≥ 0.5× and
    p99 under load ≤ 2× HAProxy's (given as many threads as the ALB has workers), ≤ 0.1 ms added at p50."""
    sec = f"1 ALB ({label})"
    urls = {"direct": f"http://{backends[0][0]}:{backends[0][1]}{path}", "lab": lab_url + path}
    missing = [kind for kind, binary in (("haproxy", HAPROXY), ("nginx", NGINX)) if binary is None]
    runs: dict[str, list[dict[str, dict[str, float]]]] = {}
    with contextlib.ExitStack() as stack:
        for kind, binary in (("haproxy", HAPROXY), ("nginx", NGINX)):
            if binary is not None:
                urls[kind] = f"http://127.0.0.1:{stack.enter_context(reference_proxy(kind, backends))}{path}"
        for _ in range(rounds):
            for name, url in urls.items():
                runs.setdefault(name, []).append(_measure(url, connections, seconds))
        # With several backends the proxies spread requests over all of them, so the one-connection
        # baseline is the mean over every backend, not the first one alone.
        singles = [load(f"http://{h}:{p}{path}", connections=1, seconds=seconds) for h, p in backends[1:]]
    got = {name: _median_of(r) for name, r in runs.items()}
    direct, lab, haproxy = got["direct"], got["lab"], got.get("haproxy")
    for q in ("p50_ms", "p99_ms"):
        direct["one"][q] = (direct["one"][q] + sum(m[q] for m in singles)) / (1 + len(singles))
    refs = {kind: got[kind] for kind in ("haproxy", "nginx") if kind in got}

    def added(m: dict[str, dict[str, float]]) -> float:
        return max(0.0, m["one"]["p50_ms"] - direct["one"]["p50_ms"])

    def refs_text(get: Any, unit: str) -> tuple[str, str]:
        texts = [f"{kind}: not installed (skipped)" for kind in missing]
        ratios = []
        for kind, m in refs.items():
            value = get(m)
            texts.append(f"{kind} {fmt(value)} {unit}")
            ratios.append(f"{get(lab) / value:.2f}× {kind}" if value else f"n/a vs {kind}")
        return "; ".join(texts), "; ".join(ratios)

    span = f" (mean over {len(backends)} backends)" if singles else ""
    rows = []
    ref, ratio = refs_text(lambda m: m["many"]["rps"], "req/s")
    rows.append(
        Row(
            sec,
            f"throughput, {connections} conns ({load_tool()})",
            lab["many"]["rps"],
            "req/s",
            ref,
            ratio,
            RPS_VS_HAPROXY * haproxy["many"]["rps"] if targets and haproxy else None,
            True,
            f"direct to backend {fmt(direct['many']['rps'])} req/s"
            + (f" (direct = one of {len(backends)} backends; proxies balance over all)" if len(backends) > 1 else ""),
        )
    )
    ref, ratio = refs_text(added, "ms")
    rows.append(
        Row(
            sec,
            "added latency p50, 1 conn",
            added(lab),
            "ms",
            ref,
            ratio,
            ADDED_P50_MS if targets else None,
            False,
            f"p50 direct {fmt(direct['one']['p50_ms'])} ms{span}, via lab ALB {fmt(lab['one']['p50_ms'])} ms",
        )
    )
    ref, ratio = refs_text(lambda m: m["one"]["p99_ms"], "ms")
    rows.append(
        Row(
            sec,
            "latency p99, 1 conn",
            lab["one"]["p99_ms"],
            "ms",
            ref,
            ratio,
            note=f"p99 direct {fmt(direct['one']['p99_ms'])} ms{span}",
        )
    )
    ref, ratio = refs_text(lambda m: m["many"]["p99_ms"], "ms")
    rows.append(
        Row(
            sec,
            f"latency p99, {connections} conns",
            lab["many"]["p99_ms"],
            "ms",
            ref,
            ratio,
            target=P99_VS_HAPROXY * haproxy["many"]["p99_ms"] if targets and haproxy else None,
            note=f"p99 direct {fmt(direct['many']['p99_ms'])} ms; medians of {rounds} interleaved rounds",
        )
    )
    return rows


def static_rows(*, seconds: float, connections: int, rounds: int) -> list[Row]:
    """The lab ALB in its own process in front of the static backend, vs HAProxy and nginx."""
    target, target_port = spawn(static_target)
    try:
        alb, alb_port = _spawn_alb(target_port)
        try:
            return compare(
                "static backend",
                [("127.0.0.2", target_port)],
                f"http://127.0.0.1:{alb_port}",
                "/",
                seconds=seconds,
                connections=connections,
                rounds=rounds,
                targets=True,
            )
        finally:
            kill(alb)
    finally:
        kill(target)


def _spawn_alb(target_port: int) -> tuple[Any, int]:
    import multiprocessing

    from common import _run_child

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    # Plain asyncio: the loop `chaoslab.daemon` runs the lab on (its ALB workers pick uvloop).
    proc = ctx.Process(target=_run_child, args=(lab_alb, child, False), daemon=True)
    proc.start()
    parent.send(target_port)
    if not parent.poll(30):
        kill(proc)
        raise RuntimeError("lab ALB process did not start")
    return proc, parent.recv()


def shop_rows(status: dict[str, Any], *, seconds: float, connections: int, rounds: int) -> list[Row]:
    """A running lab's ALB in front of the Chaos Shop instances (GET /products, PostgreSQL behind)."""
    lb = status["load_balancers"][0]
    backends = [(t["id_ip"], t["port"]) for t in _targets(status, lb)]
    return compare(
        "Chaos Shop GET /products",
        backends,
        lb["listeners"][0],
        "/products",
        seconds=seconds,
        connections=connections,
        rounds=rounds,
        targets=False,
    )


def _targets(status: dict[str, Any], lb: dict[str, Any]) -> list[dict[str, Any]]:
    """The healthy targets of the first group with their IPs (instance targets name an instance)."""
    ips = {i["id"]: i["ip"] for i in status["instances"]}
    out = []
    for t in lb["target_groups"][0]["targets"]:
        if t["state"] == "healthy":
            out.append({"id_ip": ips.get(t["id"], t["id"]), "port": t["port"] or 80})
    return out
