"""The health probe against raw-socket targets: any response it cannot read is a failed check."""

from __future__ import annotations

import asyncio

from chaoslab.net import healthcheck as hc


async def probe_against(reply: bytes) -> hc.ProbeResult:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        return await hc.probe("127.0.0.1", port, "/", 2.0, hc.parse_matcher("200"))
    finally:
        server.close()
        await server.wait_closed()


def test_status_line_beyond_reader_limit_fails_the_check() -> None:
    result = asyncio.run(probe_against(b"HTTP/1.1 200 " + b"x" * 200_000))
    assert (result.ok, result.reason) == (False, "Target.FailedHealthChecks")


def test_readable_statuses_are_classified() -> None:
    assert asyncio.run(probe_against(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).ok
    result = asyncio.run(probe_against(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"))
    assert (result.ok, result.reason) == (False, "Target.ResponseCodeMismatch")
