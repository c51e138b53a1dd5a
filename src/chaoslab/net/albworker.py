"""An ALB worker process: the proxy (alb.py) on its own event loop, fed by the lab.

    python -m chaoslab.net.albworker CONTROL_FD RING_FD LAB_PID

The lab (albplane.py) starts one per core. A worker mirrors the routing state the lab sends on
its control socket, accepts on the listening sockets that come with `listen` messages, writes a
record per request into its ring, and reports its in-flight requests per target twice a second.
It runs uvloop where installed: a worker never starts processes, which is what keeps uvloop out
of the lab itself. It ends when the control socket reaches end-of-file, and dies with the lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import signal
import socket
import sys
from collections import deque
from typing import Any

from chaoslab.net import albwire
from chaoslab.net.alb import ListenerProxy, TargetPool, Upstream

_REPORT_SECONDS = 0.5  # in-flight counts, for the lab's Prometheus gauge


class Worker:
    """The state one worker mirrors, and the messages that change it."""

    def __init__(self, control: socket.socket, ring: albwire.RingWriter) -> None:
        self.control = control
        self.ring = ring
        self.decoder = albwire.Decoder()
        self.fds: deque[int] = deque()  # listening sockets received, not yet claimed by their message
        self.idle: dict[int, float] = {}
        self.upstreams: dict[int, Upstream] = {}
        self.pools: dict[int, TargetPool] = {}
        self.listeners: dict[int, ListenerProxy] = {}
        self.done: asyncio.Future[None]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.control.setblocking(False)
        loop.add_reader(self.control.fileno(), self._readable)
        self._say(("ready",))
        reporter = loop.create_task(self._report())
        try:
            await self.done
        finally:
            reporter.cancel()
            loop.remove_reader(self.control.fileno())
            for proxy in list(self.listeners.values()):
                await proxy.stop()

    def _readable(self) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.control, 1 << 16, 64)
        except BlockingIOError:
            return
        except OSError:
            data, fds = b"", []
        self.fds.extend(fds)
        if not data:
            if not self.done.done():
                self.done.set_result(None)
            return
        for message in self.decoder.feed(data):
            self.apply(message)

    def apply(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "lb":
            self.idle[message[1]] = float(message[2])
        elif kind == "upstream":
            _, key, target_id, host, port = message
            upstream = self.upstreams.get(key)
            if upstream is None:
                self.upstreams[key] = Upstream(target_id, host, port, key)
            elif (upstream.host, upstream.port) != (host, port):
                upstream.close_idle()
                upstream.host, upstream.port = host, port
        elif kind == "forget":
            gone = self.upstreams.pop(message[1], None)
            if gone is not None:
                gone.close_idle()
        elif kind == "close_idle":
            if (upstream := self.upstreams.get(message[1])) is not None:
                upstream.close_idle()
        elif kind == "abort":
            if (upstream := self.upstreams.get(message[1])) is not None:
                upstream.abort_in_flight()
        elif kind == "pool":
            _, key, dimension, routing, algorithm = message
            pool = self.pools.get(key)
            if pool is None:
                pool = self.pools[key] = TargetPool(dimension, key)
            pool.algorithm = algorithm
            pool.set_routing([self.upstreams[k] for k in routing if k in self.upstreams])
        elif kind == "listen":
            self._listen(*message[1:])
        elif kind == "unlisten":
            asyncio.get_running_loop().create_task(self._unlisten(message[1]))

    def _listen(self, key: int, lb: int, pool: int, connect_timeout: float) -> None:
        sock = socket.socket(fileno=self.fds.popleft())
        idle = self.idle

        def idle_timeout() -> float:
            return idle.get(lb, 60.0)

        proxy = ListenerProxy(sock, self.pools[pool], self.ring, lb, idle_timeout, connect_timeout)
        self.listeners[key] = proxy
        asyncio.get_running_loop().create_task(proxy.start())

    async def _unlisten(self, key: int) -> None:
        proxy = self.listeners.pop(key, None)
        if proxy is not None:
            await proxy.stop()
            proxy.sock.close()
        self._say(("closed", key))

    async def _report(self) -> None:
        last: dict[int, int] = {}
        while True:
            await asyncio.sleep(_REPORT_SECONDS)
            now = {key: u.inflight for key, u in self.upstreams.items() if u.inflight}
            if now != last:
                self._say(("inflight", now))
                last = now

    def _say(self, message: tuple[Any, ...]) -> None:
        """Tell the lab something small; if its socket is full right now, the next report will."""
        with contextlib.suppress(OSError):
            self.control.send(albwire.encode(message))


def _die_with(lab_pid: int) -> None:
    """Have the kernel SIGKILL this process when the lab's ends, and stop now if it already did."""
    if sys.platform == "linux":
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != lab_pid:
        os._exit(0)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def main(argv: list[str]) -> int:
    control_fd, ring_fd, lab_pid = (int(a) for a in argv)
    _die_with(lab_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the lab's to handle; it ends us
    ring = mmap.mmap(ring_fd, albwire.ring_size())
    os.close(ring_fd)
    worker = Worker(socket.socket(fileno=control_fd), albwire.RingWriter(ring))
    loop = _new_loop()
    try:
        loop.run_until_complete(worker.run())
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
