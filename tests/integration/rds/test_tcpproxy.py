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

    async def upper_up(conn: Connection, direction: Direction, data: bytes, read_at: float) -> bytes:
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


def test_a_holding_filter_keeps_order_and_reads_only_a_bounded_buffer_ahead() -> None:
    """While the filter holds the first chunk, the proxy reads at most `buffer` chunks more, so
    the sender is pushed back by TCP instead of filling the proxy's memory; once released,
    every byte arrives in order. `route` picks each connection's upstream."""
    released = asyncio.Event()
    calls = 0

    async def hold_first(conn: Connection, direction: Direction, data: bytes, read_at: float) -> bytes:
        nonlocal calls
        calls += 1
        await released.wait()
        return data

    received = bytearray()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            received.extend(data)
        writer.close()

    async def scenario() -> bool:
        server = await asyncio.start_server(sink, "127.0.0.1", 0)
        routed: list[int] = []

        def route(sock: object) -> tuple[str, int]:
            routed.append(1)
            return "127.0.0.1", _port(server)

        proxy = TcpProxy("127.0.0.1", 0, filter=hold_first, route=route, buffer=2)
        await proxy.start()
        payload = bytes(range(256)) * (64 * 1024)  # 16 MiB: more than the sockets take in while the proxy reads nothing
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(payload)
            try:
                await asyncio.wait_for(writer.drain(), 0.5)
                pushed_back = False
            except TimeoutError:
                pushed_back = True
            assert calls == 1 and routed == [1]
            released.set()
            await asyncio.wait_for(writer.drain(), 20)
            writer.write_eof()
            await asyncio.wait_for(proxy.drain(20), 21)
            writer.close()
        finally:
            await proxy.stop()
            server.close()
        assert bytes(received) == payload
        return pushed_back

    assert asyncio.run(scenario())


def test_a_routed_proxy_refuses_a_connection_whose_destination_is_itself() -> None:
    """Behind a REDIRECT the route gives each flow's original destination; a connection made
    straight to the proxy's port (a readiness check) has the proxy itself as that destination.
    Forwarding it would connect to ourselves in a chain without end (it did: 1,400 connections
    in 3 s during one latency fault); it is reset instead, and stop() ends at once."""

    async def scenario() -> None:
        proxy = TcpProxy("127.0.0.1", 0, route=lambda sock: sock.getsockname()[:2])
        await proxy.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
                writer.write(b"ping")
                await writer.drain()
                await asyncio.wait_for(reader.readexactly(1), 2)
            writer.close()
            await asyncio.sleep(0.2)  # a chain, had one started, would have grown by now
            assert proxy.accepted == 1 and proxy.connection_count == 0
        finally:
            await asyncio.wait_for(proxy.stop(), 2)

    asyncio.run(scenario())
