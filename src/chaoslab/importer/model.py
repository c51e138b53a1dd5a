"""The architecture every source reads into, in the vocabulary of stack files but keyed by the
source's own identifiers (a CloudFormation ARN token, a Terraform id, a live ARN), so a source only
records what refers to what and `writer.py` resolves names once for all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Note:
    """Something the import did not translate (or translated only in part), and why."""

    resource: str
    reason: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.reason}"


@dataclass
class Subnet:
    id: str
    az: str
    cidr: str


@dataclass
class Network:
    id: str
    cidr: str
    subnets: list[Subnet] = field(default_factory=list)


@dataclass
class Rule:
    """One security-group permission in the stack's words: a protocol (tcp, udp, icmp, all), its
    port range (None: every port) and one peer, a CIDR or the source's id of a group."""

    protocol: str
    ports: tuple[int, int] | None = None
    cidr: str | None = None
    group: str | None = None  # a SecurityGroup id
    description: str | None = None


@dataclass
class SecurityGroup:
    id: str
    name: str
    description: str = ""
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] | None = None  # None: AWS's all-traffic egress rule, as a new group has
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class TargetGroup:
    id: str
    name: str
    port: int
    target_type: str = "instance"
    health_check: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Listener:
    port: int
    target_group: str  # a TargetGroup id


@dataclass
class LoadBalancer:
    id: str
    name: str
    listeners: list[Listener] = field(default_factory=list)
    idle_timeout: int | None = None
    security_groups: list[str] = field(default_factory=list)  # SecurityGroup ids
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class LaunchTemplate:
    id: str
    name: str
    image: str
    instance_type: str | None = None
    user_data: str | None = None  # plain text
    security_groups: list[str] = field(default_factory=list)  # SecurityGroup ids
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Group:
    name: str
    min: int
    max: int
    desired: int | None = None
    subnets: list[str] = field(default_factory=list)  # Subnet ids
    target_groups: list[str] = field(default_factory=list)  # TargetGroup ids
    launch_template: str | None = None  # a LaunchTemplate id
    version: str | None = None
    health_check_type: str | None = None
    grace: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Database:
    cluster: str
    database: str
    username: str
    password: str | None = None  # None: not in the source (the writer sets one and says so)
    port: int | None = None
    instances: list[tuple[str, str | None]] = field(default_factory=list)  # (identifier, AZ)
    security_groups: list[str] = field(default_factory=list)  # SecurityGroup ids
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Service:
    name: str
    cluster: str  # an ECS cluster id (name or ARN)
    task_definition: str  # family, family:revision or ARN
    desired: int
    launch_type: str | None = None
    capacity_provider: str | None = None
    subnets: list[str] = field(default_factory=list)
    load_balancer: tuple[str, str, int] | None = None  # (TargetGroup id, container, port)
    security_groups: list[str] = field(default_factory=list)  # SecurityGroup ids
    grace: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Role:
    name: str
    trust: Any
    policies: dict[str, Any] = field(default_factory=dict)
    managed: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Architecture:
    """What one source describes. Ids in references are the source's own; `ecs_clusters` maps a
    cluster id to its name."""

    name: str
    region: str = "us-east-1"
    account: str = "123456789012"
    networks: list[Network] = field(default_factory=list)
    security_groups: list[SecurityGroup] = field(default_factory=list)
    target_groups: list[TargetGroup] = field(default_factory=list)
    load_balancers: list[LoadBalancer] = field(default_factory=list)
    launch_templates: list[LaunchTemplate] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    ecs_clusters: dict[str, str] = field(default_factory=dict)
    task_definitions: list[dict[str, Any]] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    alarms: list[dict[str, Any]] = field(default_factory=list)  # PutMetricAlarm input
    experiment_templates: dict[str, dict[str, Any]] = field(default_factory=dict)  # file stem -> API body
    notes: list[Note] = field(default_factory=list)

    def skip(self, resource: str, reason: str) -> None:
        self.notes.append(Note(resource, reason))
