"""Handlers for operations a backend method already serves in boto3's shapes: the handler only
finds the backend on the lab and passes the parameters on. The method is the operation's name
as boto3 spells it (`DescribeDBClusters` -> `describe_db_clusters`)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from botocore import xform_name

from chaoslab.types import ApiHandler


def delegate(attr: str, backend: type, operations: Iterable[str]) -> dict[str, ApiHandler]:
    """One handler per operation, calling `ctx.lab.<attr>.<xform_name(operation)>(**params)`.
    A method that is a coroutine (one that touches sockets or processes) gets a coroutine
    handler; a missing method fails here, at import, not on the first call."""
    handlers: dict[str, ApiHandler] = {}
    for operation in operations:
        method = xform_name(operation)
        if not callable(getattr(backend, method, None)):
            raise AttributeError(f"{backend.__name__} has no method {method} for {operation}")
        handlers[operation] = _handler(attr, method, inspect.iscoroutinefunction(getattr(backend, method)))
    return handlers


def _handler(attr: str, method: str, is_async: bool) -> ApiHandler:
    if is_async:

        async def handle_async(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
            result: dict[str, Any] = await getattr(getattr(ctx.lab, attr), method)(**params)
            return result

        return handle_async

    def handle(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = getattr(getattr(ctx.lab, attr), method)(**params)
        return result

    return handle
