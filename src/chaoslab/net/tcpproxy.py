"""A generic asyncio TCP proxy: one listening address, one switchable upstream — or, behind an
iptables REDIRECT, each connection's own original destination.

The DB endpoints use it for failover (switch upstream, drop every live connection, refuse or hold
new ones). The per-unit delay proxy reuses it transparently (`route`, `mark`) with a `Filter`: a
callback spliced into each direction of each connection, the place where a latency, blackhole
or bandwidth "toxic" goes. With a filter, reading goes on while the filter holds earlier chunks,
up to `buffer` chunks ahead per direction; then reading stops and TCP's own flow control pushes
back on the sender, so a slow filter never grows memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from chaoslab.net.hostsock import bind_listener

Direction = Literal["upstream", "downstream"]
# Called in order with each chunk read on one direction of a connection and the monotonic time it
# was read; returns the bytes to forward (b"" forwards nothing). Awaiting inside it holds that
# chunk and the ones behind it, on that direction only.
Filter = Callable[["Connection", Direction, bytes, float], Awaitable[bytes]]
# The upstream of one accepted connection, from its socket (SO_ORIGINAL_DST behind a REDIRECT).
Route = Callable[[socket.socket], tuple[str, int]]
_CHUNK = 65536
BUFFER_CHUNKS = 64  # per direction of a filtered connection: at most 4 MiB read ahead of the filter


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
        route: Route | None = None,
        mark: int | None = None,
        buffer: int = BUFFER_CHUNKS,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.upstream = upstream
        self.filter = filter
        self.route = route  # set: each connection goes where `route` says, not to `upstream`
        self.mark = mark  # SO_MARK of upstream sockets, so a REDIRECT can leave them alone
        self.buffer = buffer
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
        """Stop accepting, reset what is still connected, then wait for the server to let go: the
        server's wait counts live connections, so waiting before the resets would wait for them."""
        if self._server is not None:
            self._server.close()
        await self.drop_all()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # -- control ---------------------------------------------------------------------------------
    def set_upstream(self, host: str, port: int) -> None:
        """New connections go to (host, port); live ones keep their old upstream until dropped."""
        self.upstream = (host, port)

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for the live connections to end by themselves."""
        deadline = time.monotonic() + seconds
        while self._conns and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._conns.values()), timeout=left)

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
        try:
            upstream = self.route(writer.get_extra_info("socket")) if self.route else self.upstream
        except OSError:
            upstream = None
        if self.route is not None and upstream == writer.get_extra_info("sockname")[:2]:
            # Not redirected (a connection straight to our port, e.g. a readiness check): its
            # "original destination" is this proxy, and forwarding it would connect to ourselves,
            # again and again, without end.
            upstream = None
        if self._refusing or upstream is None:
            _abort(writer)
            return
        self._next_id += 1
        conn = Connection(self._next_id, writer.get_extra_info("peername")[:2], upstream, [writer])
        task = asyncio.current_task()
        assert task is not None
        self._conns[conn] = task
        try:
            await self._open.wait()
            if self._refusing:
                _abort(writer)
                return
            if self.route is None and self.upstream is not None:
                conn.upstream = self.upstream
            up_reader, up_writer = await asyncio.wait_for(self._connect(conn.upstream), self.connect_timeout)
            conn._writers.append(up_writer)
            pipe = self._pipe if self.filter is None else self._filtered_pipe
            await asyncio.gather(
                pipe(conn, "upstream", reader, up_writer),
                pipe(conn, "downstream", up_reader, writer),
            )
        except (TimeoutError, OSError):
            conn.reset()
        finally:
            self._conns.pop(conn, None)
            for w in conn._writers:
                w.close()

    async def _connect(self, upstream: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.mark is None:
            return await asyncio.open_connection(*upstream)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, self.mark)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, upstream)
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    async def _pipe(
        self, conn: Connection, direction: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Copy one direction; EOF is passed on as a half-close, an error resets the connection."""
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            conn.reset()

    async def _filtered_pipe(
        self, conn: Connection, direction: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """`_pipe` through the filter: one task reads (into a queue of `buffer` chunks), this one
        passes each chunk, in order, through the filter and on; EOF follows the last chunk."""
        assert self.filter is not None
        chunks: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue(self.buffer)

        async def read() -> None:  # b"" queued last is the EOF; a failed read raises instead
            while data := await reader.read(_CHUNK):
                await chunks.put((data, time.monotonic()))
            await chunks.put((b"", time.monotonic()))

        reading = asyncio.create_task(read())
        try:
            while True:
                if reading.done():  # what it queued is all there is; then its failure, if any
                    if chunks.empty():
                        reading.result()  # raises the read's OSError (a clean end queued b"")
                    data, read_at = chunks.get_nowait()
                else:
                    getting = asyncio.ensure_future(chunks.get())
                    await asyncio.wait({getting, reading}, return_when=asyncio.FIRST_COMPLETED)
                    if not getting.done():
                        getting.cancel()  # the reader ended first; an item is never lost
                        continue
                    data, read_at = getting.result()
                if not data:
                    break
                data = await self.filter(conn, direction, data, read_at)
                if data:
                    writer.write(data)
                    await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            conn.reset()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await reading


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0 so the peer gets an RST, then drop the transport without flushing."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()
