"""What a handler knows about the call it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from chaoslab.aws.credentials import CredentialRegistry


@dataclass
class RequestContext:
    """Per-request facts for handlers and request hooks (docs/ARCHITECTURE.md "API handlers").

    `service` is the chaoslab service package (`ecs`, `elbv2`, `cloudwatch`, …), `operation` the
    botocore operation name. `credentials` is the lab's key registry (STS adds keys to it).
    `params` is the parsed input, set before the request hooks run (a fault may depend on it).
    `request` is None for a call made inside the lab (`Gateway.invoke`).
    """

    lab: Any
    service: str
    operation: str
    region: str
    account_id: str
    access_key: str
    principal_arn: str
    request_id: str
    request: web.Request | None
    credentials: CredentialRegistry
    protocol: str = ""
    params: dict[str, Any] = field(default_factory=dict)
