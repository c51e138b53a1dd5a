"""Security groups as EC2 keeps them: groups per VPC, each a list of single-source rules (what
DescribeSecurityGroupRules shows), folded into IpPermissions for DescribeSecurityGroups.

Pure: no I/O and no lab. The rules of AWS this holds to (docs/network-security.md):
* every VPC has a `default` group that cannot be deleted or re-created: all traffic in from its
  own members, all traffic out; a new group starts with the all-traffic egress rule only;
* a rule is one protocol, one port range and one peer (a CIDR or a group; the lab has no
  managed prefix lists, so a rule naming one is refused as naming a list that does not exist);
  protocol -1 (all) has no ports; authorizing a rule that exists is InvalidPermission.Duplicate,
  revoking one that does not is InvalidPermission.NotFound;
* a group still used by a network interface or named by another group's rule cannot be deleted
  (DependencyViolation).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import hex_id

DEFAULT_NAME = "default"
ALL = "-1"
_PROTOCOLS = {"-1": ALL, "all": ALL, "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp"}


@dataclass(frozen=True)
class Rule:
    """One rule: traffic of `protocol` on ports `from_port`..`to_port` from (ingress) or to
    (egress) exactly one of `cidr` or `group`."""

    rule_id: str
    group_id: str
    egress: bool
    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str | None = None
    group: str | None = None
    description: str = ""

    def key(self) -> tuple[object, ...]:
        """What makes two rules the same rule (the description does not)."""
        return (self.egress, self.protocol, self.from_port, self.to_port, self.cidr, self.group)

    def covers(self, protocol: str, port: int) -> bool:
        """Whether this rule's protocol and port range admit `protocol`/`port` traffic."""
        if self.protocol == ALL:
            return True
        if self.protocol != protocol:
            return False
        if self.protocol == "icmp" or self.from_port in (None, -1):
            return True
        assert self.to_port is not None and self.from_port is not None
        return self.from_port <= port <= self.to_port

    def to_record(self, account: str, region: str) -> dict[str, Any]:
        """The SecurityGroupRule shape."""
        record: dict[str, Any] = {
            "SecurityGroupRuleId": self.rule_id,
            "GroupId": self.group_id,
            "GroupOwnerId": account,
            "IsEgress": self.egress,
            "IpProtocol": self.protocol,
            "FromPort": -1 if self.from_port is None else self.from_port,
            "ToPort": -1 if self.to_port is None else self.to_port,
            "Tags": [],
            "SecurityGroupRuleArn": f"arn:aws:ec2:{region}:{account}:security-group-rule/{self.rule_id}",
        }
        if self.cidr:
            record["CidrIpv4"] = self.cidr
        if self.group:
            record["ReferencedGroupInfo"] = {"GroupId": self.group, "UserId": account}
        if self.description:
            record["Description"] = self.description
        return record


@dataclass
class SecurityGroup:
    group_id: str
    name: str
    description: str
    vpc_id: str
    rules: list[Rule] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def ingress(self) -> list[Rule]:
        return [r for r in self.rules if not r.egress]

    def egress(self) -> list[Rule]:
        return [r for r in self.rules if r.egress]

    def to_record(self, account: str, region: str) -> dict[str, Any]:
        """The SecurityGroup shape: rules folded into IpPermissions by protocol and ports."""
        return {
            "GroupId": self.group_id,
            "GroupName": self.name,
            "Description": self.description,
            "VpcId": self.vpc_id,
            "OwnerId": account,
            "SecurityGroupArn": f"arn:aws:ec2:{region}:{account}:security-group/{self.group_id}",
            "IpPermissions": permissions(self.ingress(), account),
            "IpPermissionsEgress": permissions(self.egress(), account),
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
        }


def permissions(rules: Iterable[Rule], account: str) -> list[dict[str, Any]]:
    """Rules grouped into IpPermission shapes, one per (protocol, from, to), in rule order."""
    out: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
    for r in rules:
        perm = out.get((r.protocol, r.from_port, r.to_port))
        if perm is None:
            perm = {"IpProtocol": r.protocol, "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": []}
            perm["UserIdGroupPairs"] = []
            if r.from_port is not None:
                perm["FromPort"], perm["ToPort"] = r.from_port, r.to_port
            out[(r.protocol, r.from_port, r.to_port)] = perm
        described = {"Description": r.description} if r.description else {}
        if r.cidr:
            perm["IpRanges"].append({"CidrIp": r.cidr, **described})
        elif r.group:
            perm["UserIdGroupPairs"].append({"GroupId": r.group, "UserId": account, **described})
    return list(out.values())


