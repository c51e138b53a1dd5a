"""What every protocol shares: the request/response values the gateway hands around, the
value conversions botocore's shapes call for, and the required-member check."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from email.utils import format_datetime
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from chaoslab.aws import limits
from chaoslab.aws.models import Service, lower_first
from chaoslab.aws.protocols.xmltext import xml_text
from chaoslab.errors import AwsError

UTC = dt.UTC


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
        return parse_form(self.raw_query, errors="replace")

    @cached_property
    def form(self) -> dict[str, str]:
        """Query-protocol parameters: the query string plus a form body, form winning. ValueError
        for a body that is not UTF-8 or breaks the form limits (aws/limits.py)."""
        params = dict(parse_form(self.raw_query, errors="replace"))
        if self.body and self.headers.get("Content-Type", "").lower().startswith("application/x-www-form-urlencoded"):
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"the request body is not UTF-8 (byte {exc.start})") from None
            params.update(parse_form(text))
        return params


def parse_form(text: str, errors: str = "strict") -> list[tuple[str, str]]:
    """`k=v&...` pairs, refusing more than MAX_QUERY_KEYS of them and keys longer or deeper than
    the limits, before any per-key work (a 32,000-part key used to cost 1.2 GB)."""
    if text.count("&") >= limits.MAX_QUERY_KEYS:
        raise ValueError(f"more than {limits.MAX_QUERY_KEYS} parameters")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors=errors)
    except UnicodeDecodeError as exc:
        raise ValueError(f"a parameter is not UTF-8 once percent-decoded (byte {exc.start})") from None
    for key, _ in pairs:
        if len(key) > limits.MAX_KEY_LENGTH or key.count(".") >= limits.MAX_KEY_PARTS:
            raise ValueError(
                f"parameter name {key[:64]!r}... is longer than {limits.MAX_KEY_LENGTH} characters "
                f"or {limits.MAX_KEY_PARTS} parts"
            )
    return pairs


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
    """Input timestamps arrive as epoch numbers or ISO 8601 strings; handlers get aware datetimes.
    ValueError for one outside what a datetime holds (1e20, NaN)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    text = str(value)
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(seconds)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _from_epoch(seconds: float) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{seconds} is not a valid timestamp") from None


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
        if not _INTEGER.fullmatch(text):
            raise ValueError(f"{text[:64]!r} is not an integer")
        return check_integer(int(text), shape)
    if kind in ("float", "double"):
        return check_finite(float(text))
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{text!r} is not a boolean (true or false)")
        return text.lower() == "true"
    if kind == "timestamp":
        return to_datetime(text)
    if kind == "blob":
        return base64.b64decode(text)
    return text


_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_INTEGER_BITS = {"integer": 31, "long": 63}


def check_integer(value: int, shape: Shape) -> int:
    """Integers fit their Java type (integer: 32 bits, long: 64), as AWS's deserialiser requires."""
    bits = _INTEGER_BITS.get(shape.type_name, 63)
    if not -(2**bits) <= value < 2**bits:
        raise ValueError(f"{value} does not fit a {bits + 1}-bit {shape.type_name}")
    return value


def check_finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return value


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
    """Raise `MissingMember(path)` for the first required member absent anywhere in the input;
    the path is AWS's (`Tags.1.member.Key`)."""
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
            check_required(shape.member, item, f"{path}.{i}.member")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            check_required(shape.value, item, f"{path}.{key}.value")


class MissingMember(Exception):
    """A required input member is absent; the protocol turns it into its validation error."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


# Error shapes services model for bad input, most specific first: a missing member, a malformed one.
_MISSING_SHAPES = ("MissingRequiredParameterException", "ValidationException", "InvalidParameterException")
_MALFORMED_SHAPES = ("ValidationException", "InvalidParameterException")
_PROTOCOL_DEFAULT = {
    "ec2": "InvalidParameterValue",
    "query": "ValidationError",
    "json": "ValidationException",
    "rest-json": "ValidationException",
}


def validation_error(svc: Service, protocol: str, message: str, missing: bool = False) -> AwsError:
    """The error this service answers bad input with (its modeled shape, else the protocol's
    common code). CloudWatch and EC2 say MissingParameter only for an absent member, not a malformed one."""
    modeled = [name for name in (_MISSING_SHAPES if missing else _MALFORMED_SHAPES) if name in svc.errors_by_shape]
    if not modeled and missing and protocol == "ec2":
        return AwsError("MissingParameter", message, 400)
    return AwsError(modeled[0] if modeled else _PROTOCOL_DEFAULT[protocol], message, 400)


def missing_member_error(svc: Service, protocol: str, missing: MissingMember) -> AwsError:
    """A missing required member, worded as AWS words it."""
    member = ".".join(lower_first(p) for p in missing.path.split("."))
    return validation_error(
        svc,
        protocol,
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null",
        missing=True,
    )


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


def generic_error(err: AwsError, request_id: str, json_family: bool) -> WireResponse:
    """An AWS-shaped error for a request whose service or protocol is unknown (no such service,
    or aiohttp refused the HTTP itself): JSON for JSON-protocol callers, else the query
    `<ErrorResponse>` that the query and EC2 parsers both read; `x-amzn-ErrorType` for rest-json."""
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code}
    if json_family:
        body = json.dumps({"__type": err.code, "message": err.message}).encode()
        return WireResponse(err.status, body, {**headers, "Content-Type": "application/x-amz-json-1.1"})
    kind = "Sender" if err.sender else "Receiver"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type>'
        f"<Code>{xml_text(err.code)}</Code><Message>{xml_text(err.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return WireResponse(err.status, xml.encode(), {**headers, "Content-Type": "text/xml"})


def unknown_operation(protocol: str, operation: str, service: str) -> AwsError:
    code = "InvalidAction" if protocol in ("query", "ec2") else "UnknownOperationException"
    return AwsError(code, f"{service} operation {operation} is not implemented by chaoslab yet", 400)
