"""rest-json (FIS): METHOD + `requestUri` template name the operation; input comes from path
labels, query string, headers and the JSON body as each member's `location` says."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, Shape

from chaoslab.aws.models import Service
from chaoslab.aws.protocols.base import (
    WireRequest,
    WireResponse,
    error_status,
    format_timestamp,
    scalar_from_text,
    scalar_to_text,
    wire_code,
)
from chaoslab.aws.protocols.json import dump_json, from_json, read_json_body, to_json
from chaoslab.errors import AwsError

_JSON = "application/json"


class RestJsonProtocol:
    name = "rest-json"

    def operation(self, svc: Service, req: WireRequest) -> tuple[str, dict[str, str]] | None:
        query: dict[str, list[str]] = {}
        for key, value in req.query_pairs():
            query.setdefault(key, []).append(value)
        return svc.route(req.method, req.raw_path, query)

    def parse(self, svc: Service, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        payload = shape.serialization.get("payload")
        body_data = read_json_body(req.body) if req.body else {}
        query: dict[str, list[str]] = {}
        for key, text in req.query_pairs():
            query.setdefault(key, []).append(text)
        params: dict[str, Any] = {}
        body_members = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            key = member.serialization.get("name", name)
            if location == "uri":
                if key in labels:
                    params[name] = scalar_from_text(unquote(labels[key]), member)
            elif location == "querystring":
                value = _from_query(member, key, query)
                if value is not None:
                    params[name] = value
            elif location == "header":
                if key in req.headers:
                    params[name] = scalar_from_text(req.headers[key], member)
            elif location == "headers":
                prefix = key.lower()
                found = {k[len(prefix) :]: v for k, v in req.headers.items() if k.lower().startswith(prefix)}
                if found:
                    params[name] = found
            elif name == payload:
                value = from_json(member, body_data) if member.type_name == "structure" else req.body
                if value is not None:
                    params[name] = value
            elif payload is None:
                body_members[name] = member
        if body_members:
            for name, member in body_members.items():
                key = member.serialization.get("name", name)
                if body_data.get(key) is not None:
                    params[name] = from_json(member, body_data[key], key)
        return params

    def serialize(self, svc: Service, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        headers = {"Content-Type": _JSON, "x-amzn-RequestId": request_id}
        status = int(op.http.get("responseCode", 200))
        shape = op.output_shape
        body: Any = {}
        if shape is not None:
            payload = shape.serialization.get("payload")
            for name, member in shape.members.items():
                value = output.get(name)
                if value is None:
                    continue
                location = member.serialization.get("location")
                if location == "header":
                    headers[member.serialization.get("name", name)] = _header_text(member, value)
                elif location == "headers":
                    headers.update({f"{member.serialization.get('name', name)}{k}": str(v) for k, v in value.items()})
                elif location == "statusCode":
                    status = int(value)
                elif name == payload:
                    body = to_json(member, value)
                elif payload is None:
                    body[member.serialization.get("name", name)] = to_json(member, value)
        return WireResponse(status, dump_json(body), headers)

    def error(self, svc: Service, err: AwsError, request_id: str) -> WireResponse:
        code = wire_code(svc, err.code, self.name)
        headers = {"Content-Type": _JSON, "x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
        body = json.dumps({"message": err.message}).encode()
        return WireResponse(error_status(svc, err), body, headers)


def _from_query(member: Shape, key: str, query: dict[str, list[str]]) -> Any:
    if member.type_name == "map":
        # a map bound to the whole query string (`location: querystring` without a name)
        return {k: scalar_from_text(v[-1], member.value) for k, v in query.items()} or None
    if key not in query:
        return None
    if member.type_name == "list":
        return [scalar_from_text(v, member.member) for v in query[key]]
    return scalar_from_text(query[key][-1], member)


def _header_text(member: Shape, value: Any) -> str:
    if member.type_name == "timestamp":
        return str(format_timestamp(value, member, "rfc822"))
    return scalar_to_text(value, member)
