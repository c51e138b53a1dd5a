"""RDS resources as AWS describes them: the metadata of a DB cluster and its DB instances, and their
boto3 shapes (DescribeDBClusters / DescribeDBInstances), with live status and roles taken from the
running `AuroraCluster`."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.services.rds.cluster import AuroraCluster

HOSTED_ZONE_ID = "Z2R2ITUGPM61AM"  # the RDS zone AWS reports for us-east-1 endpoints
_ALNUM = string.ascii_lowercase + string.digits
_RESOURCE_ALPHABET = string.ascii_uppercase + string.digits


def dns_label() -> str:
    """The 12-character account/region label AWS puts in every RDS endpoint name."""
    return "".join(secrets.choice(_ALNUM) for _ in range(12))


def resource_id(prefix: str) -> str:
    """`cluster-…` / `db-…` resource ids: 26 upper-case alphanumerics."""
    return prefix + "".join(secrets.choice(_RESOURCE_ALPHABET) for _ in range(26))


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class DBInstance:
    identifier: str
    cluster_id: str
    arn: str
    az: str
    instance_class: str
    engine: str
    engine_version: str
    promotion_tier: int
    address: str
    port: int
    tags: list[dict[str, str]] = field(default_factory=list)
    created: datetime = field(default_factory=_now)
    resource_id: str = field(default_factory=lambda: resource_id("db-"))


@dataclass
class DBCluster:
    identifier: str
    arn: str
    engine: str
    engine_version: str
    port: int
    master_username: str
    database_name: str | None
    azs: list[str]
    endpoint_host: str
    reader_endpoint_host: str
    runtime: AuroraCluster
    deletion_protection: bool = False
    tags: list[dict[str, str]] = field(default_factory=list)
    vpc_security_groups: list[str] = field(default_factory=list)  # its endpoints' groups (EC2 enforces them)
    instances: list[str] = field(default_factory=list)
    created: datetime = field(default_factory=_now)
    resource_id: str = field(default_factory=lambda: resource_id("cluster-"))

    @property
    def status(self) -> str:
        return self.runtime.status

    @property
    def endpoint_ip(self) -> str:
        """Where the writer endpoint listens (the first bind host); `endpoint_host` is its DNS name."""
        return self.runtime.endpoint[0]

    @property
    def endpoint_port(self) -> int:
        return self.runtime.endpoint[1]

    @property
    def reader_endpoint_ip(self) -> str:
        return self.runtime.reader_endpoint[0]

    @property
    def reader_endpoint_port(self) -> int:
        return self.runtime.reader_endpoint[1]

    def describe(self) -> dict[str, Any]:
        members = [
            {
                "DBInstanceIdentifier": i,
                "IsClusterWriter": self.runtime.is_writer(i),
                "DBClusterParameterGroupStatus": "in-sync",
                "PromotionTier": self.runtime.members[i].promotion_tier if i in self.runtime.members else 1,
            }
            for i in self.instances
        ]
        view: dict[str, Any] = {
            "DBClusterIdentifier": self.identifier,
            "DBClusterArn": self.arn,
            "Status": self.status,
            "Engine": self.engine,
            "EngineVersion": self.engine_version,
            "EngineMode": "provisioned",
            "Endpoint": self.endpoint_host,
            "ReaderEndpoint": self.reader_endpoint_host,
            "Port": self.port,
            "MasterUsername": self.master_username,
            "AvailabilityZones": list(self.azs),
            "MultiAZ": len(self.instances) > 1,
            "DBClusterMembers": members,
            "HostedZoneId": HOSTED_ZONE_ID,
            "DbClusterResourceId": self.resource_id,
            "ClusterCreateTime": self.created,
            "StorageEncrypted": False,
            "DeletionProtection": self.deletion_protection,
            "BackupRetentionPeriod": 1,
            "AllocatedStorage": 1,
            "IAMDatabaseAuthenticationEnabled": False,
            "DBClusterParameterGroup": f"default.{self.engine}{self.engine_version.split('.')[0]}",
            "ReadReplicaIdentifiers": [],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"} for g in self.vpc_security_groups],
            "AssociatedRoles": [],
            "TagList": [dict(t) for t in self.tags],
        }
        if self.database_name:
            view["DatabaseName"] = self.database_name
        return view

    def describe_instance(self, instance: DBInstance) -> dict[str, Any]:
        member = self.runtime.members.get(instance.identifier)
        return {
            "DBInstanceIdentifier": instance.identifier,
            "DBInstanceArn": instance.arn,
            "DBInstanceClass": instance.instance_class,
            "Engine": instance.engine,
            "EngineVersion": instance.engine_version,
            "DBInstanceStatus": member.status if member else "deleting",
            "MasterUsername": self.master_username,
            "Endpoint": {"Address": instance.address, "Port": instance.port, "HostedZoneId": HOSTED_ZONE_ID},
            "AvailabilityZone": instance.az,
            "DBClusterIdentifier": self.identifier,
            "PromotionTier": instance.promotion_tier,
            "InstanceCreateTime": instance.created,
            "MultiAZ": False,
            "PubliclyAccessible": False,
            "StorageEncrypted": False,
            "DbiResourceId": instance.resource_id,
            "DbInstancePort": 0,
            "AllocatedStorage": 1,
            "StorageType": "aurora",
            "DeletionProtection": False,
            "AutoMinorVersionUpgrade": True,
            "BackupRetentionPeriod": 1,
            "DBSecurityGroups": [],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": g, "Status": "active"} for g in self.vpc_security_groups],
            "DBParameterGroups": [
                {
                    "DBParameterGroupName": f"default.{instance.engine}{instance.engine_version.split('.')[0]}",
                    "ParameterApplyStatus": "in-sync",
                }
            ],
            "ReadReplicaDBInstanceIdentifiers": [],
            "TagList": [dict(t) for t in instance.tags],
        }
