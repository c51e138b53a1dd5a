"""Listening sockets on the host's loopback, for a lab that lives in its own network namespace.

In `userns` mode the lab process runs inside a user + network namespace of its own, so a socket
it binds is bound in *that* namespace and nobody on the host could reach it. The clients' side of
the lab — the AWS API, the ALB listeners, the DB endpoints' loopback addresses — must stay on the
host. A socket keeps the namespace it was created in for life, wherever it is used, so a small
*broker* left on the host (the process that started the lab) creates and binds those sockets and
hands the descriptors over a Unix socket pair (SCM_RIGHTS). The lab then listens and accepts on
them as on any socket.

Everything binds through `bind_listener`: without a broker it is an ordinary bind.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
from typing import Any

_MAX_MESSAGE = 4096
_broker: BrokerClient | None = None


def is_host_address(host: str) -> bool:
    """Addresses that mean 'this machine' to a client on the host: the loopback range."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bind_here(host: str, port: int, backlog: int) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose proto says
    # TCP, and accepted sockets inherit it. With proto 0 every proxied exchange of small writes
    # (PostgreSQL's extended protocol, HTTP) waited out a delayed ACK: 40-200 ms a round trip.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_listener(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A non-blocking listening TCP socket on (host, port): on the host itself when the lab
    lives in a namespace of its own and `host` is a loopback address, else right here.
    Raises OSError as bind() would (EADDRINUSE, EACCES, ...)."""
    if _broker is not None and is_host_address(host):
        return _broker.listen(host, port, backlog)
    return _bind_here(host, port, backlog)


def port_free(host: str, port: int) -> bool:
    """Whether `port` can be bound on `host` now (where `bind_listener` would bind it)."""
    try:
        bind_listener(host, port, backlog=1).close()
        return True
    except OSError:
        return False


def use_broker(fd: int) -> None:
    """From now on loopback listeners come from the broker at the other end of `fd`."""
    global _broker
    _broker = BrokerClient(socket.socket(fileno=fd))


def broker_active() -> bool:
    return _broker is not None


class BrokerClient:
    """The lab's side: one request, one answer (with the descriptor when it worked)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._lock = threading.Lock()

    def listen(self, host: str, port: int, backlog: int) -> socket.socket:
        request = json.dumps({"op": "listen", "host": host, "port": port, "backlog": backlog}).encode()
        with self._lock:
            self._sock.sendall(request)
            message, fds, _flags, _addr = socket.recv_fds(self._sock, _MAX_MESSAGE, 1)
        if not message:
            raise OSError("the host socket broker is gone (the process that started the lab exited)")
        answer = json.loads(message)
        if not answer.get("ok"):
            for fd in fds:
                os.close(fd)
            raise OSError(int(answer.get("errno", 0)), answer.get("error", "bind failed on the host"))
        sock = socket.socket(fileno=fds[0])
        sock.setblocking(False)
        return sock


def serve_broker(sock: socket.socket) -> None:
    """The host's side: answer bind requests until the lab closes its end (it exited)."""
    while True:
        try:
            message = sock.recv(_MAX_MESSAGE)
        except OSError:
            return
        if not message:
            return
        answer, fds = _answer(message)
        try:
            socket.send_fds(sock, [json.dumps(answer).encode()], fds)
        except OSError:
            return
        finally:
            for fd in fds:
                os.close(fd)


def _answer(message: bytes) -> tuple[dict[str, Any], list[int]]:
    """Bind what was asked, but only on the loopback range: the broker serves the lab's
    client-facing listeners and nothing else."""
    try:
        request = json.loads(message)
        host, port, backlog = str(request["host"]), int(request["port"]), int(request.get("backlog", 128))
    except (ValueError, KeyError, TypeError):
        return {"ok": False, "errno": 22, "error": "malformed broker request"}, []
    if request.get("op") != "listen" or not is_host_address(host) or not 0 <= port <= 65535:
        return {"ok": False, "errno": 22, "error": f"the broker binds loopback listeners only, not {host}:{port}"}, []
    try:
        sock = _bind_here(host, port, max(1, min(backlog, 4096)))
    except OSError as exc:
        return {"ok": False, "errno": exc.errno or 0, "error": exc.strerror or str(exc)}, []
    fd = os.dup(sock.fileno())
    sock.close()
    return {"ok": True}, [fd]
