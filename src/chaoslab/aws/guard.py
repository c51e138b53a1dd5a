"""Who may use the lab's HTTP port (docs/security.md): only requests addressed to the lab by one
of its own names, and, for calls that change the lab's state under `/_chaoslab/`, only callers
holding the lab's token.

The `Host` check stops DNS rebinding: a web page whose name is re-pointed at 127.0.0.1 becomes
same-origin with the lab, so neither CORS nor "JSON only" keeps its scripts out, but its requests
still carry its own name as `Host`. It covers the AWS API too, whose default keys are public. The
token (random per lab start, in the state dir, mode 0600) is what a local process proves it may
read the lab's files with; the dashboard page carries it because the lab serves the page only to
requests that passed the `Host` check.
"""

from __future__ import annotations

import hmac
import os
import secrets
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from chaoslab.aws.protocols.base import generic_error
from chaoslab.aws.routing import is_json_family
from chaoslab.aws.server import LAB_PREFIX
from chaoslab.errors import AwsError

TOKEN_FILE = "lab-token"
TOKEN_HEADER = "X-Chaoslab-Token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def allowed_hosts(configured: str, port: int) -> frozenset[str]:
    """`Host` values that name this lab: the loopback names and the configured address, with the
    port (without it too on port 80, where clients leave it out)."""
    names = {*LOOPBACK_NAMES, f"[{configured}]" if ":" in configured else configured.lower()}
    hosts = {f"{name}:{port}" for name in names}
    return frozenset(hosts | names if port == 80 else hosts)


def write_token(home: Path) -> str:
    """A fresh token in `<home>/lab-token`, readable by the lab's user only."""
    token = secrets.token_urlsafe(32)
    path = home / TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file left by an earlier lab keeps its mode otherwise
        os.write(fd, token.encode())
    finally:
        os.close(fd)
    return token


def middleware(hosts: Callable[[], frozenset[str]], token: Callable[[], str | None]) -> Middleware:
    """The aiohttp middleware: `hosts()` and `token()` are read per request (the port is known
    only once the socket is bound; a lab without a token refuses every state-changing call)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "").lower()
        lab_route = request.path.startswith(LAB_PREFIX)
        if host not in hosts():
            message = f"Host {host!r} is not this lab's address; use http://127.0.0.1:<port> or the configured host."
            return _refuse(request, lab_route, "InvalidHost", message)
        # A WebSocket upgrade is a GET that opens a channel to act through (an interactive exec).
        if lab_route and (request.method not in _READS or "upgrade" in request.headers.get("Connection", "").lower()):
            expected = token()
            given = request.headers.get(TOKEN_HEADER, "")
            if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
                message = f"send the lab's token in {TOKEN_HEADER} (it is in the state dir's {TOKEN_FILE})"
                return _refuse(request, lab_route, "MissingLabToken", message)
        return await handler(request)

    return guard


def _refuse(request: web.Request, lab_route: bool, code: str, message: str) -> web.Response:
    """403 as the route's callers read errors: the lab's JSON, or AWS's error document."""
    if lab_route:
        return web.json_response({"code": code, "message": message}, status=403)
    request_id = str(uuid.uuid4())
    wire = generic_error(AwsError(code, message, 403), request_id, is_json_family(request.headers))
    return web.Response(status=403, body=wire.body, headers=wire.headers)
