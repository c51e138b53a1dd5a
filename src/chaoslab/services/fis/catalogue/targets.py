"""Target resource types: what each is, its type-specific parameters, whether the lab resolves it."""

from __future__ import annotations

from chaoslab.services.fis.catalogue.spec import TargetTypeSpec
from chaoslab.services.fis.params import Check, Param, comma_list, enum


def _p(description: str, required: bool = False, check: Check | None = None) -> Param:
    return Param(description, required, None, check)


def _none(what: str) -> str:
    return f"the lab has no {what}"


_AZ_LIST = _p("Comma-separated Availability Zone identifiers, or all.", check=comma_list(spaces=True))
_CACHE_AZ = {"availabilityZoneIdentifier": _p("The AZ (name or ID) of the target nodes.", True)}

TARGET_TYPES: list[TargetTypeSpec] = [
    TargetTypeSpec("aws:arc:zonal-shift-managed-resource", "A resource registered with ARC zonal shift."),
    TargetTypeSpec(
        "aws:directconnect:virtual-interface",
        "An AWS Direct Connect virtual interface.",
        unsupported=_none("Direct Connect virtual interfaces"),
    ),
    TargetTypeSpec("aws:dsql:cluster", "An Amazon Aurora DSQL cluster.", unsupported=_none("Aurora DSQL clusters")),
    TargetTypeSpec(
        "aws:dynamodb:global-table", "An Amazon DynamoDB global table.", unsupported=_none("DynamoDB tables")
    ),
    TargetTypeSpec("aws:ec2:autoscaling-group", "An Amazon EC2 Auto Scaling group."),
    TargetTypeSpec(
        "aws:ec2:ebs-volume",
        "An Amazon EBS volume.",
        {"availabilityZoneIdentifier": _p("The Availability Zone (e.g. us-east-1a) of the target volumes.")},
    ),
    TargetTypeSpec("aws:ec2:instance", "An Amazon EC2 instance."),
    TargetTypeSpec("aws:ec2:spot-instance", "An Amazon EC2 Spot Instance."),
    TargetTypeSpec(
        "aws:ec2:subnet",
        "An Amazon VPC subnet.",
        {
            "availabilityZoneIdentifier": _p("The Availability Zone name or ID of the target subnets."),
            "vpc": _p("The VPC of the target subnets (one VPC per account)."),
        },
    ),
    TargetTypeSpec("aws:ec2:transit-gateway", "A transit gateway.", unsupported=_none("transit gateways")),
    TargetTypeSpec("aws:ec2:vpc-endpoint", "An Amazon VPC endpoint.", unsupported=_none("VPC endpoints")),
    TargetTypeSpec(
        "aws:ecs:cluster",
        "An Amazon ECS cluster.",
        unsupported="the lab's ECS clusters have no container instances to target",
    ),
    TargetTypeSpec(
        "aws:ecs:task",
        "An Amazon ECS task.",
        {
            "cluster": _p("The cluster of the target tasks."),
            "service": _p("The service of the target tasks."),
        },
    ),
    TargetTypeSpec("aws:eks:cluster", "An Amazon EKS cluster.", unsupported=_none("EKS clusters")),
    TargetTypeSpec("aws:eks:nodegroup", "An Amazon EKS node group.", unsupported=_none("EKS node groups")),
    TargetTypeSpec(
        "aws:eks:pod",
        "A Kubernetes pod.",
        {
            "clusterIdentifier": _p("The name or ARN of the EKS cluster.", True),
            "namespace": _p("The Kubernetes namespace of the pods.", True),
            "selectorType": _p(
                "labelSelector, deploymentName or podName.", True, enum("labelSelector", "deploymentName", "podName")
            ),
            "selectorValue": _p("The selector's value.", True),
            "availabilityZoneIdentifier": _p("The Availability Zone of the pods."),
            "targetContainerName": _p("The container to target (default: the pod spec's first)."),
        },
        unsupported=_none("Kubernetes pods"),
    ),
    TargetTypeSpec(
        "aws:elasticache:replicationgroup",
        "An ElastiCache replication group.",
        _CACHE_AZ,
        unsupported=_none("ElastiCache replication groups"),
    ),
    TargetTypeSpec(
        "aws:elasticache:redis-replicationgroup",
        "An ElastiCache (Redis) replication group: the older name of aws:elasticache:replicationgroup.",
        _CACHE_AZ,
        unsupported=_none("ElastiCache replication groups"),
        alias_of="aws:elasticache:replicationgroup",
    ),
    TargetTypeSpec("aws:iam:role", "An IAM role."),
    TargetTypeSpec("aws:kinesis:stream", "An Amazon Kinesis data stream.", unsupported=_none("Kinesis data streams")),
    TargetTypeSpec(
        "aws:lambda:function",
        "An AWS Lambda function.",
        {"functionQualifier": _p("The version or alias of the function to target.")},
        unsupported=_none("Lambda functions"),
    ),
    TargetTypeSpec(
        "aws:memorydb:multi-region-cluster",
        "An Amazon MemoryDB multi-Region cluster.",
        unsupported=_none("MemoryDB clusters"),
    ),
    TargetTypeSpec("aws:rds:cluster", "An Amazon Aurora DB cluster.", {"writerAvailabilityZoneIdentifiers": _AZ_LIST}),
    TargetTypeSpec("aws:rds:db", "An Amazon RDS DB instance.", {"availabilityZoneIdentifiers": _AZ_LIST}),
    TargetTypeSpec("aws:s3:bucket", "An Amazon S3 bucket.", unsupported=_none("S3 buckets")),
]
