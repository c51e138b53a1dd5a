"""A stack file's `security_groups:` section and the references to it (a load balancer's,
an Auto Scaling group's, a launch template's, an ECS service's and the database's
`security_groups: [name, ...]`): the schema, the cross-reference check, and the EC2 calls
that make the groups. Rules name their peer by CIDR or by the name of a group in the stack;
a group without `egress:` keeps AWS's all-traffic egress rule."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from chaoslab.types import LabLike

_RULE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "protocol": {"enum": ["tcp", "udp", "icmp", "all"]},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "ports": {"type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$"},
        "cidr": {"type": "string"},
        "group": {"type": "string"},
        "description": {"type": "string"},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._\\-]{0,254}$"},
            "description": {"type": "string"},
            "ingress": {"type": "array", "items": _RULE},
            "egress": {"type": "array", "items": _RULE},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
}
REFS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}

Fail = Callable[[str, str, str], None]


def _holders(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entry that may name groups, with its path."""
    for section in ("load_balancers", "launch_templates", "auto_scaling_groups"):
        for i, entry in enumerate(doc.get(section, [])):
            yield f"$.{section}[{i}]", entry
    for i, svc in enumerate((doc.get("ecs") or {}).get("services", [])):
        yield f"$.ecs.services[{i}]", svc
    if doc.get("database"):
        yield "$.database", doc["database"]


def check(doc: dict[str, Any], fail: Fail) -> None:
    """Unique names, one peer per rule, and every group a rule or a resource names defined."""
    groups = doc.get("security_groups", [])
    names = [g["name"] for g in groups]
    defined = ", ".join(names) or "none"
    for i, g in enumerate(groups):
        if names.count(g["name"]) > 1:
            fail(
                f"$.security_groups[{i}].name", f"group {g['name']!r} is defined twice", "give each group its own name"
            )
        for kind in ("ingress", "egress"):
            for j, rule in enumerate(g.get(kind, [])):
                path = f"$.security_groups[{i}].{kind}[{j}]"
                if ("cidr" in rule) == ("group" in rule):
                    fail(path, "a rule needs exactly one of cidr and group", "cidr: 10.0.0.0/16, or group: <name>")
                if "port" in rule and "ports" in rule:
                    fail(path, "a rule has port or ports, not both", "port: 80, or ports: 8000-8100")
                if rule.get("group") and rule["group"] not in names:
                    fail(f"{path}.group", f"unknown security group {rule['group']!r}", f"defined groups: {defined}")
    for path, holder in _holders(doc):
        for ref in holder.get("security_groups", []):
            if ref not in names:
                fail(f"{path}.security_groups", f"unknown security group {ref!r}", f"defined groups: {defined}")


def _permission(rule: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    protocol = rule.get("protocol", "tcp")
    perm: dict[str, Any] = {"IpProtocol": "-1" if protocol == "all" else protocol}
    if "port" in rule:
        perm["FromPort"] = perm["ToPort"] = rule["port"]
    elif "ports" in rule:
        low, high = rule["ports"].split("-")
        perm["FromPort"], perm["ToPort"] = int(low), int(high)
    described = {"Description": rule["description"]} if rule.get("description") else {}
    if "cidr" in rule:
        perm["IpRanges"] = [{"CidrIp": rule["cidr"], **described}]
    else:
        perm["UserIdGroupPairs"] = [{"GroupId": ids[rule["group"]], **described}]
    return perm


def create(lab: LabLike, doc: dict[str, Any], vpc_id: str) -> dict[str, str]:
    """Make the stack's groups in `vpc_id`, then their rules (which may name each other);
    returns group name → id."""
    registry = lab.ec2.security_groups
    made = {
        g["name"]: registry.create(g["name"], g.get("description") or g["name"], vpc_id, g.get("tags"))
        for g in doc.get("security_groups", [])
    }
    ids = {name: group.group_id for name, group in made.items()}
    for g in doc.get("security_groups", []):
        group = made[g["name"]]
        if "egress" in g:
            registry.revoke(group, True, list(group.egress()), [])
        for kind in ("ingress", "egress"):
            perms = [_permission(rule, ids) for rule in g.get(kind, [])]
            registry.authorize(group, registry.parse(group, kind == "egress", perms))
    return ids


def ids_of(holder: dict[str, Any], ids: dict[str, str]) -> list[str]:
    """The group ids an entry names (none: the VPC's default group, chosen by EC2)."""
    return [ids[name] for name in holder.get("security_groups", [])]
