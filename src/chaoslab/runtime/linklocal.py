"""Link-local endpoints units expect on every AWS machine (the instance metadata service at
169.254.169.254, the ECS task metadata endpoint at 169.254.170.2), served by the lab.

In a network namespace a unit routes these addresses through its `eth0` to the VPC's bridge,
which holds them; the lab listens there with the socket tied to that bridge (SO_BINDTODEVICE),
so labs on one host never collide on the address, and tells units apart by their source
address, their VPC IP. A unit's programs may bind 0.0.0.0 on any port: nothing of the lab's
listens in their namespace.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

ADDRESSES = ("169.254.169.254", "169.254.170.2")

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class LinkLocalServer:
    """One address:port on one bridge; requests go to the handler of the unit that sent them."""

    def __init__(self, bridge: str, address: str, port: int) -> None:
        self.bridge, self.address, self.port = bridge, address, port
        self.handlers: dict[str, Handler] = {}  # unit IP -> its handler
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.bridge.encode())
        sock.bind((self.address, self.port))
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(web.Server(self._dispatch, access_log=None), sock=sock)

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        handler = self.handlers.get(request.remote or "")
        if handler is None:
            return web.Response(status=404, text="Not Found")
        return await handler(request)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
