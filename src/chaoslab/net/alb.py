"""The ALB data plane: an asyncio HTTP/1.1 reverse proxy per listener, run in worker processes.

Hot path rules: httptools parses both sides, the front and back connections are asyncio
Protocols (no streams, no task per request), keep-alive on both sides with a per-target idle
pool, and each request leaves one fixed-size record in a shared-memory ring (albwire.py) that
the lab turns into request records and CloudWatch metrics. The proxy knows nothing of AWS APIs
and nothing of the lab: a worker (albworker.py) builds a `TargetPool` per target group from the
routing table the lab sends and replaces the pool's routing list whenever target health changes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

import httptools

from chaoslab.net.albwire import (
    CONNECT_ERROR,
    CONNECT_TIMEOUT_KIND,
    ERROR_CODE,
    IDLE_TIMEOUT,
    MALFORMED,
    NO_TARGET,
    NO_TARGETS,
    TARGET_CLOSED,
)

CONNECT_TIMEOUT = 10.0  # ALB gives up connecting to a target after 10 s -> 504
# Response times are read from the monotonic clock itself: uvloop's loop.time() moves in
# whole milliseconds, coarser than a fast target's TargetResponseTime.
_clock = time.monotonic
_REASONS = {502: b"Bad Gateway", 503: b"Service Temporarily Unavailable", 504: b"Gateway Time-out"}
# Request headers the proxy owns (hop-by-hop or re-framed because bodies are buffered).
_DROP_REQUEST = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"upgrade",
        b"transfer-encoding",
        b"content-length",
        b"expect",
    }
)
_DROP_RESPONSE = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length"})

_ERROR_STATUS = {
    NO_TARGETS: 503,
    CONNECT_ERROR: 502,
    CONNECT_TIMEOUT_KIND: 504,
    TARGET_CLOSED: 502,
    MALFORMED: 502,
    IDLE_TIMEOUT: 504,
}


def elb_response(status: int, keep_alive: bool = True) -> bytes:
    """A complete ALB-generated response: the small HTML page AWS serves, `Server: awselb/2.0`."""
    title = b"%d %s" % (status, _REASONS[status])
    body = (
        b"<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n"
        % (title, title)
    )
    return b"HTTP/1.1 %s\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\nContent-Length: %d\r\n%s\r\n%s" % (
        title,
        len(body),
        b"" if keep_alive else b"Connection: close\r\n",
        body,
    )


_ELB_RESPONSES = {(s, k): elb_response(s, k) for s in _REASONS for k in (True, False)}


class RecordSink(Protocol):
    """Where the proxy leaves one record per request (the worker's `albwire.RingWriter`)."""

    def write(
        self, when: float, latency: float, lb: int, tg: int, target: int, status: int, elb: bool, error: int
    ) -> None: ...


class UpstreamError(Exception):
    """Why a forwarded request got no usable response; `kind` picks the ALB status."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Upstream:
    """One registered target (ip:port) with its pool of idle keep-alive connections."""

    __slots__ = ("key", "target_id", "host", "port", "idle", "busy", "inflight")

    def __init__(self, target_id: str, host: str, port: int, key: int = NO_TARGET) -> None:
        self.key = key  # the lab's number for this registration, carried in request records
        self.target_id = target_id
        self.host = host
        self.port = port
        self.idle: list[TargetConnection] = []
        self.busy: set[TargetConnection] = set()  # connections with a request outstanding
        self.inflight = 0

    def close_idle(self) -> None:
        """Drop pooled connections (target deregistered, or its address changed)."""
        for conn in self.idle:
            conn.transport.close()
        self.idle.clear()

    def abort_in_flight(self) -> None:
        """The deregistration delay ran out with requests still outstanding: ALB answers them 502."""
        for conn in list(self.busy):
            conn.transport.abort()


class TargetPool:
    """A target group as the data plane sees it: the routing list and how to pick from it."""

    __slots__ = ("key", "dimension", "routable", "algorithm", "_cycle")

    def __init__(self, dimension: str, key: int = 0) -> None:
        self.key = key  # the lab's number for this target group, carried in request records
        self.dimension = dimension  # "targetgroup/<name>/<id>" for CloudWatch
        self.routable: list[Upstream] = []
        self.algorithm = "round_robin"
        self._cycle = itertools.count()

    def set_routing(self, routable: list[Upstream]) -> None:
        """Replace the list atomically (the lab rebuilds it on every health change)."""
        self.routable = routable

    def pick(self) -> Upstream | None:
        targets = self.routable
        if not targets:
            return None
        if self.algorithm == "least_outstanding_requests":
            return min(targets, key=_inflight)
        if self.algorithm == "weighted_random":
            return random.choice(targets)
        return targets[next(self._cycle) % len(targets)]


def _inflight(upstream: Upstream) -> int:
    return upstream.inflight


class TargetConnection(asyncio.Protocol):
    """A keep-alive connection to a target; one outstanding request at a time."""

    def __init__(self, upstream: Upstream, loop: asyncio.AbstractEventLoop) -> None:
        self.upstream = upstream
        self.loop = loop
        self.transport: asyncio.Transport  # set by connection_made, asyncio's first call
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, list[tuple[bytes, bytes]], list[bytes], float]] | None = None
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_at = 0.0
        self.sent_at = 0.0
        self.head_request = False
        self.framed = False  # response says how long it is (Content-Length or chunked)
        self.activity = False
        self.timer: asyncio.TimerHandle | None = None
        self.idle_timeout = 60.0
        self.closed = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP connection's transport

    def data_received(self, data: bytes) -> None:
        self.activity = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(MALFORMED)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        try:
            self.upstream.idle.remove(self)
        except ValueError:
            pass
        if self.waiter is not None and not self.waiter.done():
            if self.headers_at and not self.framed:
                self.on_message_complete()  # body delimited by connection close (HTTP/1.0 style)
            else:
                self._fail(TARGET_CLOSED)

    # httptools callbacks
    def on_status(self, reason: bytes) -> None:
        self.reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"content-length" or lower == b"transfer-encoding":
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_at = _clock()
        if self.head_request:
            self.framed = True
            self._finish(keep=False)  # llhttp would wait for a HEAD body; never reuse this socket

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep=self.parser.should_keep_alive())

    # request/response cycle
    def request(self, data: bytes, head: bool, idle_timeout: float) -> asyncio.Future[Any]:
        """Send one request; the future resolves to (status, reason, headers, body chunks,
        seconds from sending the request to the response headers = TargetResponseTime)."""
        self.waiter = self.loop.create_future()
        self.reason, self.headers, self.body = b"", [], []
        self.headers_at, self.head_request, self.framed, self.activity = 0.0, head, False, False
        self.idle_timeout = idle_timeout
        self.sent_at = _clock()
        self.timer = self.loop.call_later(idle_timeout, self._check_idle)
        self.transport.write(data)
        return self.waiter

    def _check_idle(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        if self.activity:
            self.activity = False
            self.timer = self.loop.call_later(self.idle_timeout, self._check_idle)
            return
        self._fail(IDLE_TIMEOUT)
        self.transport.close()

    def _finish(self, keep: bool) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.timer is not None:
            self.timer.cancel()
        waiter.set_result(
            (self.parser.get_status_code(), self.reason, self.headers, self.body, self.headers_at - self.sent_at)
        )
        self.waiter = None
        if keep and not self.closed:
            self.upstream.idle.append(self)
        else:
            self.transport.close()

    def _fail(self, kind: str) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(UpstreamError(kind))
        self.waiter = None


class _Request:
    __slots__ = ("method", "url", "headers", "body", "keep_alive", "xff", "traced", "version")

    def __init__(self) -> None:
        self.method = b"GET"
        self.url = b""
        self.headers: list[bytes] = []
        self.body: list[bytes] = []
        self.keep_alive = True
        self.xff: bytes | None = None
        self.traced = False  # the client sent its own X-Amzn-Trace-Id (kept as is)
        self.version = "1.1"


class FrontConnection(asyncio.Protocol):
    """A client connection to the listener; requests are answered strictly in order."""

    def __init__(self, listener: ListenerProxy) -> None:
        self.listener = listener
        self.transport: asyncio.Transport  # set by connection_made, asyncio's first call
        self.parser = httptools.HttpRequestParser(self)
        self.current = _Request()
        self.pending: deque[_Request] = deque()
        self.busy = False
        self.closed = False
        self.client_ip = b""
        self.activity = True
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP connection's transport
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0].encode() if peer else b""
        self.listener.connections.add(self)
        self.timer = self.listener.loop.call_later(self.listener.idle_timeout(), self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.activity = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.transport.close()  # WebSocket upgrades are not supported by this lab ALB
        except httptools.HttpParserError:
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\nServer: awselb/2.0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            self.transport.close()

    def _check_idle(self) -> None:
        """Close the client connection after an idle timeout with nothing in flight (ALB does)."""
        if self.closed:
            return
        if self.activity or self.busy:
            self.activity = False
            self.timer = self.listener.loop.call_later(self.listener.idle_timeout(), self._check_idle)
        else:
            self.transport.close()

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower in _DROP_REQUEST:
            if lower == b"expect" and value.lower() == b"100-continue":
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        if lower == b"x-forwarded-for":
            self.current.xff = value
            return
        if lower == b"x-forwarded-proto" or lower == b"x-forwarded-port":
            return
        if lower == b"x-amzn-trace-id":
            self.current.traced = True
        self.current.headers.append(name + b": " + value + b"\r\n")

    def on_headers_complete(self) -> None:
        request = self.current
        request.method = self.parser.get_method()
        request.keep_alive = self.parser.should_keep_alive()
        request.version = self.parser.get_http_version()

    def on_body(self, body: bytes) -> None:
        self.current.body.append(body)

    def on_message_complete(self) -> None:
        self.pending.append(self.current)
        self.current = _Request()
        if not self.busy:
            self.busy = True
            self.listener.loop.create_task(self._serve())

    async def _serve(self) -> None:
        try:
            while self.pending and not self.closed:
                request = self.pending.popleft()
                keep = await self.listener.handle(self, request)
                if not keep:
                    self.transport.close()
                    break
        finally:
            self.busy = False


class ListenerProxy:
    """One HTTP listener: accepts on a socket the lab bound and forwards to one target group."""

    def __init__(
        self,
        sock: socket.socket,
        pool: TargetPool,
        sink: RecordSink,
        lb: int = 0,
        idle_timeout: Callable[[], float] = lambda: 60.0,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.pool = pool
        self.sink = sink
        self.lb = lb  # the lab's number for the load balancer, carried in request records
        self.idle_timeout = idle_timeout  # callable: the LB attribute can change at any time
        self.connect_timeout = connect_timeout
        self.loop: asyncio.AbstractEventLoop  # set by start()
        self.server: asyncio.base_events.Server | None = None
        self.connections: set[FrontConnection] = set()
        self._port_header = b"X-Forwarded-Proto: http\r\nX-Forwarded-Port: %d\r\n" % self.port

    async def start(self) -> None:
        """Accept on the socket; connections that arrived before this waited in its backlog."""
        self.loop = asyncio.get_running_loop()
        self.server = await self.loop.create_server(lambda: FrontConnection(self), sock=self.sock, backlog=1024)

    async def stop(self) -> None:
        """Stop accepting here and close this process's client connections."""
        if self.server is not None:
            self.server.close()
            for conn in list(self.connections):
                conn.transport.close()
            await self.server.wait_closed()
            self.server = None

    async def handle(self, front: FrontConnection, request: _Request) -> bool:
        """Forward one request and write the response; returns whether to keep the client
        connection. The record is written before the response, so whoever reads the records
        after getting a response finds its record there."""
        start = _clock()
        now = time.time()
        pool = self.pool
        keep = request.keep_alive
        upstream = pool.pick()
        if upstream is None:
            self.sink.write(now, 0.0, self.lb, pool.key, NO_TARGET, 503, True, ERROR_CODE[NO_TARGETS])
            front.transport.write(_ELB_RESPONSES[(503, keep)])
            return keep
        upstream.inflight += 1
        try:
            status, reason, headers, body, response_time = await self._exchange(upstream, request, front.client_ip)
        except UpstreamError as err:
            status = _ERROR_STATUS[err.kind]
            self.sink.write(now, _clock() - start, self.lb, pool.key, upstream.key, status, True, ERROR_CODE[err.kind])
            if not front.closed:
                front.transport.write(_ELB_RESPONSES[(status, keep)])
            return keep
        finally:
            upstream.inflight -= 1
        self.sink.write(now, response_time, self.lb, pool.key, upstream.key, status, False, 0)
        if not front.closed:
            out = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
            for name, value in headers:
                if name.lower() in _DROP_RESPONSE and not (
                    request.method == b"HEAD" and name.lower() == b"content-length"
                ):
                    continue
                out.append(name + b": " + value + b"\r\n")
            if request.method != b"HEAD" and status >= 200 and status not in (204, 304):
                out.append(b"Content-Length: %d\r\n" % sum(map(len, body)))
            if not keep:
                out.append(b"Connection: close\r\n")
            elif request.version == "1.0":
                out.append(b"Connection: keep-alive\r\n")
            out.append(b"\r\n")
            out.extend(body)
            front.transport.write(b"".join(out))
        return keep

    async def _exchange(self, upstream: Upstream, request: _Request, client_ip: bytes) -> tuple[Any, ...]:
        conn = None
        while upstream.idle:
            candidate = upstream.idle.pop()
            if not candidate.closed and not candidate.transport.is_closing():
                conn = candidate
                break
        if conn is None:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, conn = await self.loop.create_connection(
                        lambda: TargetConnection(upstream, self.loop), upstream.host, upstream.port
                    )
            except TimeoutError:
                raise UpstreamError(CONNECT_TIMEOUT_KIND) from None
            except OSError:
                raise UpstreamError(CONNECT_ERROR) from None
        xff = request.xff + b", " + client_ip if request.xff else client_ip
        body = b"".join(request.body)
        parts = [
            request.method,
            b" ",
            request.url,
            b" HTTP/1.1\r\n",
            *request.headers,
            b"X-Forwarded-For: ",
            xff,
            b"\r\n",
            self._port_header,
        ]
        if not request.traced:
            parts.append(b"X-Amzn-Trace-Id: Root=1-%08x-%s\r\n" % (int(time.time()), os.urandom(12).hex().encode()))
        if body or request.method in (b"POST", b"PUT", b"PATCH"):
            parts.append(b"Content-Length: %d\r\n" % len(body))
        parts.append(b"\r\n")
        parts.append(body)
        upstream.busy.add(conn)
        try:
            return await conn.request(b"".join(parts), request.method == b"HEAD", float(self.idle_timeout()))
        finally:
            upstream.busy.discard(conn)
