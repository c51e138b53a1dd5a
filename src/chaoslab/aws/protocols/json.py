"""AWS JSON 1.0/1.1 (ECS, Logs, SSM, CloudWatch): the body is the input, `X-Amz-Target` names
the operation. Also the JSON value conversions rest-json reuses."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

import orjson
from botocore.model import OperationModel, Shape

from chaoslab.aws import safejson
from chaoslab.aws.models import Service
from chaoslab.aws.protocols.base import (
    WireRequest,
    WireResponse,
    check_integer,
    error_status,
    format_timestamp,
    to_datetime,
    wire_code,
)
from chaoslab.errors import AwsError


def read_json_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; SerializationException for anything else, including input
    nested deeper than MAX_JSON_DEPTH or holding NaN/Infinity (aws/safejson.py)."""
    if not body.strip():
        return {}
    try:
        data = safejson.loads(body)
    except ValueError as exc:
        raise AwsError("SerializationException", f"request body is not valid JSON: {exc}", 400) from exc
    if not isinstance(data, dict):
        raise AwsError("SerializationException", "request body must be a JSON object", 400)
    return data


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "blob": (str,),
}


def from_json(shape: Shape, value: Any, path: str = "") -> Any:
    """JSON input -> handler params: modeled members only, timestamps as datetimes, blobs as bytes.

    A value of the wrong JSON type is a TypeError naming its member (the gateway answers the
    service's validation error): dropping it would silently change what the caller asked for."""
    if value is None:
        return None
    kind = shape.type_name
    expected = {"structure": (dict,), "map": (dict,), "list": (list,)}.get(kind) or _JSON_TYPES.get(kind)
    wrong_bool = isinstance(value, bool) and kind not in ("boolean", "timestamp")
    if expected is not None and (not isinstance(value, expected) or wrong_bool):
        raise TypeError(f"{path or 'the body'} must be a JSON {kind}, not {type(value).__name__}")
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key in value and value[key] is not None:
                out[name] = from_json(member, value[key], f"{path}.{key}" if path else key)
        return out
    if kind == "list":
        return [from_json(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        return {k: from_json(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    if kind == "timestamp":
        return to_datetime(value)
    if kind == "blob":
        return base64.b64decode(value)
    if kind in ("integer", "long"):
        return check_integer(value, shape)
    return value


# Output kinds whose JSON value is the handler's value as is.
_AS_IS = frozenset({"string", "integer", "long", "boolean", "double", "float"})
Writer = Callable[[Any], Any]


def to_json(shape: Shape, value: Any) -> Any:
    """Handler output -> JSON value: modeled members only, None omitted, epoch timestamps."""
    return _writer(shape)(value)


@functools.cache
def _writer(shape: Shape) -> Writer:
    """The function that turns a value of `shape` into JSON, made once per shape: serialising
    walks the same shapes for every item of a long answer (DescribeTasks on 64 tasks), and a
    closure that already knows each member's wire name and kind does a third of the work of
    interpreting the shape each time. Members' writers are looked up when first needed, since
    shapes may nest themselves."""
    kind = shape.type_name
    if kind == "structure":
        members = {
            name: (member.serialization.get("name", name), member, member.type_name in _AS_IS)
            for name, member in shape.members.items()
        }

        def structure(value: Any) -> Any:
            out = {}
            # over what the handler gave, usually far fewer keys than the model has members
            for name, item in value.items():
                wire = members.get(name)
                if wire is not None and item is not None:
                    out[wire[0]] = item if wire[2] else _writer(wire[1])(item)
            return out

        return structure
    if kind == "list":
        member = shape.member
        if member.type_name in _AS_IS:
            return list
        return lambda value: [_writer(member)(item) for item in value]
    if kind == "map":
        return lambda value: {k: _writer(shape.value)(v) for k, v in value.items()}
    if kind == "timestamp":
        return lambda value: format_timestamp(value, shape, "unixTimestamp")
    if kind == "blob":
        return lambda value: base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
    return _as_is


def _as_is(value: Any) -> Any:
    return value


def dump_json(value: Any) -> bytes:
    """A response body: orjson, about ten times json.dumps on a 100 KB answer; json.dumps for
    what orjson refuses (integers beyond 64 bits, keys that are not strings)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value).encode()


class JsonProtocol:
    name = "json"

    def operation(self, svc: Service, req: WireRequest) -> tuple[str, dict[str, str]] | None:
        target = req.headers.get("X-Amz-Target", "").rpartition(".")[2]
        return (target, {}) if target else None

    def _content_type(self, svc: Service) -> str:
        return f"application/x-amz-json-{svc.model.metadata.get('jsonVersion', '1.1')}"

    def parse(self, svc: Service, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
        data = read_json_body(req.body)
        return from_json(op.input_shape, data) if op.input_shape is not None else {}

    def serialize(self, svc: Service, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        body = to_json(op.output_shape, output) if op.output_shape is not None else {}
        headers = {"Content-Type": self._content_type(svc), "x-amzn-RequestId": request_id}
        return WireResponse(200, dump_json(body), headers)

    def error(self, svc: Service, err: AwsError, request_id: str) -> WireResponse:
        headers = {"Content-Type": self._content_type(svc), "x-amzn-RequestId": request_id}
        if svc.query_compatible:
            query_code = wire_code(svc, err.code, "query")
            headers["x-amzn-query-error"] = f"{query_code};{'Sender' if err.sender else 'Receiver'}"
        body = {"__type": wire_code(svc, err.code, self.name), "message": err.message}
        return WireResponse(error_status(svc, err), json.dumps(body).encode(), headers)
