"""The delay proxy: a helper process inside a unit's namespace that adds latency to TCP flows
(this kernel has no netem).

iptables REDIRECTs the affected flows here (`network_rules.latency_redirect`); the proxy reads
each flow's original destination (SO_ORIGINAL_DST), connects there itself with SO_MARK set (so
its own connections are not redirected again) and relays. Like netem on the unit's eth0, it
delays what *leaves* the unit: on egress flows the unit's bytes towards the peer, on ingress
flows the unit's answers. Each chunk is held `delay ± jitter` ms (uniform jitter) after it was
read; chunks never overtake each other, as a TCP stream must stay in order.

On SIGTERM (the lab has already stopped redirecting new flows) it lets the flows in flight end by
themselves for up to `--drain-s` seconds, as removing netem would leave them alone, and closes
what is still open then (pooled connections).

Run: python -m chaoslab.faults.network_delayproxy --egress-port P --ingress-port Q --mark M
      --delay-ms D --jitter-ms J --drain-s S --tag T
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import socket
import struct
import time
from collections.abc import Awaitable
from typing import Any

SO_ORIGINAL_DST = 80
CHUNK = 65536
ACCEPT_GRACE_S = 0.05  # lets the loop accept a connection the kernel queued before SIGTERM


def original_destination(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


class Delay:
    """When a chunk read now may be sent: now + delay ± jitter, never before the previous one."""

    def __init__(self, delay_ms: float, jitter_ms: float) -> None:
        self.delay = delay_ms / 1000
        self.jitter = jitter_ms / 1000
        self._last = 0.0

    def release_at(self, now: float) -> float:
        hold = max(0.0, self.delay + random.uniform(-self.jitter, self.jitter))
        self._last = max(self._last, now + hold)
        return self._last


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: Delay | None) -> None:
    """Copy one direction; with `delay`, a queue holds each chunk until its release time."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            at, data = await queue.get()
            wait = at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(CHUNK)
            now = time.monotonic()
            await queue.put((delay.release_at(now) if delay and data else now, data))
            if not data:
                break
        await sender
    finally:
        sender.cancel()


async def relay(
    client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, mark: int, delay: Delay, egress: bool
) -> None:
    sock = client_w.get_extra_info("socket")
    try:
        host, port = original_destination(sock)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        upstream.setblocking(False)
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(upstream, (host, port)), 30)
        up_r, up_w = await asyncio.open_connection(sock=upstream)
    except (TimeoutError, OSError):
        client_w.close()
        return
    try:  # each direction ends at its EOF (half-close is normal); a reset ends both
        await asyncio.gather(
            pump(client_r, up_w, delay if egress else None), pump(up_r, client_w, None if egress else delay)
        )
    except OSError:
        pass
    finally:
        for w in (up_w, client_w):
            w.close()


async def tracked(relays: set[asyncio.Task[Any]], flow: Awaitable[None]) -> None:
    """Run one relay while it is counted in `relays`, so a drain can wait for it."""
    task = asyncio.current_task()
    assert task is not None
    relays.add(task)
    try:
        await flow
    finally:
        relays.discard(task)


async def drain(relays: set[asyncio.Task[Any]], seconds: float) -> None:
    """Wait up to `seconds` for the flows in flight to end by themselves."""
    deadline = time.monotonic() + seconds
    await asyncio.sleep(min(ACCEPT_GRACE_S, seconds))  # a flow redirected just before the rule went
    while relays and (left := deadline - time.monotonic()) > 0:
        await asyncio.wait(set(relays), timeout=left)


async def serve(args: argparse.Namespace) -> None:
    servers = []
    relays: set[asyncio.Task[Any]] = set()
    for port, egress in ((args.egress_port, True), (args.ingress_port, False)):

        def accepted(r: asyncio.StreamReader, w: asyncio.StreamWriter, e: bool = egress) -> Any:
            return tracked(relays, relay(r, w, args.mark, Delay(args.delay_ms, args.jitter_ms), e))

        servers.append(await asyncio.start_server(accepted, "0.0.0.0", port, reuse_address=True))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await drain(relays, args.drain_s)
    for s in servers:
        s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--egress-port", type=int, required=True)
    parser.add_argument("--ingress-port", type=int, required=True)
    parser.add_argument("--mark", type=lambda v: int(v, 0), required=True)
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument(
        "--drain-s", type=float, required=True, help="on SIGTERM, wait this long at most for the flows in flight to end"
    )
    parser.add_argument("--tag", default="", help="fault tag; lets a reverter find this process after a crash")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
