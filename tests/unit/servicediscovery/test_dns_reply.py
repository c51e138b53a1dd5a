"""The DNS server's replies (services/servicediscovery/dns.py), through dnslib's own parser:
answers with their TTLs, the response codes, and silence for what is not a query."""

from __future__ import annotations

from dnslib import QTYPE, RCODE, DNSRecord

from chaoslab.services.servicediscovery.dns import NOERROR, NXDOMAIN, REFUSED, reply
from chaoslab.services.servicediscovery.records import Answer


def _resolve(qname: str, qtype: str) -> tuple[int, list[Answer]]:
    if qname == "web.lab.local" and qtype == "A":
        return NOERROR, [Answer("A", 10, "10.0.10.4"), Answer("A", 10, "10.0.11.5")]
    if qname == "web.lab.local" and qtype == "SRV":
        return NOERROR, [Answer("SRV", 20, "1 1 8080 t1.web.lab.local")]
    if qname.endswith("lab.local"):
        return NXDOMAIN, []
    return REFUSED, []


def _ask(name: str, qtype: str) -> DNSRecord:
    out = reply(DNSRecord.question(name, qtype).pack(), _resolve)
    assert out is not None
    return DNSRecord.parse(out)


def test_a_query_is_answered_with_every_address_and_its_ttl() -> None:
    answer = _ask("Web.Lab.Local.", "A")
    assert answer.header.rcode == RCODE.NOERROR
    assert sorted((str(rr.rdata), rr.ttl) for rr in answer.rr) == [("10.0.10.4", 10), ("10.0.11.5", 10)]


def test_an_srv_query_names_the_port_and_target() -> None:
    rr = _ask("web.lab.local", "SRV").rr[0]
    assert rr.rtype == QTYPE.SRV and rr.ttl == 20
    assert (rr.rdata.port, str(rr.rdata.target)) == (8080, "t1.web.lab.local.")


def test_unknown_names_are_nxdomain_in_a_namespace_and_refused_outside() -> None:
    assert _ask("db.lab.local", "A").header.rcode == RCODE.NXDOMAIN
    assert _ask("example.com", "A").header.rcode == RCODE.REFUSED


def test_garbage_and_replies_get_no_answer() -> None:
    assert reply(b"\x00\x01garbage", _resolve) is None
    answered = DNSRecord.question("web.lab.local").reply().pack()
    assert reply(answered, _resolve) is None
