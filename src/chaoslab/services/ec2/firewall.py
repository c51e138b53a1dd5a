"""Security groups as iptables rules inside one unit's network namespace, as a pure function.

A unit's interface is where AWS applies its groups, so that is where the lab does: arriving
packets go through `CLSG-in` (filter INPUT), leaving ones through `CLSG-out` (mangle OUTPUT).
Both are stateful as AWS's are: packets of a connection already admitted (conntrack
ESTABLISHED/RELATED) pass, so replies need no rule. A denied arriving packet is dropped; a
denied leaving one is marked into the namespace's sink (`faults.network_iptables`), so a
client sees a silent loss and times out, never a refusal.

A subnet's network ACL is applied in each of its units' namespaces too, statelessly: `CLACL-in`
and `CLACL-out` send traffic that crosses the subnet's edge (any peer outside the subnet, and the
host's own address in it, through which the ALB comes) through `CLACL-in-r` / `CLACL-out-r`,
the entries in rule-number order, first match decides, deny at the end.

The lab's own listeners on the VPC (the database endpoints on the service address) have no
namespace of their own; their groups' ingress rules are applied at the sender instead, in its
`CLSG-out`, which has the same effect on the wire: the connection attempt vanishes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chaoslab.faults.network_iptables import SINK_MARK
from chaoslab.services.ec2.network_acls import NAMES, AclEntry
from chaoslab.services.ec2.security_groups import ALL, Rule

IN_CHAIN = "CLSG-in"
OUT_CHAIN = "CLSG-out"
ACL_IN, ACL_OUT = "CLACL-in", "CLACL-out"
_SINK = ["-j", "MARK", "--set-xmark", SINK_MARK]
_KEEP = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]


@dataclass(frozen=True)
class SubnetAcl:
    """A unit's subnet (`cidr`, the host's `gateway` address in it) and its ACL's entries."""

    cidr: str
    gateway: str
    ingress: list[AclEntry]
    egress: list[AclEntry]


@dataclass(frozen=True)
class Endpoint:
    """A listener of the lab's guarded by groups (a database endpoint): `ip`:`port` over TCP,
    judged by the rules as `rule_port` — the port AWS would have it on (a cluster's reader
    endpoint listens on the next port in the lab, on the cluster's own on AWS)."""

    ip: str
    port: int
    rule_port: int
    groups: tuple[str, ...]


def _match(rule: Rule, arriving: bool) -> list[str]:
    """Protocol and ports. An arriving packet's port is the one it was sent to: a fault's
    redirect inside the unit (the latency proxy) has rewritten it by INPUT, and AWS judges the
    packet at the interface, before anything the instance does to it."""
    if rule.protocol == ALL:
        return []
    if rule.protocol == "icmp":
        return ["-p", "icmp"]
    ports = f"{rule.from_port}:{rule.to_port}"
    if arriving:
        return ["-p", rule.protocol, "-m", "conntrack", "--ctorigdstport", ports]
    return ["-p", rule.protocol, "--dport", ports]


def _peers(rule: Rule, members: Mapping[str, Iterable[str]]) -> list[str]:
    """The CIDRs a rule's peer stands for: its CIDR, or every address of its group's members."""
    if rule.cidr:
        return [rule.cidr]
    return [f"{ip}/32" for ip in sorted(set(members.get(rule.group or "", ())))]


def admits(rules: Iterable[Rule], members: Mapping[str, Iterable[str]], peer_ip: str, port: int) -> bool:
    """Whether any of `rules` admits TCP to/from `peer_ip` on `port` (used for endpoints)."""
    addr = ipaddress.IPv4Address(peer_ip)
    for rule in rules:
        if rule.covers("tcp", port) and any(addr in ipaddress.IPv4Network(c) for c in _peers(rule, members)):
            return True
    return False


def _acl_match(entry: AclEntry, peer: str) -> list[str]:
    match = [peer, entry.cidr]
    if entry.protocol != "-1":
        match += ["-p", NAMES[entry.protocol]]
    if entry.from_port is not None:
        match += ["--dport", f"{entry.from_port}:{entry.to_port}"]
    return match


