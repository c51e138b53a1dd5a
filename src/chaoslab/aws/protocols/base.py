"""What every protocol shares: the request/response values the gateway hands around, the
value conversions botocore's shapes call for, and the required-member check."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from chaoslab.aws.models import Service, lower_first
from chaoslab.errors import AwsError

UTC = dt.timezone.utc


@dataclass
class WireRequest:
    """An HTTP request as the wire layer sees it: raw path and query (never decoded), body
    already gunzipped."""

    method: str
    raw_path: str
    raw_query: str
    headers: Any  # case-insensitive mapping (aiohttp's CIMultiDictProxy)
    body: bytes

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.raw_query, keep_blank_values=True)

    @cached_property
    def form(self) -> dict[str, str]:
        """Query-protocol parameters: the query string plus a form body, form winning."""
        params = dict(self.query_pairs())
        if self.body and self.headers.get("Content-Type", "").lower().startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        return params


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class WireProtocol(Protocol):
    """One AWS protocol: parse an operation's input, shape its output and its errors."""

    name: str

    def operation(self, svc: Service, req: WireRequest) -> tuple[str, dict[str, str]] | None:
        """The operation a request names, with its raw path labels (rest-json only)."""
        ...

    def parse(self, svc: Service, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]: ...

    def serialize(self, svc: Service, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse: ...

    def error(self, svc: Service, err: AwsError, request_id: str) -> WireResponse: ...


# -- timestamps ------------------------------------------------------------------------------


def to_datetime(value: Any) -> dt.datetime:
    """Input timestamps arrive as epoch numbers or ISO 8601 strings; handlers get aware datetimes."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, UTC)
    text = str(value)
    try:
        return dt.datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_epoch(value: Any) -> float | int:
    if isinstance(value, (int, float)):
        return value
    return round(to_datetime(value).timestamp(), 3)


def to_iso(value: Any) -> str:
    stamp = to_datetime(value).astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def to_rfc822(value: Any) -> str:
    return format_datetime(to_datetime(value).astimezone(UTC), usegmt=True)


def format_timestamp(value: Any, shape: Shape, default: str) -> Any:
    """A timestamp in the shape's `timestampFormat`, else the protocol's default."""
    fmt = shape.serialization.get("timestampFormat") or getattr(shape, "metadata", {}).get("timestampFormat") or default
    return {"iso8601": to_iso, "rfc822": to_rfc822}.get(fmt, to_epoch)(value)


# -- scalars ---------------------------------------------------------------------------------


def scalar_from_text(text: str, shape: Shape) -> Any:
    """A query-string/header/form value typed per its shape."""
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not a boolean (true or false)")
        return text.lower() == "true"
    if kind == "timestamp":
        return to_datetime(text)
    if kind == "blob":
        return base64.b64decode(text)
    return text


def scalar_to_text(value: Any, shape: Shape) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape, "iso8601"))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else value
        return base64.b64encode(raw).decode()
    return str(value)


# -- validation ------------------------------------------------------------------------------


def check_required(shape: Shape | None, value: Any, path: str = "") -> None:
    """Raise `MissingMember(path)` for the first required member absent anywhere in the input."""
    if shape is None or value is None:
        return
    if shape.type_name == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                raise MissingMember(f"{path}.{name}" if path else name)
        for name, member in shape.members.items():
            if name in value:
                check_required(member, value[name], f"{path}.{name}" if path else name)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value, 1):
            check_required(shape.member, item, f"{path}.{i}")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            check_required(shape.value, item, f"{path}.{key}")


class MissingMember(Exception):
    """A required input member is absent; the protocol turns it into its validation error."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


# Error shapes services model for bad input, most specific first: a missing member, a malformed one.
_MISSING_SHAPES = ("MissingRequiredParameterException", "ValidationException", "InvalidParameterException")
_MALFORMED_SHAPES = ("ValidationException", "InvalidParameterException")
_PROTOCOL_DEFAULT = {"ec2": "MissingParameter", "query": "ValidationError", "json": "ValidationException",
                     "rest-json": "ValidationException"}


def validation_error(svc: Service, protocol: str, message: str, missing: bool = False) -> AwsError:
    """The error this service answers bad input with (its modeled shape, else the protocol's
    common code). CloudWatch says MissingParameter only for an absent member, not a malformed one."""
    modeled = [name for name in (_MISSING_SHAPES if missing else _MALFORMED_SHAPES) if name in svc.errors_by_shape]
    return AwsError(modeled[0] if modeled else _PROTOCOL_DEFAULT[protocol], message, 400)


def missing_member_error(svc: Service, protocol: str, missing: MissingMember) -> AwsError:
    """A missing required member, worded as AWS words it."""
    member = ".".join(lower_first(p) for p in missing.path.split("."))
    return validation_error(svc, protocol, f"1 validation error detected: Value null at '{member}' failed to "
                                           "satisfy constraint: Member must not be null", missing=True)


def error_status(svc: Service, err: AwsError) -> int:
    """The modeled HTTP status of a known error shape wins (FIS 404/409/402, RDS 404 faults)."""
    shape = svc.error_shape(err.code)
    if shape is not None:
        modeled = shape.metadata.get("error", {}).get("httpStatusCode")
        if modeled:
            return int(modeled)
    return err.status


def wire_code(svc: Service, code: str, protocol: str) -> str:
    """Query callers see the modeled `error.code`; JSON callers see the shape name."""
    shape = svc.error_shape(code)
    if shape is None:
        return code
    if protocol in ("query", "ec2"):
        return shape.metadata.get("error", {}).get("code") or shape.name
    return shape.name


def unknown_operation(protocol: str, operation: str, service: str) -> AwsError:
    code = "InvalidAction" if protocol in ("query", "ec2") else "UnknownOperationException"
    return AwsError(code, f"{service} operation {operation} is not implemented by chaoslab yet", 400)
