"""ECS service registries (Cloud Map service discovery): which registries a service may name,
and the instance each RUNNING task registers — its ID is the task's, its attributes are those
ECS writes (the task's IPv4 address, the SRV port, AZ, cluster, service, task definition family,
region). A task deregisters when it stops; with a custom health check, its container health
becomes the instance's status (docs/service-discovery.md).

AWS facts relied on: a service takes at most one registry; with the awsvpc network mode a
registry whose service has an SRV record needs either `port` or `containerName` and
`containerPort`, not both, and a container port the task definition maps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslab.errors import AwsError

Lookup = Callable[[str], Any]
"""registryArn -> the Cloud Map service (with `.records` and `.id`), or None."""


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)


def check_registries(registries: list[dict[str, Any]], td: dict[str, Any], lookup: Lookup) -> list[dict[str, Any]]:
    """The service's `serviceRegistries` as ECS accepts them (a copy)."""
    if len(registries) > 1:
        raise invalid("Only one service registry is supported per service.")
    out = []
    for reg in registries:
        arn = reg.get("registryArn")
        target = lookup(arn) if arn else None
        if target is None:
            raise invalid(f"Service registry {arn} does not exist.")
        has_port = reg.get("port") is not None
        has_container = reg.get("containerName") is not None or reg.get("containerPort") is not None
        if has_port and has_container:
            raise invalid("A service registry takes either port or containerName and containerPort, not both.")
        srv = any(r["Type"] == "SRV" for r in target.records)
        if srv and td.get("networkMode") == "awsvpc" and not (has_port or has_container):
            raise invalid(
                "When specifying 'SRV' DNS record type, you must specify either a 'containerName' and "
                "'containerPort' combination or a 'port' value."
            )
        if has_container:
            _check_container(reg, td)
        out.append(dict(reg))
    return out


def _check_container(reg: dict[str, Any], td: dict[str, Any]) -> None:
    name, port = reg.get("containerName"), reg.get("containerPort")
    if name is None or port is None:
        raise invalid("A service registry's containerName and containerPort go together.")
    container = next((c for c in td["containerDefinitions"] if c["name"] == name), None)
    if container is None:
        raise invalid(f"The container {name} does not exist in the task definition.")
    if not any(int(m.get("containerPort", 0)) == int(port) for m in container.get("portMappings", [])):
        raise invalid(f"The container {name} does not have a port mapping for port {port}.")


def port_of(reg: dict[str, Any]) -> int | None:
    """The port a registry's SRV record names."""
    port = reg.get("port", reg.get("containerPort"))
    return None if port is None else int(port)


def attributes(
    reg: dict[str, Any], ip: str, az: str, cluster: str, service: str, family: str, region: str, srv: bool
) -> dict[str, str]:
    """The attributes ECS registers for one task."""
    out = {
        "AWS_INSTANCE_IPV4": ip,
        "AVAILABILITY_ZONE": az,
        "AWS_INIT_HEALTH_STATUS": "HEALTHY",
        "ECS_CLUSTER_NAME": cluster,
        "ECS_SERVICE_NAME": service,
        "ECS_TASK_DEFINITION_FAMILY": family,
        "REGION": region,
    }
    port = port_of(reg)
    if srv and port is not None:
        out["AWS_INSTANCE_PORT"] = str(port)
    return out
