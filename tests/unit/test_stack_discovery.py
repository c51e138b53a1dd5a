"""Stack files' `service_discovery:` section and ECS services' `service_registry:`: a registry
must name a service the stack defines (the error names its path), and the section becomes Cloud
Map namespaces and services whose ARNs the ECS services' `serviceRegistries` carry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab import stack_discovery
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import ChaoslabError
from chaoslab.services.servicediscovery.backend import ServiceDiscoveryBackend
from chaoslab.stack import validate_stack

TD = {"family": "web", "containerDefinitions": [{"name": "web", "image": "chaoslab/static"}]}
DISCOVERY = {"namespaces": [{"name": "lab.local", "services": [{"name": "web", "records": ["A", "SRV"], "ttl": 5}]}]}


def stack(registry: dict[str, Any]) -> dict[str, Any]:
    service = {
        "name": "web",
        "cluster": "c",
        "task_definition": "web",
        "desired_count": 1,
        "service_registry": registry,
    }
    return {
        "name": "s",
        "vpc": {"cidr": "10.9.0.0/16", "subnets": {"us-east-1a": "10.9.10.0/24"}},
        "service_discovery": DISCOVERY,
        "ecs": {"clusters": ["c"], "task_definitions": [TD], "services": [service]},
    }


def test_a_registry_names_a_service_of_the_stack() -> None:
    validate_stack(stack({"namespace": "lab.local", "service": "web", "container_name": "web", "container_port": 80}))
    with pytest.raises(ChaoslabError) as err:
        validate_stack(stack({"namespace": "lab.local", "service": "api"}))
    assert "$.ecs.services[0].service_registry" in str(err.value.path)
    assert "unknown discovery service 'api'" in str(err.value)


def test_the_section_becomes_cloud_map_services_the_registries_point_at(tmp_path: Path) -> None:
    network = SimpleNamespace(mode="loopback", bridge=None)
    lab = SimpleNamespace(
        clock=LabClock(),
        config=LabConfig(home=tmp_path),
        ec2=SimpleNamespace(vpcs={"vpc-1": SimpleNamespace(network=network)}),
    )
    lab.servicediscovery = ServiceDiscoveryBackend(lab)
    arns = asyncio.run(stack_discovery.create(lab, {"service_discovery": DISCOVERY}, "vpc-1"))
    (made,) = lab.servicediscovery.services.values()
    assert arns == {("lab.local", "web"): made.arn}
    assert made.records == [{"Type": "A", "TTL": 5}, {"Type": "SRV", "TTL": 5}]
    assert made.namespace.vpc == "vpc-1"
    registry = {"namespace": "lab.local", "service": "web", "container_name": "web", "container_port": 80}
    assert stack_discovery.registries_of({"service_registry": registry}, arns) == [
        {"registryArn": made.arn, "containerName": "web", "containerPort": 80}
    ]
    assert stack_discovery.registries_of({}, arns) == []
