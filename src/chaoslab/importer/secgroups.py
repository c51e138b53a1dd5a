"""Security-group permissions as every source spells them, in the stack's terms (`model.Rule`).

What the stack format cannot say is listed, never widened: IPv6 ranges and prefix lists (the lab's
networks are IPv4 and have no managed prefix lists), ICMP restricted to a type or code, and
protocols other than tcp, udp, icmp and all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaoslab.importer.model import Architecture, Rule

_PROTOCOLS = {
    "-1": "all",
    "all": "all",
    "tcp": "tcp",
    "6": "tcp",
    "udp": "udp",
    "17": "udp",
    "icmp": "icmp",
    "1": "icmp",
}
ALL_OUT = Rule("all", cidr="0.0.0.0/0")  # the egress rule AWS gives every new group
_WHY = {"IPv6 range": "the lab's networks are IPv4 only", "prefix list": "the lab has no managed prefix lists"}


def rules(
    arch: Architecture,
    what: str,
    protocol: Any,
    ports: tuple[Any, Any],
    cidrs: Iterable[Any] = (),
    groups: Iterable[Any] = (),
    description: str | None = None,
    untranslatable: Mapping[str, Iterable[Any]] | None = None,
) -> list[Rule]:
    """One rule per peer of one permission; `untranslatable` names peers the lab cannot have
    (kind -> values), each listed."""
    for kind, values in (untranslatable or {}).items():
        if listed := [str(v) for v in values if v]:
            arch.skip(what, f"{kind} {', '.join(listed)} left out: {_WHY[kind]}")
    name = _PROTOCOLS.get(str(protocol).lower())
    if name is None:
        arch.skip(what, f"left out: protocol {protocol} is not in the lab (tcp, udp, icmp or all)")
        return []
    low, high = (None if p in (None, "", -1, "-1") else int(str(p)) for p in ports)
    span: tuple[int, int] | None = None
    if name == "icmp" and (low is not None or high is not None):
        arch.skip(what, f"left out: ICMP type {ports[0]} code {ports[1]} (a stack allows all of ICMP or none)")
        return []
    if name in ("tcp", "udp"):
        span = (low or 0, high if high is not None else 65535)
    text = description or None
    return [Rule(name, span, cidr=str(c), description=text) for c in cidrs if c] + [
        Rule(name, span, group=str(g), description=text) for g in groups if g
    ]


def ip_permissions(arch: Architecture, what: str, permissions: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """EC2's `IpPermissions` (DescribeSecurityGroups, CloudFormation's shape aside) as rules."""
    out: list[Rule] = []
    for perm in permissions:
        protocol, ports = perm.get("IpProtocol", "-1"), (perm.get("FromPort"), perm.get("ToPort"))
        untranslatable = {
            "IPv6 range": [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", [])],
            "prefix list": [p.get("PrefixListId") for p in perm.get("PrefixListIds", [])],
        }
        out += rules(arch, what, protocol, ports, untranslatable=untranslatable)
        for r in perm.get("IpRanges", []):
            out += rules(arch, what, protocol, ports, cidrs=[r["CidrIp"]], description=r.get("Description"))
        for pair in perm.get("UserIdGroupPairs", []):
            out += rules(arch, what, protocol, ports, groups=[pair["GroupId"]], description=pair.get("Description"))
    return out


def attach(arch: Architecture, pending: Iterable[tuple[str, bool, Rule]], source: str) -> None:
    """Rules of separate rule resources (group id, egress?, rule) into their groups, once every
    group is read. An egress rule added to a group that keeps AWS's default keeps that default too,
    as EC2 does; a rule a group already has is not repeated."""
    groups = {g.id: g for g in arch.security_groups}
    for group_id, egress, rule in pending:
        group = groups.get(group_id)
        if group is None:
            arch.skip(f"security group rule of {group_id}", f"its group is not in the {source}")
            continue
        if egress and group.egress is None:
            group.egress = [ALL_OUT]
        kept = group.egress if egress and group.egress is not None else group.ingress
        if rule not in kept:
            kept.append(rule)
