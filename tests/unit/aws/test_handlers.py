"""`delegate`: the handler of an operation a backend method serves as it is."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.aws.handlers import delegate


class Backend:
    def describe_db_clusters(self, **params: Any) -> dict[str, Any]:
        return {"sync": params}

    async def create_listener(self, **params: Any) -> dict[str, Any]:
        return {"async": params}


def test_the_handler_calls_the_method_boto3_names_on_the_labs_backend() -> None:
    handlers = delegate("rds", Backend, ["DescribeDBClusters", "CreateListener"])
    ctx = SimpleNamespace(lab=SimpleNamespace(rds=Backend()))
    assert handlers["DescribeDBClusters"](ctx, {"DBClusterIdentifier": "c"}) == {"sync": {"DBClusterIdentifier": "c"}}
    pending = handlers["CreateListener"](ctx, {"Port": 80})
    assert inspect.isawaitable(pending)
    assert asyncio.run(_await(pending)) == {"async": {"Port": 80}}


async def _await(value: Any) -> Any:
    return await value


def test_an_operation_without_a_method_fails_at_import_time() -> None:
    with pytest.raises(AttributeError, match="Backend has no method delete_db_cluster for DeleteDBCluster"):
        delegate("rds", Backend, ["DeleteDBCluster"])
