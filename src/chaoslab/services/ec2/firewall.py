"""Security groups as iptables rules inside one unit's network namespace, as a pure function.

A unit's interface is where AWS applies its groups, so that is where the lab does: arriving
packets go through `CLSG-in` (filter INPUT), leaving ones through `CLSG-out` (mangle OUTPUT).
Both are stateful as AWS's are: packets of a connection already admitted (conntrack
ESTABLISHED/RELATED) pass, so replies need no rule. A denied arriving packet is dropped; a
denied leaving one is marked into the namespace's sink (`faults.network_iptables`), so a
client sees a silent loss and times out, never a refusal.

The lab's own listeners on the VPC (the database endpoints on the service address) have no
namespace of their own; their groups' ingress rules are applied at the sender instead, in its
`CLSG-out`, which has the same effect on the wire: the connection attempt vanishes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chaoslab.faults.network_iptables import SINK_MARK
from chaoslab.services.ec2.security_groups import ALL, Rule

IN_CHAIN = "CLSG-in"
OUT_CHAIN = "CLSG-out"
_SINK = ["-j", "MARK", "--set-xmark", SINK_MARK]
_KEEP = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]


@dataclass(frozen=True)
class Endpoint:
    """A listener of the lab's guarded by groups (a database endpoint): `ip`:`port` over TCP,
    judged by the rules as `rule_port` — the port AWS would have it on (a cluster's reader
    endpoint listens on the next port in the lab, on the cluster's own on AWS)."""

    ip: str
    port: int
    rule_port: int
    groups: tuple[str, ...]


def _match(rule: Rule) -> list[str]:
    if rule.protocol == ALL:
        return []
    if rule.protocol == "icmp":
        return ["-p", "icmp"]
    return ["-p", rule.protocol, "--dport", f"{rule.from_port}:{rule.to_port}"]


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


def restore_text(
    ip: str,
    ingress: list[Rule],
    egress: list[Rule],
    members: Mapping[str, Iterable[str]],
    endpoints: Iterable[tuple[Endpoint, list[Rule]]],
    lab_ip: str,
    hook: bool,
) -> str:
    """The `iptables-restore --noflush` input that (re)writes a unit's two chains whole, and,
    with `hook`, jumps into them (the first time). `members`: group id → member addresses;
    `endpoints`: each guarded listener with its groups' ingress rules; `lab_ip`: the lab's
    service address, whose own probes (is a port served) every group admits, as AWS's own
    health checks of an instance ignore its groups."""
    lines = ["*filter", f":{IN_CHAIN} - [0:0]"]
    lines.append(" ".join(["-A", IN_CHAIN, *_KEEP]))
    lines.append(f"-A {IN_CHAIN} -i lo -j RETURN")
    lines.append(f"-A {IN_CHAIN} -s {lab_ip}/32 -j RETURN")
    for rule in ingress:
        for cidr in _peers(rule, members):
            lines.append(" ".join(["-A", IN_CHAIN, "-s", cidr, *_match(rule), "-j", "RETURN"]))
    lines.append(f"-A {IN_CHAIN} -j DROP")
    if hook:
        lines.append(f"-A INPUT -j {IN_CHAIN}")
    lines += ["COMMIT", "*mangle", f":{OUT_CHAIN} - [0:0]"]
    lines.append(" ".join(["-A", OUT_CHAIN, *_KEEP]))
    lines.append(f"-A {OUT_CHAIN} -o lo -j RETURN")
    for endpoint, rules in endpoints:
        if not admits(rules, members, ip, endpoint.rule_port):
            match = ["-d", f"{endpoint.ip}/32", "-p", "tcp", "--dport", str(endpoint.port)]
            lines.append(" ".join(["-A", OUT_CHAIN, *match, *_SINK]))
    for rule in egress:
        for cidr in _peers(rule, members):
            lines.append(" ".join(["-A", OUT_CHAIN, "-d", cidr, *_match(rule), "-j", "RETURN"]))
    if not any(r.protocol == ALL and r.cidr == "0.0.0.0/0" for r in egress):
        lines.append(" ".join(["-A", OUT_CHAIN, *_SINK]))
    if hook:
        lines.append(f"-A OUTPUT -j {OUT_CHAIN}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"
