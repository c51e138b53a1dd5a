"""HTTP/1.1 details of the ALB proxy against raw-socket targets: connection reuse, HEAD,
close-delimited bodies, malformed responses, pipelining and HTTP/1.0 clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from .helpers import make_alb, make_lab, wait_for_state

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def with_alb(tmp_path: Path, serve: Handler, body: Callable[[dict, asyncio.Server], Awaitable[None]]) -> None:
    """Run `body(alb, server)` against an ALB whose only target is `serve` on 127.0.0.2."""
    lab = make_lab(tmp_path)
    await lab.elbv2.start()
    server = await asyncio.start_server(serve, "127.0.0.2", 0)
    port = server.sockets[0].getsockname()[1]
    alb = await make_alb(lab)
    lab.elbv2.register_targets(TargetGroupArn=alb["tg"], Targets=[{"Id": "127.0.0.2", "Port": port}])
    await wait_for_state(lab, alb["tg"], "127.0.0.2", "healthy")
    alb["lab"] = lab
    try:
        await body(alb, server)
    finally:
        await lab.elbv2.stop()
        server.close()
        await server.wait_closed()


async def raw(url: str, payload: bytes, until_close: bool = True, expect: int = 1) -> bytes:
    """Send raw bytes to the listener; read until close or until `expect` responses arrived."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(payload)
    if until_close:
        data = await reader.read(-1)
    else:
        data = b""
        while data.count(b"HTTP/1.1 ") < expect or not data.endswith((b"a", b"b", b"ok")):
            data += await reader.read(65536)
    writer.close()
    return data


async def keep_alive_target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request on the same connection; counts connections that carried traffic
    (health probes, one per connection, are not counted)."""
    first = True
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if first and not head.startswith(b"GET /health"):
                keep_alive_target.connections += 1
            first = False
            if head.startswith(b"HEAD"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Target: yes\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def test_requests_reuse_pooled_target_connections(tmp_path: Path) -> None:
    keep_alive_target.connections = 0

    async def body(alb: dict, server: asyncio.Server) -> None:
        before = keep_alive_target.connections
        for _ in range(5):
            reply = await raw(alb["url"], b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"\r\n\r\nok")
            assert b"X-Target: yes" in reply and b"Connection: close" in reply
        # Five client connections; each data-plane worker keeps its own pool, so at most one
        # target connection per worker (fewer than five: they were reused).
        opened = keep_alive_target.connections - before
        assert 1 <= opened <= min(alb["lab"].elbv2.plane.size, 4)

    run(with_alb(tmp_path, keep_alive_target, body))


def test_head_and_pipelined_requests(tmp_path: Path) -> None:
    keep_alive_target.connections = 0

    async def body(alb: dict, server: asyncio.Server) -> None:
        reply = await raw(alb["url"], b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (
            reply.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 2" in reply and reply.endswith(b"\r\n\r\n")
        )
        pipelined = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
        reply = await raw(alb["url"], pipelined, until_close=False, expect=2)
        assert reply.count(b"HTTP/1.1 200 OK") == 2
        reply = await raw(alb["url"], b"GET / HTTP/1.0\r\n\r\n")  # 1.0 without keep-alive: closed after
        assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"ok")

    run(with_alb(tmp_path, keep_alive_target, body))


def test_close_delimited_body_is_forwarded(tmp_path: Path) -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close")
        await writer.drain()
        writer.close()

    async def body(alb: dict, server: asyncio.Server) -> None:
        reply = await raw(alb["url"], b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Length: 16\r\n" in reply and reply.endswith(b"\r\n\r\nbody until close")

    run(with_alb(tmp_path, old_style, body))


def test_malformed_response_is_502(tmp_path: Path) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET /health"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    async def body(alb: dict, server: asyncio.Server) -> None:
        reply = await raw(alb["url"], b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 502 Bad Gateway\r\n") and b"Server: awselb/2.0" in reply
        assert alb["lab"].elbv2.recent_requests()[-1]["error"] == "malformed_response"

    run(with_alb(tmp_path, broken, body))
