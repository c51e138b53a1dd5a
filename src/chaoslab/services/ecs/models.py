"""ECS resources as the lab keeps them, with `describe()` giving the boto3 shapes."""

from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chaoslab.services.ecs.deployments import Deployment

if TYPE_CHECKING:
    from chaoslab.runtime.unit import ComputeUnit
    from chaoslab.services.ec2.models import Subnet

# The lifecycle ECS reports, in order (archived task-lifecycle guide).
LIFECYCLE = [
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
]


def new_deployment_id() -> str:
    return "ecs-svc/" + str(uuid.uuid4().int)[:19]


def _ts(t: float | None) -> datetime | None:
    return datetime.fromtimestamp(t, UTC) if t else None


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


@dataclass
class Cluster:
    name: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict)
    settings: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ACTIVE"
    capacity_providers: list[str] = field(default_factory=lambda: ["FARGATE", "FARGATE_SPOT"])
    default_strategy: list[dict[str, Any]] = field(default_factory=list)  # for services that name none


@dataclass
class ContainerState:
    name: str
    image: str
    essential: bool
    last_status: str = "PENDING"
    exit_code: int | None = None
    reason: str | None = None
    health: str = "UNKNOWN"
    health_failures: int = 0
    health_started: float = 0.0


@dataclass
class Task:
    task_id: str
    cluster: Cluster
    task_definition: dict[str, Any]
    group: str
    started_by: str | None
    subnet: Subnet
    launch_type: str = "FARGATE"
    capacity_provider: str | None = "FARGATE"
    service: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metadata_served: bool = False  # the task metadata endpoint answers inside it
    last_status: str = "PROVISIONING"
    desired_status: str = "RUNNING"
    stop_code: str | None = None
    stopped_reason: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    private_ip: str | None = None
    containers: list[ContainerState] = field(default_factory=list)
    unit: ComputeUnit | None = None
    registrations: list[tuple[str, int]] = field(default_factory=list)  # (target group ARN, port)
    discovery: list[str] = field(default_factory=list)  # Cloud Map service ids it is registered in
    elb_unhealthy_since: float | None = None
    elb_healthy: set[tuple[str, int]] = field(default_factory=set)  # registrations passing their checks
    failed: bool = False  # stopped by its own failure (start, exit, health): counts for the circuit breaker
    eni_id: str = field(default_factory=lambda: "eni-" + uuid.uuid4().hex[:17])
    security_groups: tuple[str, ...] = ()  # its ENI's group ids (awsvpcConfiguration.securityGroups)

    @functools.cached_property
    def arn(self) -> str:
        """Made once: a task never changes cluster or id, and a long DescribeTasks asks per container."""
        region_account = self.cluster.arn.split(":cluster/")[0]
        return f"{region_account}:task/{self.cluster.name}/{self.task_id}"

    @functools.cached_property
    def attachment_id(self) -> str:
        """Its ENI attachment's id, derived from the ENI's (a name-based UUID, so stable)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.eni_id))

    @property
    def az(self) -> str:
        return self.subnet.az

    @property
    def health_status(self) -> str:
        """Task health: UNHEALTHY if an essential container is, UNKNOWN if any is, else HEALTHY."""
        checked = [c for c in self.containers if c.essential and self._has_check(c.name)]
        if any(c.health == "UNHEALTHY" for c in checked):
            return "UNHEALTHY"
        if not checked or any(c.health == "UNKNOWN" for c in checked):
            return "UNKNOWN"
        return "HEALTHY"

    def _has_check(self, name: str) -> bool:
        return any(c["name"] == name and c.get("healthCheck") for c in self.task_definition["containerDefinitions"])

    def describe(self) -> dict[str, Any]:
        td = self.task_definition
        out: dict[str, Any] = {
            "taskArn": self.arn,
            "clusterArn": self.cluster.arn,
            "taskDefinitionArn": td["taskDefinitionArn"],
            "group": self.group,
            "lastStatus": self.last_status,
            "desiredStatus": self.desired_status,
            "launchType": self.launch_type,
            "availabilityZone": self.az,
            "cpu": str(td.get("cpu", "256")),
            "memory": str(td.get("memory", "512")),
            "createdAt": _ts(self.created_at),
            "startedAt": _ts(self.started_at),
            "stoppingAt": _ts(self.stopping_at),
            "stoppedAt": _ts(self.stopped_at),
            "pullStartedAt": _ts(self.pull_started_at),
            "pullStoppedAt": _ts(self.pull_stopped_at),
            "connectivity": "CONNECTED" if self.private_ip else None,
            "healthStatus": self.health_status,
            "version": LIFECYCLE.index(self.last_status) + 1,
            "platformVersion": "1.4.0" if self.launch_type == "FARGATE" else None,
            "platformFamily": "Linux" if self.launch_type == "FARGATE" else None,
            "startedBy": self.started_by,
            "stopCode": self.stop_code,
            "stoppedReason": self.stopped_reason,
            "capacityProviderName": self.capacity_provider,
            "tags": tag_list(self.tags),
            "enableExecuteCommand": False,
            "attachments": [
                {
                    "id": self.attachment_id,
                    "type": "ElasticNetworkInterface",
                    "status": "ATTACHED" if self.last_status not in ("STOPPED", "PROVISIONING") else "DELETED",
                    "details": [
                        {"name": "subnetId", "value": self.subnet.subnet_id},
                        {"name": "networkInterfaceId", "value": self.eni_id},
                        {"name": "privateIPv4Address", "value": self.private_ip or ""},
                    ],
                }
            ],
            "containers": [self._describe_container(c) for c in self.containers],
        }
        return {k: v for k, v in out.items() if v is not None}

    def _describe_container(self, c: ContainerState) -> dict[str, Any]:
        out: dict[str, Any] = {
            "containerArn": f"{self.arn.replace(':task/', ':container/')}/{c.name}",
            "taskArn": self.arn,
            "name": c.name,
            "image": c.image,
            "lastStatus": c.last_status,
            "healthStatus": c.health if self._has_check(c.name) else "UNKNOWN",
            "networkInterfaces": [
                {
                    "attachmentId": self.attachment_id,
                    "privateIpv4Address": self.private_ip,
                }
            ]
            if self.private_ip
            else [],
        }
        if c.exit_code is not None:
            out["exitCode"] = c.exit_code
        if c.reason:
            out["reason"] = c.reason
        return out


@dataclass
class Service:
    name: str
    cluster: Cluster
    task_definition: dict[str, Any]
    desired_count: int
    launch_type: str = "FARGATE"
    capacity_provider_strategy: list[dict[str, Any]] = field(default_factory=list)
    load_balancers: list[dict[str, Any]] = field(default_factory=list)
    subnets: list[Subnet] = field(default_factory=list)
    network_configuration: dict[str, Any] = field(default_factory=dict)
    grace: int = 0
    deployment_configuration: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    service_registries: list[dict[str, Any]] = field(default_factory=list)  # Cloud Map (ecs/discovery.py)
    status: str = "ACTIVE"
    created_at: float = field(default_factory=time.time)
    events: list[dict[str, Any]] = field(default_factory=list)
    # PRIMARY first, then ACTIVE ones still being replaced (services/ecs/deployments.py)
    deployments: list[Deployment] = field(default_factory=list)
    last_completed: Deployment | None = None  # what the circuit breaker rolls back to
    steady: bool = False
    start_failures: int = 0  # tasks in a row that never reached RUNNING (the start throttle's count)
    launch_after: float = 0.0  # the scheduler's start throttle: no new task before this (epoch seconds)
    start_impaired: bool = False  # "unable to consistently start tasks" was said for this failure run

    def __post_init__(self) -> None:
        if not self.deployments:
            self.deployments.append(
                Deployment(
                    new_deployment_id(), self.task_definition, self.desired_count, self.created_at, self.created_at
                )
            )

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def deployment_id(self) -> str:
        return self.primary.id

    @property
    def arn(self) -> str:
        base = self.cluster.arn.split(":cluster/")[0]
        return f"{base}:service/{self.cluster.name}/{self.name}"