def _protocol(value: object) -> str:
    proto = _PROTOCOLS.get(str(value).lower()) if value is not None else None
    if proto is None:
        raise AwsError("InvalidParameterValue", f"Invalid value '{value}' for IP protocol. Unknown protocol.")
    return proto


def _ports(proto: str, perm: dict[str, Any]) -> tuple[int | None, int | None]:
    """The rule's port range as AWS checks it: none for all protocols; both ends for TCP/UDP,
    in 0-65535 and in order; ICMP's are type and code (-1 for any)."""
    if proto == ALL:
        return None, None
    lo, hi = perm.get("FromPort"), perm.get("ToPort")
    if proto == "icmp":
        return (-1 if lo is None else int(lo)), (-1 if hi is None else int(hi))
    if lo is None or hi is None:
        raise AwsError(
            "InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP."
        )
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535) or lo > hi:
        raise AwsError("InvalidParameterValue", f"Invalid port range {lo}-{hi}: ports must be 0-65535, from <= to.")
    return int(lo), int(hi)


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=False))
    except ValueError:
        raise AwsError("InvalidParameterValue", f"CIDR block {value} is malformed") from None


class SecurityGroups:
    """Every group of the lab, by id. `in_use(group_id)` says whether an interface (instance,
    task, load balancer, database) still has the group: the caller knows those, this does not."""

    def __init__(self, in_use: Callable[[str], bool] = lambda _gid: False) -> None:
        self.groups: dict[str, SecurityGroup] = {}
        self.in_use = in_use

    # groups ----------------------------------------------------------------------------------
    def create(self, name: str, description: str, vpc_id: str, tags: dict[str, str] | None = None) -> SecurityGroup:
        if not name or len(name) > 255:
            raise AwsError("InvalidParameterValue", "Group names must be 1 to 255 characters long.")
        if name.lower() == DEFAULT_NAME:
            raise AwsError("InvalidGroup.Reserved", "The security group 'default' is reserved")
        if name.startswith("sg-"):
            raise AwsError("InvalidParameterValue", "Group names may not be in the format sg-*.")
        if not description:
            raise AwsError("MissingParameter", "The request must contain the parameter groupDescription")
        return self._add(name, description, vpc_id, tags)

    def create_default(self, vpc_id: str) -> SecurityGroup:
        """A VPC's `default` group: all traffic in from its own members, all out."""
        group = self._add(DEFAULT_NAME, "default VPC security group", vpc_id, None)
        group.rules.append(self._rule(group.group_id, False, ALL, None, None, group=group.group_id))
        return group

    def _add(self, name: str, description: str, vpc_id: str, tags: dict[str, str] | None) -> SecurityGroup:
        if any(g.name == name and g.vpc_id == vpc_id for g in self.groups.values()):
            raise AwsError("InvalidGroup.Duplicate", f"The security group '{name}' already exists for VPC '{vpc_id}'")
        group = SecurityGroup("sg-" + hex_id(17), name, description, vpc_id, tags=dict(tags or {}))
        group.rules.append(self._rule(group.group_id, True, ALL, None, None, cidr="0.0.0.0/0"))
        self.groups[group.group_id] = group
        return group

    def get(self, group_id: str) -> SecurityGroup:
        group = self.groups.get(group_id)
        if group is None:
            raise AwsError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
        return group

    def find(self, group_id: str | None, name: str | None, vpc_id: str | None = None) -> SecurityGroup:
        """By id, or by name (within `vpc_id` when given), as the API's GroupId/GroupName take it."""
        if group_id:
            return self.get(group_id)
        if not name:
            raise AwsError("MissingParameter", "The request must contain the parameter groupName or groupId")
        for g in self.groups.values():
            if g.name == name and vpc_id in (None, g.vpc_id):
                return g
        raise AwsError("InvalidGroup.NotFound", f"The security group '{name}' does not exist in default VPC")

    def default_of(self, vpc_id: str) -> SecurityGroup:
        return self.find(None, DEFAULT_NAME, vpc_id)

    def resolve(self, refs: Iterable[str], vpc_id: str) -> tuple[str, ...]:
        """Group ids for ids or names given at launch, all in `vpc_id`; none given: the default."""
        ids = []
        for ref in refs:
            group = self.get(ref) if ref.startswith("sg-") else self.find(None, ref, vpc_id)
            if group.vpc_id != vpc_id:
                raise AwsError(
                    "InvalidParameter",
                    f"Security group {group.group_id} and subnet belong to different networks.",
                )
            ids.append(group.group_id)
        return tuple(ids) if ids else (self.default_of(vpc_id).group_id,)

    def delete(self, group_id: str | None, name: str | None) -> SecurityGroup:
        group = self.find(group_id, name)
        if group.name == DEFAULT_NAME:
            raise AwsError(
                "CannotDelete",
                f'the specified group: "{group.group_id}" name: "default" cannot be deleted by a user',
            )
        referenced = any(r.group == group.group_id for g in self.groups.values() if g is not group for r in g.rules)
        if referenced or self.in_use(group.group_id):
            raise AwsError("DependencyViolation", f"resource {group.group_id} has a dependent object")
        del self.groups[group.group_id]
        return group

    # rules -----------------------------------------------------------------------------------
    def _rule(self, group_id: str, egress: bool, proto: str, lo: int | None, hi: int | None, **peer: Any) -> Rule:
        return Rule("sgr-" + hex_id(17), group_id, egress, proto, lo, hi, **peer)

    def parse(self, group: SecurityGroup, egress: bool, perms: list[dict[str, Any]]) -> list[Rule]:
        """IpPermissions as the API takes them, one Rule per source, each checked."""
        rules = []
        for perm in perms:
            proto = _protocol(perm.get("IpProtocol"))
            lo, hi = _ports(proto, perm)
            peers: list[dict[str, Any]] = []
            for r in perm.get("IpRanges") or []:
                peers.append({"cidr": _cidr(r.get("CidrIp", "")), "description": r.get("Description") or ""})
            for p in perm.get("PrefixListIds") or []:
                raise AwsError(
                    "InvalidPrefixListId.NotFound", f"The prefix list ID '{p.get('PrefixListId')}' does not exist"
                )
            for pair in perm.get("UserIdGroupPairs") or []:
                ref = self.find(pair.get("GroupId"), pair.get("GroupName"), group.vpc_id)
                peers.append({"group": ref.group_id, "description": pair.get("Description") or ""})
            if perm.get("Ipv6Ranges"):
                raise AwsError("InvalidParameterValue", "The lab's VPCs are IPv4-only: Ipv6Ranges are not supported.")
            if not peers:
                raise AwsError(
                    "InvalidParameterValue",
                    "The request must contain a source or destination: IpRanges or UserIdGroupPairs.",
                )
            rules += [self._rule(group.group_id, egress, proto, lo, hi, **peer) for peer in peers]
        return rules

    def authorize(self, group: SecurityGroup, rules: list[Rule]) -> list[Rule]:
        """Add rules; any that exists already (or twice in the request) refuses them all."""
        seen = {r.key() for r in group.rules}
        for r in rules:
            if r.key() in seen:
                raise AwsError("InvalidPermission.Duplicate", f'the specified rule "{_describe(r)}" already exists')
            seen.add(r.key())
        group.rules.extend(rules)
        return rules

    def revoke(self, group: SecurityGroup, egress: bool, rules: list[Rule], rule_ids: list[str]) -> list[Rule]:
        """Remove the rules matching `rules` (by content) and those named by `rule_ids`; one that
        does not exist refuses them all."""
        doomed: list[Rule] = []
        for wanted in rules:
            match = next((r for r in group.rules if r.key() == wanted.key()), None)
            if match is None:
                raise AwsError(
                    "InvalidPermission.NotFound", "The specified rule does not exist in this security group."
                )
            doomed.append(match)
        for rid in rule_ids:
            match = next((r for r in group.rules if r.rule_id == rid and r.egress == egress), None)
            if match is None:
                raise AwsError(
                    "InvalidSecurityGroupRuleId.NotFound", f"The security group rule ID '{rid}' does not exist"
                )
            doomed.append(match)
        group.rules = [r for r in group.rules if r not in doomed]
        return doomed

    def all_rules(self) -> list[Rule]:
        return [r for g in self.groups.values() for r in g.rules]


def _describe(r: Rule) -> str:
    peer = r.cidr or r.group
    ports = "" if r.from_port is None else f", from port: {r.from_port}, to port: {r.to_port}"
    proto = "ALL" if r.protocol == ALL else r.protocol.upper()
    return f"peer: {peer}, {proto}{ports}, ALLOW"
