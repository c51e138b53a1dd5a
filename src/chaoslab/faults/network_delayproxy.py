"""The delay proxy: a helper process inside a unit's namespace that adds latency to TCP flows
(this kernel has no netem).

iptables REDIRECTs the affected flows here (`network_rules.latency_redirect`). Two transparent
`TcpProxy`s (egress and ingress) send each flow to its original destination (SO_ORIGINAL_DST),
with SO_MARK set on their own connections so they are not redirected again, through the `Delay`
filter. Like netem on the unit's eth0, it delays what *leaves* the unit: on egress flows the
unit's bytes towards the peer (the proxy's upstream direction), on ingress flows the unit's
answers (its downstream direction). Each chunk is held `delay ± jitter` ms (uniform jitter)
after it was read; chunks never overtake each other, as a TCP stream must stay in order, and the
proxy reads at most its bounded buffer ahead.

On SIGTERM (the lab has already stopped redirecting new flows) it lets the flows in flight end by
themselves for up to `--drain-s` seconds, as removing netem would leave them alone, and closes
what is still open then (pooled connections).

Run: python -m chaoslab.faults.network_delayproxy --egress-port P --ingress-port Q --mark M
      --delay-ms D --jitter-ms J --drain-s S --tag T
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import socket
import struct
import time

from chaoslab.net.tcpproxy import Connection, Direction, TcpProxy

SO_ORIGINAL_DST = 80
ACCEPT_GRACE_S = 0.05  # lets the loop accept a connection the kernel queued before SIGTERM
CONNECT_TIMEOUT_S = 30.0


def original_destination(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


class Delay:
    """A `TcpProxy` filter: each chunk of the `delayed` direction is held until delay ± jitter
    after it was read. The proxy passes a direction's chunks through one at a time, so a chunk
    held longer holds the ones behind it: order is kept, as on a TCP stream."""

    def __init__(self, delay_ms: float, jitter_ms: float, delayed: Direction) -> None:
        self.delay = delay_ms / 1000
        self.jitter = jitter_ms / 1000
        self.delayed = delayed

    def hold(self) -> float:
        return max(0.0, self.delay + random.uniform(-self.jitter, self.jitter))

    def end(self) -> None:
        """The fault is reverted: what is still in flight moves at once, as when FIS removes its
        qdisc; flows the proxy carries only finish through it."""
        self.delay = self.jitter = 0.0

    async def __call__(self, conn: Connection, direction: Direction, data: bytes, read_at: float) -> bytes:
        if direction == self.delayed:
            wait = read_at + self.hold() - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return data


async def serve(args: argparse.Namespace) -> None:
    sides: tuple[tuple[int, Direction], ...] = ((args.egress_port, "upstream"), (args.ingress_port, "downstream"))
    delays = [Delay(args.delay_ms, args.jitter_ms, delayed) for _, delayed in sides]
    proxies = [
        TcpProxy(
            "0.0.0.0",
            port,
            filter=delay,
            route=original_destination,
            mark=args.mark,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
        for (port, _), delay in zip(sides, delays, strict=True)
    ]
    for proxy in proxies:
        await proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for delay in delays:
        delay.end()
    deadline = time.monotonic() + args.drain_s
    await asyncio.sleep(min(ACCEPT_GRACE_S, args.drain_s))  # a flow redirected just before the rule went
    for proxy in proxies:
        await proxy.drain(deadline - time.monotonic())
    for proxy in proxies:
        await proxy.stop()


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
    parser.add_argument("--tag", default="", help="fault tag; lets a revert find this process after a crash")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
