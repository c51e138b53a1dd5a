"""What every benchmark section shares: result rows, percentiles, the machine, free ports, wrk and
a bundled asyncio load client (for when wrk is absent), and helper processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httptools

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    uvloop = None


@dataclass
class Row:
    """One line of the results table. `higher_is_better` decides how the target is read."""

    section: str
    name: str
    value: float | None
    unit: str
    reference: str = ""
    ratio: str = ""
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    def verdict(self) -> str:
        """PASS/MISS against the target, and for a miss, by how much."""
        if self.target is None or self.value is None:
            return ""
        ok = self.value >= self.target if self.higher_is_better else self.value <= self.target
        if ok:
            return "PASS"
        off = (
            (self.target - self.value) / self.target
            if self.higher_is_better
            else (self.value - self.target) / self.target
        )
        return f"MISS by {fmt(abs(self.value - self.target))} {self.unit} ({off:.0%})"

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.higher_is_better else '≤'} {fmt(self.target)} {self.unit}"


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM (`kill`, `timeout`) a SystemExit, so a stopped benchmark still runs its
    `finally` blocks and brings its labs down: by default the process just ends, and a detached
    lab with its units stays behind."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; the sample must not be empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, str]:
    """CPU model, cores, kernel, python and the load before the run (others may share the box)."""
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


def busy_processes(limit: int = 5) -> list[str]:
    """The processes using the most CPU right now, to say what else ran on the machine."""
    import psutil

    procs = list(psutil.process_iter(["pid", "name", "cmdline"]))
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(1.0)
    usage = []
    for p in procs:
        try:
            usage.append((p.cpu_percent(None), " ".join(p.info["cmdline"] or [p.info["name"] or "?"])[:80]))
        except psutil.Error:
            continue
    usage.sort(reverse=True)
    return [f"{cpu:.0f}% {cmd}" for cpu, cmd in usage[:limit] if cpu >= 5]


# load generation ---------------------------------------------------------------------------
WRK = shutil.which("wrk")


def wrk(url: str, *, connections: int, seconds: float, threads: int = 1) -> dict[str, float]:
    """Closed-loop load with wrk (pinned threads/connections, fixed duration): rps, p50, p99 in ms."""
    out = subprocess.run(
        [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps,
        "p50_ms": _wrk_ms(lat["50"]),
        "p99_ms": _wrk_ms(lat["99"]),
        "errors": float(errors.group(1)) if errors else 0.0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


class _Client(asyncio.Protocol):
    """One keep-alive connection sending requests back to back, recording each latency."""

    def __init__(self, request: bytes, deadline: float, latencies: list[float], done: asyncio.Future[None]) -> None:
        self.request, self.deadline, self.latencies, self.done = request, deadline, latencies, done
        self.parser = httptools.HttpResponseParser(self)
        self.sent = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._send()

    def _send(self) -> None:
        self.sent = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        now = time.perf_counter()
        if self.parser.get_status_code() < 400:
            self.latencies.append(now - self.sent)
        if now < self.deadline:
            self._send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _aload(host: str, port: int, path: str, connections: int, seconds: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: chaoslab-bench\r\n\r\n".encode()
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda d=done: _Client(request, deadline, latencies, d), host, port)
        waits.append(done)
    await asyncio.gather(*waits)
    elapsed = time.perf_counter() - start
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 0.5) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "errors": 0.0,
        "socket_errors": "",
    }


def load(url: str, *, connections: int, seconds: float) -> dict[str, float]:
    """wrk if installed, else the bundled asyncio client (uvloop), same parameters."""
    if WRK:
        return wrk(url, connections=connections, seconds=seconds)
    m = re.match(r"http://([^:/]+):(\d+)(/.*)?", url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3) or "/"
    if uvloop is not None:
        return uvloop.run(_aload(host, port, path, connections, seconds))
    return asyncio.run(_aload(host, port, path, connections, seconds))


def load_tool() -> str:
    return "wrk" if WRK else "bundled asyncio client"


# The references' own words for their versions: (name, command, pattern picking the version out).
_VERSION_COMMANDS = (
    ("HAProxy", ["haproxy", "-v"], r"version (\S+)"),
    ("nginx", ["nginx", "-v"], r"nginx/(\S+)"),
    ("wrk", ["wrk", "-v"], r"wrk (\S+)"),
)


def reference_versions() -> str:
    """The versions of the tools the figures are compared with or measured by, as installed."""
    found = []
    for name, argv, pattern in _VERSION_COMMANDS:
        if shutil.which(argv[0]) is None:
            found.append(f"{name} not installed")
            continue
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        match = re.search(pattern, out.stdout + out.stderr)
        found.append(f"{name} {match.group(1) if match else '(version not reported)'}")
    try:
        found.append(f"Locust {version('locust')}")
    except PackageNotFoundError:
        found.append("Locust not installed")
    return ", ".join(found)


# helper processes --------------------------------------------------------------------------
def _run_child(main: Callable[[Any], Any], conn: Any, use_uvloop: bool) -> None:
    if uvloop is not None and use_uvloop:
        uvloop.install()
    asyncio.run(main(conn))


def spawn(
    main: Callable[[Any], Any], use_uvloop: bool = True, timeout: float = 30
) -> tuple[multiprocessing.Process, Any]:
    """Run `main(conn)` on its own event loop in a child process; return it and what it sends first."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_run_child, args=(main, child, use_uvloop), daemon=True)
    proc.start()
    if not parent.poll(timeout):
        proc.kill()
        proc.join()
        raise RuntimeError("benchmark helper process did not start")
    return proc, parent.recv()


def kill(proc: multiprocessing.Process) -> None:
    proc.kill()
    proc.join(10)
