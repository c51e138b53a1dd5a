"""Database, cache, storage and streaming actions: RDS, DynamoDB, Aurora DSQL, ElastiCache, MemoryDB,
S3 and Kinesis Data Streams."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import ActionSpec, duration_of, flag, open_duration, percentage
from chaoslab.services.fis.params import Param, comma_list, region


def _elasticache(action_id: str, resource_type: str, replaced_by: str | None = None) -> ActionSpec:
    return ActionSpec(
        id=action_id,
        description="Cut the power to the nodes of the target Multi-AZ replication groups in one Availability "
        "Zone (the AZ is the target's availabilityZoneIdentifier).",
        parameters={"duration": duration_of()},
        targets={"ReplicationGroups": resource_type},
        permissions=(
            "elasticache:InterruptClusterAzPower",
            "elasticache:DescribeReplicationGroups",
            "tag:GetResources",
        ),
        unsupported="the lab has no ElastiCache replication groups",
        duration_param="duration",
        replaced_by=replaced_by,
    )


def _kinesis(suffix: str, error: str) -> ActionSpec:
    return ActionSpec(
        id=f"aws:kinesis:stream-{suffix}",
        description=f"Answer requests to the target Kinesis data streams with {error}.",
        parameters={"duration": duration_of(), "percentage": percentage()},
        targets={"KinesisStreams": "aws:kinesis:stream"},
        permissions=("kinesis:InjectApiError",),
        unsupported="the lab has no Kinesis data streams",
        duration_param="duration",
    )


ACTIONS: list[ActionSpec] = [
    ActionSpec(
        id="aws:rds:failover-db-cluster",
        description="Fail over the target Aurora (or DocumentDB) DB clusters (FailoverDBCluster).",
        targets={"Clusters": "aws:rds:cluster"},
        permissions=("rds:FailoverDBCluster", "rds:DescribeDBClusters", "tag:GetResources"),
        executor="rds.failover_db_cluster",
    ),
    ActionSpec(
        id="aws:rds:reboot-db-instances",
        description="Reboot the target DB instances (RebootDBInstance), optionally failing over Multi-AZ ones.",
        parameters={"forceFailover": flag("Fail over a Multi-AZ instance to another AZ (true/false).")},
        targets={"DBInstances": "aws:rds:db"},
        permissions=("rds:RebootDBInstance", "rds:DescribeDBInstances", "tag:GetResources"),
        executor="rds.reboot_db_instances",
    ),
    ActionSpec(
        id="aws:dynamodb:global-table-pause-replication",
        description="Pause the target DynamoDB global tables' replication to their replicas.",
        parameters={"duration": open_duration()},
        targets={"Tables": "aws:dynamodb:global-table"},
        permissions=(
            "dynamodb:PutResourcePolicy",
            "dynamodb:DeleteResourcePolicy",
            "dynamodb:GetResourcePolicy",
            "dynamodb:DescribeTable",
            "tag:GetResources",
            "dynamodb:InjectError",
        ),
        unsupported="the lab has no DynamoDB tables",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:dsql:cluster-connection-failure",
        description="Make a share of the connections to the target Aurora DSQL clusters fail.",
        parameters={"duration": duration_of(), "percentage": percentage()},
        targets={"Clusters": "aws:dsql:cluster"},
        permissions=("dsql:InjectError", "dsql:GetCluster", "tag:GetResources"),
        unsupported="the lab has no Aurora DSQL clusters",
        duration_param="duration",
    ),
    _elasticache("aws:elasticache:replicationgroup-interrupt-az-power", "aws:elasticache:replicationgroup"),
    _elasticache(
        "aws:elasticache:interrupt-cluster-az-power",
        "aws:elasticache:redis-replicationgroup",
        replaced_by="aws:elasticache:replicationgroup-interrupt-az-power",
    ),
    ActionSpec(
        id="aws:memorydb:multi-region-cluster-pause-replication",
        description="Pause replication between this Region's cluster and the rest of the target MemoryDB "
        "multi-Region clusters.",
        parameters={"duration": duration_of()},
        targets={"MultiRegionClusters": "aws:memorydb:multi-region-cluster"},
        permissions=(
            "memorydb:DescribeMultiRegionClusters",
            "memorydb:PauseMultiRegionClusterReplication",
            "tag:GetResources",
        ),
        unsupported="the lab has no MemoryDB clusters",
        duration_param="duration",
    ),
    ActionSpec(
        id="aws:s3:bucket-pause-replication",
        description="Pause replication from the target S3 buckets to their destination buckets.",
        parameters={
            "duration": duration_of(),
            "region": Param("The Region of the destination buckets.", True, None, region),
            "destinationBuckets": Param(
                "Comma-separated destination bucket names.", False, None, comma_list(spaces=True)
            ),
            "prefixes": Param(
                "Comma-separated key prefixes of the replication rules to pause.", False, None, comma_list(spaces=True)
            ),
        },
        targets={"Buckets": "aws:s3:bucket"},
        permissions=(
            "s3:PutReplicationConfiguration",
            "s3:GetReplicationConfiguration",
            "s3:PauseReplication",
            "s3:ListAllMyBuckets",
            "tag:GetResources",
        ),
        unsupported="the lab has no S3 buckets",
        duration_param="duration",
        selection="tags",
    ),
    _kinesis("provisioned-throughput-exception", "ProvisionedThroughputExceededException"),
    _kinesis("expired-iterator-exception", "ExpiredIteratorException (GetRecords)"),
]
