"""A real gateway on a free port, served from its own event-loop thread so that synchronous
boto3 clients and the AWS CLI can call it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from chaoslab.aws.gateway import Gateway
from chaoslab.config import LabConfig


@contextmanager
def serve(lab: Any, operations: dict[str, dict[str, Any]] | None = None, routes: list[Any] = ()) -> Iterator[Gateway]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = Gateway(lab, operations=operations)
    gateway.add_routes(routes)
    asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(10)
    try:
        yield gateway
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def make_client(
    gateway: Gateway, service: str, key: str = "test", secret: str = "test", token: str | None = None, **config: Any
) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    )


@pytest.fixture
def lab(tmp_path: Any) -> SimpleNamespace:
    return SimpleNamespace(config=LabConfig(home=tmp_path, api_port=0))
