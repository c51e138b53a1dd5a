"""TcpProxy over real loopback sockets: forwarding, failover switch, drop, pause, filter hook."""

from __future__ import annotations

import asyncio

import pytest

from chaoslab.net.tcpproxy import Connection, Direction, TcpProxy


async def _echo_server(tag: bytes) -> asyncio.base_events.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(tag + data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _port(server: asyncio.base_events.Server) -> int:
    return server.sockets[0].getsockname()[1]


async def _roundtrip(port: int, payload: bytes = b"ping") -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    return await asyncio.wait_for(reader.read(1024), 2), reader, writer


def test_forward_switch_drop_pause() -> None:
    async def scenario() -> None:
        a, b = await _echo_server(b"A:"), await _echo_server(b"B:")
        proxy = TcpProxy("127.0.0.1", 0, ("127.0.0.1", _port(a)))
        await proxy.start()
        try:
            got, reader, writer = await _roundtrip(proxy.port)
            assert got == b"A:ping" and proxy.connection_count == 1

            proxy.set_upstream("127.0.0.1", _port(b))
            assert await proxy.drop_all() == 1
            try:
                rest = await asyncio.wait_for(reader.read(1024), 2)
            except ConnectionResetError:
                rest = b""
            assert rest == b""  # the live connection is gone: EOF or reset
            writer.close()
            got, _, w2 = await _roundtrip(proxy.port)
            assert got == b"B:ping"
            w2.close()

            proxy.pause("hold")
            held = asyncio.create_task(_roundtrip(proxy.port, b"held"))
            await asyncio.sleep(0.2)
            assert not held.done()
            proxy.resume()
            got, _, w3 = await held
            assert got == b"B:held"
            w3.close()

            proxy.pause("refuse")
            with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError, OSError)):
                got, _, _ = await _roundtrip(proxy.port)
                if got == b"":
                    raise ConnectionResetError("closed without answer")
            proxy.resume()
        finally:
            await proxy.stop()
            a.close()
            b.close()
        assert proxy.connection_count == 0

    asyncio.run(scenario())


def test_filter_sees_both_directions() -> None:
    seen: list[tuple[Direction, bytes]] = []

    async def upper_up(conn: Connection, direction: Direction, data: bytes) -> bytes:
        seen.append((direction, data))
        return data.upper() if direction == "upstream" else data

    async def scenario() -> None:
        a = await _echo_server(b"A:")
        proxy = TcpProxy("127.0.0.1", 0, ("127.0.0.1", _port(a)), filter=upper_up)
        await proxy.start()
        try:
            got, _, writer = await _roundtrip(proxy.port, b"hello")
            assert got == b"A:HELLO"
            writer.close()
        finally:
            await proxy.stop()
            a.close()

    asyncio.run(scenario())
    assert seen == [("upstream", b"hello"), ("downstream", b"A:HELLO")]
