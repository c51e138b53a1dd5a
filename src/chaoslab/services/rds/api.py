"""RDS operations for the wire layer: each handler passes boto3-shaped params to `lab.rds`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from chaoslab.services.rds.backend import RdsBackend

Handler = Callable[[Any, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]

_OPERATIONS = {
    "CreateDBCluster": "create_db_cluster",
    "DescribeDBClusters": "describe_db_clusters",
    "DeleteDBCluster": "delete_db_cluster",
    "FailoverDBCluster": "failover_db_cluster",
    "CreateDBInstance": "create_db_instance",
    "DescribeDBInstances": "describe_db_instances",
    "DeleteDBInstance": "delete_db_instance",
    "RebootDBInstance": "reboot_db_instance",
    "ListTagsForResource": "list_tags_for_resource",
    "AddTagsToResource": "add_tags_to_resource",
    "RemoveTagsFromResource": "remove_tags_from_resource",
}


def _handler(method: str) -> Handler:
    """The backend already speaks boto3 shapes; operations that start postmasters are coroutines."""
    if inspect.iscoroutinefunction(getattr(RdsBackend, method)):

        async def handle_async(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            return await getattr(ctx.lab.rds, method)(**params)

        return handle_async

    def handle(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return getattr(ctx.lab.rds, method)(**params)

    return handle


OPERATIONS: dict[str, Handler] = {op: _handler(method) for op, method in _OPERATIONS.items()}
