"""The DNS server units query for the namespaces' names: UDP on the VPC's resolver address (the
`.2` of its range, where AWS's resolver answers too), tied to the VPC's bridge so labs on one
host never share it. It answers from what is registered at the moment of the query, with each
record's TTL; a name in no namespace is REFUSED, so no query ever leaves the machine.

Answers stay far below 512 bytes (at most eight records), so no reply is truncated and the
TCP fallback resolvers use for truncated replies is never needed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import cast

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, SRV, A, DNSLabel, DNSRecord

from chaoslab.services.servicediscovery.records import Answer

log = logging.getLogger(__name__)

NOERROR, NXDOMAIN, REFUSED = RCODE.NOERROR, RCODE.NXDOMAIN, RCODE.REFUSED
DNS_PORT = 53
Resolve = Callable[[str, str], tuple[int, list[Answer]]]
"""(query name lowercased without its final dot, query type) -> (response code, answers)."""


def _rdata(answer: Answer) -> object:
    if answer.rtype == "A":
        return A(answer.value)
    if answer.rtype == "AAAA":
        return AAAA(answer.value)
    if answer.rtype == "CNAME":
        return CNAME(answer.value)
    priority, weight, port, target = answer.value.split()
    return SRV(int(priority), int(weight), int(port), DNSLabel(target))


def reply(packet: bytes, resolve: Resolve) -> bytes | None:
    """The reply to one query packet, None for a packet that is not a DNS query."""
    try:
        request = DNSRecord.parse(packet)
    except Exception:  # dnslib raises several kinds on garbage; a resolver would drop it too
        return None
    if request.header.qr or not request.questions:
        return None
    response = request.reply(ra=0)
    question = request.questions[0]
    qname = str(question.qname).rstrip(".").lower()
    qtype = QTYPE.get(question.qtype, str(question.qtype))
    code, found = resolve(qname, qtype)
    response.header.rcode = code
    for answer in found:
        rtype = getattr(QTYPE, answer.rtype)
        response.add_answer(RR(question.qname, rtype, rdata=_rdata(answer), ttl=answer.ttl))
    data: bytes = response.pack()
    return data


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, resolve: Resolve) -> None:
        self.resolve = resolve
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        out = reply(data, self.resolve)
        if out is not None and self.transport is not None:
            self.transport.sendto(out, addr)


class DnsServer:
    """One VPC's resolver: UDP `address:port` on `bridge`."""

    def __init__(self, bridge: str, address: str, resolve: Resolve, port: int = DNS_PORT) -> None:
        self.bridge, self.address, self.port = bridge, address, port
        self.resolve = resolve
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.bridge.encode())
            sock.bind((self.address, self.port))
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self.resolve), sock=sock)
        self._transport = transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
