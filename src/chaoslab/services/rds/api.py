"""RDS operations for the wire layer: each handler passes boto3-shaped params to `lab.rds`."""

from __future__ import annotations

from chaoslab.aws.handlers import delegate
from chaoslab.services.rds.backend import RdsBackend
from chaoslab.types import ApiHandler

OPERATIONS: dict[str, ApiHandler] = delegate(
    "rds",
    RdsBackend,
    (
        "CreateDBCluster",
        "DescribeDBClusters",
        "DeleteDBCluster",
        "FailoverDBCluster",
        "CreateDBInstance",
        "DescribeDBInstances",
        "DeleteDBInstance",
        "RebootDBInstance",
        "ListTagsForResource",
        "AddTagsToResource",
        "RemoveTagsFromResource",
    ),
)
