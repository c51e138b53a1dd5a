"""A generic asyncio TCP proxy: one listening address, one switchable upstream.

The DB endpoints use it for failover (switch upstream, drop every live connection, refuse or hold
new ones). The per-unit network-fault proxies reuse it through `Filter`: a callback spliced into
each direction of each connection, the place where a latency/blackhole/bandwidth "toxic" goes.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from chaoslab.net.hostsock import bind_listener

Direction = Literal["upstream", "downstream"]
# Called with each chunk read on one direction of a connection; returns the bytes to forward
# (b"" forwards nothing). Awaiting inside it delays that direction only.
Filter = Callable[["Connection", Direction, bytes], Awaitable[bytes]]
_CHUNK = 65536


@dataclass(eq=False)
class Connection:
    """One proxied client connection, as filters and callers see it."""

    id: int
    client: tuple[str, int]
    upstream: tuple[str, int]
    _writers: list[asyncio.StreamWriter] = field(default_factory=list, repr=False)

    def reset(self) -> None:
        """Abort both sockets with RST, so the client sees a reset rather than a polite EOF."""
        for writer in self._writers:
            _abort(writer)


class TcpProxy:
    """Listen on (host, port) and forward each connection to the current upstream."""

    def __init__(
        self,
        host: str,
        port: int,
        upstream: tuple[str, int] | None = None,
        *,
        filter: Filter | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.upstream = upstream
        self.filter = filter
        self.connect_timeout = connect_timeout
        self.accepted = 0
        self._server: asyncio.base_events.Server | None = None
        self._conns: dict[Connection, asyncio.Task[None]] = {}
        self._open = asyncio.Event()
        self._open.set()
        self._refusing = False
        self._next_id = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, sock=bind_listener(self.host, self.port))
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.drop_all()

    # -- control ---------------------------------------------------------------------------------
    def set_upstream(self, host: str, port: int) -> None:
        """New connections go to (host, port); live ones keep their old upstream until dropped."""
        self.upstream = (host, port)

    async def drop_all(self) -> int:
        """Reset every live connection (clients see a reset/EOF); returns how many there were."""
        items = list(self._conns.items())
        for conn, _ in items:
            conn.reset()
        for _, task in items:
            task.cancel()
        await asyncio.gather(*(t for _, t in items), return_exceptions=True)
        return len(items)

    def pause(self, mode: Literal["hold", "refuse"] = "hold") -> None:
        """`hold`: accept new connections but forward nothing until `resume()`;
        `refuse`: reset new connections at once (what a client of a dead host sees)."""
        self._refusing = mode == "refuse"
        self._open.clear()

    def resume(self) -> None:
        self._refusing = False
        self._open.set()

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    @property
    def connection_count(self) -> int:
        return len(self._conns)

    @property
    def connections(self) -> list[Connection]:
        return list(self._conns)

    # -- data path ---------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._refusing or self.upstream is None:
            _abort(writer)
            return
        self._next_id += 1
        conn = Connection(self._next_id, writer.get_extra_info("peername")[:2], self.upstream, [writer])
        task = asyncio.current_task()
        assert task is not None
        self._conns[conn] = task
        try:
            await self._open.wait()
            if self._refusing:
                _abort(writer)
                return
            conn.upstream = self.upstream
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*conn.upstream), self.connect_timeout)
            conn._writers.append(up_writer)
            await asyncio.gather(
                self._pipe(conn, "upstream", reader, up_writer),
                self._pipe(conn, "downstream", up_reader, writer),
            )
        except (TimeoutError, OSError):
            conn.reset()
        finally:
            self._conns.pop(conn, None)
            for w in conn._writers:
                w.close()

    async def _pipe(
        self, conn: Connection, direction: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Copy one direction; EOF is passed on as a half-close, an error resets the connection."""
        try:
            while data := await reader.read(_CHUNK):
                if self.filter is not None:
                    data = await self.filter(conn, direction, data)
                if data:
                    writer.write(data)
                    await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            conn.reset()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0 so the peer gets an RST, then drop the transport without flushing."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
