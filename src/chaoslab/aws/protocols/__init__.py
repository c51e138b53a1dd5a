"""AWS wire protocols, each parsing input and shaping output from botocore's model."""

from __future__ import annotations

from chaoslab.aws.models import Service
from chaoslab.aws.protocols.base import WireProtocol, WireRequest, WireResponse
from chaoslab.aws.protocols.json import JsonProtocol
from chaoslab.aws.protocols.query import Ec2Protocol, QueryProtocol
from chaoslab.aws.protocols.restjson import RestJsonProtocol

PROTOCOLS: dict[str, WireProtocol] = {
    "query": QueryProtocol(),
    "ec2": Ec2Protocol(),
    "json": JsonProtocol(),
    "rest-json": RestJsonProtocol(),
}


def request_protocol(req: WireRequest) -> str:
    """The protocol a request is written in, judged from its shape (docs/aws-api.md, "Routing" step 3)."""
    content_type = req.headers.get("Content-Type", "").lower()
    if content_type.startswith("application/x-amz-json"):
        return "json"
    if content_type.startswith("application/x-www-form-urlencoded") or "Action=" in req.raw_query:
        return "query"
    return "rest-json"


def protocol_for(svc: Service, req: WireRequest) -> WireProtocol:
    """The service's protocol that matches the request, else the one botocore would use.

    A request in a protocol the service does not speak is answered in the service's own
    protocol (its parse then fails to find an operation, and the caller gets a clean error).
    """
    spoken = svc.protocols
    wanted = request_protocol(req)
    if wanted == "query" and "ec2" in spoken:
        wanted = "ec2"
    if wanted in spoken:
        return PROTOCOLS[wanted]
    resolved = svc.model.resolved_protocol
    return PROTOCOLS.get(resolved, PROTOCOLS[next(p for p in spoken if p in PROTOCOLS)])


__all__ = ["PROTOCOLS", "WireProtocol", "WireRequest", "WireResponse", "protocol_for", "request_protocol"]
