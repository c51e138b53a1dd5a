"""The workload's HTTP/1.1 client: keep-alive connections as asyncio Protocols, responses parsed
by httptools.

The open-loop generator spends most of its time per request in the client, and a request that
costs less CPU is one that leaves the loop free to send the next on time: a general-purpose
client's per-request machinery (request/response objects, header multidicts, stream readers)
costs several times what one exchange on an idle keep-alive connection needs. This one does
only what the workload asks: one request at a time per connection, a pool of idle connections
per origin, a total and a connect timeout, redirects followed (as browsers and curl -L do,
across origins too: an ALB's HTTP listener often redirects to HTTPS), and failures reported in
curl's families (refused, reset, timeout, other).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httptools

REDIRECTS = frozenset((301, 302, 303, 307, 308))
MAX_REDIRECTS = 10  # aiohttp's and curl's default limit

Origin = tuple[str, str, int]  # scheme, host, port
_SAFE = "!#$%&'()*+,/:;=?@[]~"


class HttpError(Exception):
    """No HTTP answer; `kind` is refused, reset, timeout or other."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Response:
    """What the workload reads from an answer: status, one header, the body."""

    __slots__ = ("status", "served_by", "body")

    def __init__(self, status: int, served_by: str | None, body: bytes) -> None:
        self.status = status
        self.served_by = served_by  # the X-Served-By header
        self.body = body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one outstanding request at a time."""

    __slots__ = (
        "pool",
        "live",
        "parser",
        "transport",
        "waiter",
        "served_by",
        "location",
        "chunks",
        "framed",
        "closed",
        "head",
    )

    def __init__(self, pool: list[_Connection], live: set[_Connection]) -> None:
        self.pool = pool  # the idle list of its origin, rejoined after each complete answer
        self.live = live  # the client's open connections, for close()
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[Response, str | None]] | None = None
        self.served_by: str | None = None
        self.location: str | None = None
        self.chunks: list[bytes] = []
        self.framed = False  # the answer says how long it is (Content-Length or chunked)
        self.closed = False
        self.head = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport for TCP/TLS
        self.live.add(self)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail("other")
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.live.discard(self)
        if self in self.pool:
            self.pool.remove(self)
        if self.waiter is not None and not self.waiter.done():
            if self.parser.get_status_code() and not self.framed:
                self.on_message_complete()  # a body delimited by the connection's close
            else:
                self._fail("reset")

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"content-length" or lower == b"transfer-encoding":
            self.framed = True
        elif lower == b"x-served-by":
            self.served_by = value.decode("latin-1")
        elif lower == b"location":
            self.location = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self.head:
            self.framed = True
            self._finish(keep=False)  # the parser would wait for a body a HEAD answer has not

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self._finish(keep=self.parser.should_keep_alive())

    # the exchange
    def send(self, data: bytes, head: bool) -> asyncio.Future[tuple[Response, str | None]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.served_by = self.location = None
        self.chunks = []
        self.framed = False
        self.head = head
        self.transport.write(data)
        return self.waiter

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _finish(self, keep: bool) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        response = Response(self.parser.get_status_code(), self.served_by, b"".join(self.chunks))
        waiter.set_result((response, self.location))
        if keep and not self.closed:
            self.pool.append(self)
        elif self.transport is not None:
            self.transport.close()

    def _fail(self, kind: str) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(HttpError(kind))


class Client:
    """Keep-alive connections to any number of origins; `close()` drops them all."""

    def __init__(self, *, connect_timeout_s: float) -> None:
        self.connect_timeout_s = connect_timeout_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._tls: ssl.SSLContext | None = None
        self._heads: dict[tuple[str, str], tuple[Origin, bytes]] = {}

    async def request(
        self, method: str, url: str, headers: bytes, body: bytes | None, *, connect_timeout_s: float | None = None
    ) -> Response:
        """One exchange, redirects followed; `headers` is the encoded extra header lines. The
        caller bounds the whole with its total timeout (a cancelled exchange's connection is
        dropped, never reused)."""
        for _ in range(MAX_REDIRECTS + 1):
            origin, head = self._head(method, url)
            data = head + headers + (b"\r\n" if body is None else b"Content-Length: %d\r\n\r\n" % len(body) + body)
            idle = self._idle.get(origin)
            if idle:
                conn = idle.pop()  # connection_lost takes a closed one out of the idle list
            else:
                conn = await self._connect(origin, connect_timeout_s or self.connect_timeout_s)
            try:
                response, location = await conn.send(data, method == "HEAD")
            except BaseException:
                conn.abort()
                raise
            if response.status not in REDIRECTS or location is None:
                return response
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = ("HEAD", None) if method == "HEAD" else ("GET", None)
        return response

    def _head(self, method: str, url: str) -> tuple[Origin, bytes]:
        """The origin and the request line + Host header, split and encoded once per URL."""
        known = self._heads.get((method, url))
        if known is None:
            if len(self._heads) >= 1024:  # redirects to ever new URLs must not grow it without bound
                self._heads.clear()
            origin, target = _split(url)
            known = self._heads[(method, url)] = (origin, _request_head(method, target, origin))
        return known

    async def _connect(self, origin: Origin, connect_timeout_s: float) -> _Connection:
        idle = self._idle.setdefault(origin, [])
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout_s):
                _transport, conn = await loop.create_connection(
                    lambda: _Connection(idle, self._open), host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise HttpError("timeout") from None
        except ConnectionRefusedError:
            raise HttpError("refused") from None
        except OSError:
            raise HttpError("other") from None
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def close(self) -> None:
        for conn in list(self._open):
            conn.abort()
        self._open.clear()
        self._idle.clear()


def _split(url: str) -> tuple[Origin, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HttpError("other")
    port = parts.port or (443 if scheme == "https" else 80)
    # Characters a request line cannot carry are percent-encoded, as browsers do; what is
    # already encoded or reserved stays as written.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_SAFE)
    return (scheme, parts.hostname, port), target


def _request_head(method: str, target: str, origin: Origin) -> bytes:
    scheme, host, port = origin
    name = f"[{host}]" if ":" in host else host
    authority = name if port == (443 if scheme == "https" else 80) else f"{name}:{port}"
    return f"{method} {target} HTTP/1.1\r\nHost: {authority}\r\n".encode("latin-1")


def header_lines(headers: dict[str, Any], *, json_body: bool) -> bytes:
    """Extra header lines, encoded once per request spec."""
    lines = {"User-Agent": "chaoslab-workload", "Accept": "*/*"}
    if json_body:
        lines["Content-Type"] = "application/json"
    for name, value in headers.items():  # a spec's header replaces a default however it is spelt
        lines = {k: v for k, v in lines.items() if k.lower() != str(name).lower()}
        lines[str(name)] = str(value)
    return "".join(f"{k}: {v}\r\n" for k, v in lines.items()).encode("latin-1")
