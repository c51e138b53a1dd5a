"""The API's HTTP server policy: how long a connection may take to send a request, how big its
head may be, how many connections may be open, and AWS-shaped answers for what aiohttp itself
refuses (a bad request line, a header past the limit) instead of its plain-text pages.

A connection must deliver a complete request head within HEAD_DEADLINE of connecting or of its
previous response (aiohttp's keep-alive timer, which starts at connect and is not reset by
partial data), after which it is closed; bodies have their own deadline (aws/body.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from chaoslab.aws import limits
from chaoslab.aws.protocols.base import generic_error
from chaoslab.errors import AwsError

LAB_PREFIX = "/_chaoslab"
METRICS_PATH = "/metrics"  # Prometheus's default path; no AWS service the lab serves routes it

# RequestHandler settings, given to the runner and to every connection's handler alike.
HANDLER_SETTINGS: dict[str, Any] = {
    "access_log": None,
    "auto_decompress": False,  # SigV4 covers the gzip bytes; aws/body.py inflates with a cap
    "keepalive_timeout": limits.HEAD_DEADLINE,
    "lingering_time": limits.LINGER,
    "max_line_size": limits.MAX_LINE,
    "max_field_size": limits.MAX_FIELD,
    "max_headers": limits.MAX_HEADERS,
}
_CODES = {
    400: "MalformedHttpRequest",
    413: "RequestEntityTooLarge",
    431: "RequestHeaderFieldsTooLarge",
    500: "InternalFailure",
    504: "RequestTimeout",
}


class AwsRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors the way AWS does (XML error
    document, `x-amzn-ErrorType`, request id) except on the lab's `/_chaoslab/` routes."""

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        path = getattr(request, "path", "") or ""
        if path.startswith(LAB_PREFIX) or path == METRICS_PATH:
            return super().handle_error(request, status, exc, message)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already sent; the connection cannot carry an error")
        if status == 500:
            self.log_exception("API connection failed", exc_info=exc)
        text = message if status != 500 and message else "We encountered an internal error. Please try again."
        request_id = str(uuid.uuid4())
        error = AwsError(_CODES.get(status, "MalformedHttpRequest"), text, status, sender=status < 500)
        wire = generic_error(error, request_id, json_family=False)
        answer = web.Response(status=status, body=wire.body, headers={"x-amzn-RequestId": request_id, **wire.headers})
        answer.force_close()
        return answer


def handler_factory(server: web.Server, loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Protocol]:
    """The protocol factory for the API socket: an AwsRequestHandler per connection, or a refusal
    once MAX_CONNECTIONS are open (each holds a descriptor and up to MAX_BODY bytes)."""

    def make() -> asyncio.Protocol:
        if len(server.connections) >= limits.MAX_CONNECTIONS:
            return _Refuse()
        return AwsRequestHandler(server, loop=loop, **HANDLER_SETTINGS)

    return make


class _Refuse(asyncio.Protocol):
    """Answers 503 SlowDown (botocore retries it with back-off) and closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)  # a TCP server's transports can write
        wire = generic_error(
            AwsError(
                "SlowDown",
                f"Too many open connections (limit {limits.MAX_CONNECTIONS}); retry later.",
                503,
                sender=False,
            ),
            str(uuid.uuid4()),
            json_family=False,
        )
        head = "".join(f"{k}: {v}\r\n" for k, v in wire.headers.items())
        transport.write(
            f"HTTP/1.1 503 Service Unavailable\r\n{head}Content-Length: {len(wire.body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + wire.body
        )
        transport.close()


class ApiSite(web.SockSite):
    """A SockSite whose connections come from `factory` (aiohttp's SockSite always uses the
    runner's plain handler)."""

    def __init__(self, runner: web.BaseRunner, sock: Any, factory: Callable[[], asyncio.Protocol]) -> None:
        super().__init__(runner, sock)
        self._factory = factory

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._factory, sock=self._sock, backlog=self._backlog)