def _acl_chains(acl: SubnetAcl, hook: bool, resolver: str) -> tuple[list[str], list[str]]:
    """The filter and mangle lines of a subnet ACL's chains (see the module docstring); queries
    to the VPC's DNS server at `resolver` pass, as AWS's ACLs never filter its resolver."""
    filt = [f":{ACL_IN} - [0:0]", f":{ACL_IN}-r - [0:0]", f"-A {ACL_IN} -i lo -j RETURN"]
    filt += [f"-A {ACL_IN} -s {acl.gateway}/32 -j {ACL_IN}-r", f"-A {ACL_IN} -s {acl.cidr} -j RETURN"]
    filt.append(f"-A {ACL_IN} -j {ACL_IN}-r")
    for e in acl.ingress:
        filt.append(" ".join(["-A", f"{ACL_IN}-r", *_acl_match(e, "-s"), "-j", "RETURN" if e.allow else "DROP"]))
    filt.append(f"-A {ACL_IN}-r -j DROP")
    mangle = [f":{ACL_OUT} - [0:0]", f":{ACL_OUT}-r - [0:0]", f"-A {ACL_OUT} -o lo -j RETURN"]
    mangle.append(f"-A {ACL_OUT} {_dns(resolver)} -j RETURN")
    mangle += [f"-A {ACL_OUT} -d {acl.gateway}/32 -j {ACL_OUT}-r", f"-A {ACL_OUT} -d {acl.cidr} -j RETURN"]
    mangle.append(f"-A {ACL_OUT} -j {ACL_OUT}-r")
    for e in acl.egress:
        match = " ".join(["-A", f"{ACL_OUT}-r", *_acl_match(e, "-d")])
        if not e.allow:
            mangle.append(" ".join([match, *_SINK]))
        mangle.append(f"{match} -j RETURN")
    if not any(e.protocol == "-1" and e.cidr == "0.0.0.0/0" and e.allow for e in acl.egress[:1]):
        mangle.append(" ".join(["-A", f"{ACL_OUT}-r", *_SINK]))  # unreachable after an allow-all first entry
    if hook:
        filt.append(f"-A INPUT -j {ACL_IN}")
        mangle.append(f"-A OUTPUT -j {ACL_OUT}")
    return filt, mangle


def restore_text(
    ip: str,
    ingress: list[Rule],
    egress: list[Rule],
    members: Mapping[str, Iterable[str]],
    endpoints: Iterable[tuple[Endpoint, list[Rule]]],
    lab_ip: str,
    hook: bool,
    acl: SubnetAcl | None = None,
) -> str:
    """The `iptables-restore --noflush` input that (re)writes a unit's chains whole, and, with
    `hook`, jumps into them (the first time). `members`: group id → member addresses;
    `endpoints`: each guarded listener with its groups' ingress rules; `lab_ip`: the lab's
    service address, whose own probes (is a port served) every group admits, as AWS's own
    health checks of an instance ignore its groups, and where the VPC's DNS server listens,
    which no group or ACL filters on AWS; `acl`: the unit's subnet and its ACL."""
    filt = [f":{IN_CHAIN} - [0:0]", " ".join(["-A", IN_CHAIN, *_KEEP])]
    filt.append(f"-A {IN_CHAIN} -i lo -j RETURN")
    filt.append(f"-A {IN_CHAIN} -s {lab_ip}/32 -j RETURN")
    for rule in ingress:
        for cidr in _peers(rule, members):
            filt.append(" ".join(["-A", IN_CHAIN, "-s", cidr, *_match(rule, True), "-j", "RETURN"]))
    filt.append(f"-A {IN_CHAIN} -j DROP")
    mangle = [f":{OUT_CHAIN} - [0:0]", " ".join(["-A", OUT_CHAIN, *_KEEP])]
    mangle.append(f"-A {OUT_CHAIN} -o lo -j RETURN")
    mangle.append(f"-A {OUT_CHAIN} {_dns(lab_ip)} -j RETURN")
    for endpoint, rules in endpoints:
        if not admits(rules, members, ip, endpoint.rule_port):
            match = ["-d", f"{endpoint.ip}/32", "-p", "tcp", "--dport", str(endpoint.port)]
            mangle.append(" ".join(["-A", OUT_CHAIN, *match, *_SINK]))
    for rule in egress:
        for cidr in _peers(rule, members):
            mangle.append(" ".join(["-A", OUT_CHAIN, "-d", cidr, *_match(rule, False), "-j", "RETURN"]))
    if not any(r.protocol == ALL and r.cidr == "0.0.0.0/0" for r in egress):
        mangle.append(" ".join(["-A", OUT_CHAIN, *_SINK]))
    if hook:
        filt.append(f"-A INPUT -j {IN_CHAIN}")
        mangle.append(f"-A OUTPUT -j {OUT_CHAIN}")
    if acl is not None:
        acl_filter, acl_mangle = _acl_chains(acl, hook, lab_ip)
        filt += acl_filter
        mangle += acl_mangle
    return "".join(_table(name, lines) for name, lines in (("filter", filt), ("mangle", mangle)))


def _dns(resolver: str) -> str:
    """The match for a DNS query to the VPC's resolver (UDP; the server answers no TCP)."""
    return f"-d {resolver}/32 -p udp --dport 53"


def _table(name: str, lines: list[str]) -> str:
    """One table's section, every chain declared before any rule (which may jump to it)."""
    ordered = [line for line in lines if line.startswith(":")] + [line for line in lines if not line.startswith(":")]
    return "\n".join([f"*{name}", *ordered, "COMMIT"]) + "\n"
