"""Round trips measured from *inside* a unit's network namespace, for faults that act on what
leaves the unit (FIS's ECS network latency delays egress): a probe process in the namespace
opens a new connection every 10 ms (each in its own thread, so a stalled one does not hold
the next back) to an echo server on the VPC's service address and prints
when each round trip started and how long it took."""

from __future__ import annotations

import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable

PROBE = """
import socket, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])
def one():
    t = time.time(); p = time.perf_counter()
    try:
        with socket.create_connection((host, port), 2) as s:
            s.settimeout(2); s.sendall(b"p"); s.recv(1)
        print(t, (time.perf_counter() - p) * 1000, flush=True)
    except OSError:
        print(t, -1, flush=True)
while True:
    threading.Thread(target=one, daemon=True).start()
    time.sleep(0.01)
"""


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data = self.request.recv(1)
        if data:
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def netns_of(ip: str) -> str:
    """The network namespace holding `ip` (the lab names them; we only read)."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    for name in (line.split()[0] for line in names.splitlines() if line.strip()):
        addrs = subprocess.run(
            ["ip", "netns", "exec", name, "ip", "-4", "-o", "addr"], capture_output=True, text=True
        ).stdout
        if f" {ip}/" in addrs:
            return name
    raise LookupError(f"no network namespace has {ip}")


class EgressProbe:
    """Context manager: echo server on `service_ip`, probe in the namespace of `unit_ip`."""

    def __init__(self, unit_ip: str, service_ip: str) -> None:
        self.unit_ip, self.service_ip = unit_ip, service_ip
        self.samples: list[tuple[float, float]] = []

    def __enter__(self) -> EgressProbe:
        self.server = _Server((self.service_ip, 0), _Echo)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns_of(self.unit_ip), sys.executable, "-c", PROBE, self.service_ip, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.first(0, lambda ms: ms >= 0, timeout=10)
        return self

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            started, ms = line.split()
            self.samples.append((float(started), float(ms)))

    def first(self, after: float, pred: Callable[[float], bool], timeout: float = 30) -> float:
        """Start time of the first round trip begun after `after` whose ms satisfies `pred`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for started, ms in list(self.samples):
                if started >= after and pred(ms):
                    return started
            time.sleep(0.01)
        raise TimeoutError("egress effect not observed")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.server.shutdown()
        self.server.server_close()


def local_ok(ip: str) -> bool:
    """True when `ip` is an address of this host (the service address exists only in netns mode)."""
    try:
        with socket.socket() as s:
            s.bind((ip, 0))
        return True
    except OSError:
        return False
