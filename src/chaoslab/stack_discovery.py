"""A stack file's `service_discovery:` section (Cloud Map private DNS namespaces in the stack's
VPC and their services) and an ECS service's `service_registry:` naming one of them: the
schema, the cross-reference check, and the Cloud Map calls that make them
(docs/service-discovery.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslab.types import LabLike

DEFAULT_TTL = 60
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "namespaces": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "services": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "records": {"type": "array", "items": {"enum": ["A", "SRV"]}, "minItems": 1},
                                "ttl": {"type": "integer", "minimum": 0},
                                "custom_health": {"type": "boolean"},
                            },
                        },
                    },
                },
            },
        },
    },
}
REGISTRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["namespace", "service"],
    "properties": {
        "namespace": {"type": "string"},
        "service": {"type": "string"},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "container_name": {"type": "string"},
        "container_port": {"type": "integer", "minimum": 0, "maximum": 65535},
    },
}

Fail = Callable[[str, str, str], None]


def _defined(doc: dict[str, Any]) -> set[tuple[str, str]]:
    spaces = (doc.get("service_discovery") or {}).get("namespaces", [])
    return {(ns["name"], s["name"]) for ns in spaces for s in ns.get("services", [])}


def check(doc: dict[str, Any], fail: Fail) -> None:
    """Every `service_registry:` names a service the stack defines."""
    defined = _defined(doc)
    for i, svc in enumerate((doc.get("ecs") or {}).get("services", [])):
        reg = svc.get("service_registry")
        if reg and (reg["namespace"], reg["service"]) not in defined:
            names = ", ".join(f"{s}.{n}" for n, s in sorted(defined)) or "none"
            fail(
                f"$.ecs.services[{i}].service_registry",
                f"unknown discovery service {reg['service']!r} in namespace {reg['namespace']!r}",
                f"define it under service_discovery.namespaces (defined: {names})",
            )


async def create(lab: LabLike, doc: dict[str, Any], vpc_id: str) -> dict[tuple[str, str], str]:
    """Make the namespaces in `vpc_id` and their services; returns (namespace, service) → ARN."""
    arns: dict[tuple[str, str], str] = {}
    for ns in (doc.get("service_discovery") or {}).get("namespaces", []):
        op = await lab.servicediscovery.create_private_dns_namespace(ns["name"], vpc_id)
        ns_id = op.targets["NAMESPACE"]
        for s in ns.get("services", []):
            ttl = s.get("ttl", DEFAULT_TTL)
            records = [{"Type": kind, "TTL": ttl} for kind in s.get("records", ["A"])]
            made = lab.servicediscovery.create_service(
                s["name"],
                ns_id,
                {"DnsRecords": records},
                custom_health={"FailureThreshold": 1} if s.get("custom_health") else None,
            )
            arns[(ns["name"], s["name"])] = made.arn
    return arns


def registries_of(svc: dict[str, Any], arns: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """An ECS service's `serviceRegistries` from its `service_registry:`."""
    reg = svc.get("service_registry")
    if not reg:
        return []
    out: dict[str, Any] = {"registryArn": arns[(reg["namespace"], reg["service"])]}
    for key, member in (("port", "port"), ("container_name", "containerName"), ("container_port", "containerPort")):
        if key in reg:
            out[member] = reg[key]
    return [out]
