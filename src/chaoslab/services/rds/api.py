"""RDS operations for the wire layer: each handler passes boto3-shaped params to `lab.rds`."""

from __future__ import annotations

from chaoslab.aws.handlers import delegate
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.rds.backend import RdsBackend
from chaoslab.types import ApiHandler


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


# RDS takes MaxRecords from 20 to 100 (100 when absent); the model states no range, so it is checked here.
PAGES = Paginator(
    token="Marker",
    size="MaxRecords",
    default=100,
    bad_token=lambda marker: _invalid(f"The marker '{marker}' is not valid."),
    minimum=20,
    maximum=100,
    bad_size=lambda size, maximum: _invalid(f"Invalid value {size} for MaxRecords. Must be between 20 and {maximum}"),
)
_PAGED = {"DescribeDBClusters": "DBClusters", "DescribeDBInstances": "DBInstances"}

_HANDLERS: dict[str, ApiHandler] = delegate(
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
OPERATIONS: dict[str, ApiHandler] = {
    op: PAGES.around(handler, _PAGED[op]) if op in _PAGED else handler for op, handler in _HANDLERS.items()
}
