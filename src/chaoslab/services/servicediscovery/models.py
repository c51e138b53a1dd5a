"""Cloud Map's resources as the API describes them: namespaces, services, instances and the
operations that record asynchronous changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass
class Namespace:
    """A private DNS namespace: a domain name the units of one VPC resolve."""

    id: str
    arn: str
    name: str
    vpc: str
    owner: str
    created: float
    hosted_zone: str
    description: str = ""
    creator_request_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    operation_id: str = ""  # the CREATE_NAMESPACE operation, answered again to a retried request

    def summary(self, service_count: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "Arn": self.arn,
            "ResourceOwner": self.owner,
            "Name": self.name,
            "Type": "DNS_PRIVATE",
            "ServiceCount": service_count,
            "Properties": {"DnsProperties": {"HostedZoneId": self.hosted_zone, "SOA": {"TTL": 15}}},
            "CreateDate": utc(self.created),
        }
        if self.description:
            out["Description"] = self.description
        return out

    def describe(self, service_count: int) -> dict[str, Any]:
        out = self.summary(service_count)
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out


@dataclass
class Instance:
    """One registered endpoint: its attributes and its custom health status (None when the
    service has no health check, which Cloud Map reports as UNKNOWN)."""

    id: str
    attributes: dict[str, str]
    owner: str
    health: str | None = None
    creator_request_id: str | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Id": self.id, "Attributes": dict(self.attributes), "CreatedByAccount": self.owner}
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out

    @property
    def health_status(self) -> str:
        return self.health or "UNKNOWN"


@dataclass
class DiscoveryService:
    """A service in a namespace: the DNS records each instance gets and their TTLs."""

    id: str
    arn: str
    name: str
    namespace: Namespace
    owner: str
    created: float
    records: list[dict[str, Any]]
    routing_policy: str
    custom_health: dict[str, Any] | None = None
    description: str = ""
    creator_request_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace.name}".lower()

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "Arn": self.arn,
            "ResourceOwner": self.owner,
            "Name": self.name,
            "Type": "DNS_HTTP",
            "InstanceCount": len(self.instances),
            "DnsConfig": {"RoutingPolicy": self.routing_policy, "DnsRecords": [dict(r) for r in self.records]},
            "CreateDate": utc(self.created),
            "CreatedByAccount": self.owner,
        }
        if self.custom_health is not None:
            out["HealthCheckCustomConfig"] = dict(self.custom_health)
        if self.description:
            out["Description"] = self.description
        return out

    def describe(self) -> dict[str, Any]:
        out = self.summary()
        out["NamespaceId"] = self.namespace.id
        out["DnsConfig"]["NamespaceId"] = self.namespace.id
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out


@dataclass
class Operation:
    """An asynchronous change as GetOperation reports it. The lab applies each at once, so
    every operation it hands out has already succeeded."""

    id: str
    type: str
    targets: dict[str, str]
    owner: str
    created: float
    status: str = "SUCCESS"

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "OwnerAccount": self.owner,
            "Type": self.type,
            "Status": self.status,
            "CreateDate": utc(self.created),
            "UpdateDate": utc(self.created),
            "Targets": dict(self.targets),
        }
