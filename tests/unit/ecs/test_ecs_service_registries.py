"""ECS `serviceRegistries` as ECS checks them, and the attributes a task registers with
(services/ecs/discovery.py).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceRegistry.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-discovery.html"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ecs import discovery

ARN = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"
TD = {"networkMode": "awsvpc", "containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 8080}]}]}
SRV = SimpleNamespace(id="srv-1", records=[{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 10}])


def _lookup(arn: str) -> Any:
    return SRV if arn == ARN else None


@pytest.mark.parametrize(
    "registries, problem",
    [
        ([{"registryArn": ARN}, {"registryArn": ARN}], "Only one"),
        ([{"registryArn": ARN + "x", "port": 1}], "does not exist"),
        ([{"registryArn": ARN}], "SRV"),
        ([{"registryArn": ARN, "port": 80, "containerName": "web", "containerPort": 8080}], "not both"),
        ([{"registryArn": ARN, "containerName": "db", "containerPort": 8080}], "does not exist in the task"),
        ([{"registryArn": ARN, "containerName": "web", "containerPort": 9}], "port mapping"),
    ],
)
def test_registries_ecs_refuses(registries: list[dict], problem: str) -> None:
    with pytest.raises(AwsError, match=problem) as err:
        discovery.check_registries(registries, TD, _lookup)
    assert err.value.code == "InvalidParameterException"


def test_a_container_port_becomes_the_srv_port_and_the_task_its_attributes() -> None:
    reg = discovery.check_registries([{"registryArn": ARN, "containerName": "web", "containerPort": 8080}], TD, _lookup)
    attrs = discovery.attributes(reg[0], "10.0.10.4", "us-east-1a", "c", "s", "fam", "us-east-1", srv=True)
    assert attrs == {
        "AWS_INSTANCE_IPV4": "10.0.10.4",
        "AWS_INSTANCE_PORT": "8080",
        "AVAILABILITY_ZONE": "us-east-1a",
        "AWS_INIT_HEALTH_STATUS": "HEALTHY",
        "ECS_CLUSTER_NAME": "c",
        "ECS_SERVICE_NAME": "s",
        "ECS_TASK_DEFINITION_FAMILY": "fam",
        "REGION": "us-east-1",
    }
    a_only = discovery.attributes({"registryArn": ARN}, "10.0.10.4", "us-east-1a", "c", "s", "f", "r", srv=False)
    assert "AWS_INSTANCE_PORT" not in a_only
