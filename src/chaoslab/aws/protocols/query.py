"""The query protocol (form-encoded input, XML output) and its EC2 dialect.

Input keys follow botocore's QuerySerializer/EC2Serializer: `A.member.1.B` lists (EC2: `A.1.B`),
`M.entry.1.key`/`.value` maps, `true`/`false`, ISO 8601 timestamps. Output follows what
botocore's QueryParser/EC2QueryParser read back.
"""

from __future__ import annotations

from typing import Any

from botocore.model import OperationModel, Shape

from chaoslab.aws.models import Service
from chaoslab.aws.protocols.base import (
    WireRequest,
    WireResponse,
    error_status,
    scalar_from_text,
    scalar_to_text,
    wire_code,
)
from chaoslab.aws.protocols.xmltext import xml_text
from chaoslab.errors import AwsError

_XML = {"Content-Type": "text/xml"}


class QueryProtocol:
    name = "query"
    ec2 = False

    def operation(self, svc: Service, req: WireRequest) -> tuple[str, dict[str, str]] | None:
        action = req.form.get("Action")
        return (action, {}) if action else None

    # -- input -------------------------------------------------------------------------------
    def parse(self, svc: Service, op: OperationModel, req: WireRequest, labels: dict[str, str]) -> dict[str, Any]:
        if op.input_shape is None:
            return {}
        params = req.form
        prefixes = set()
        for key in params:  # each key's dotted prefixes; keys are at most MAX_KEY_PARTS deep (parse_form)
            end = key.find(".")
            while end != -1:
                prefixes.add(key[:end])
                end = key.find(".", end + 1)
            prefixes.add(key)
        return _InputReader(params, prefixes, self.ec2).structure(op.input_shape, "") or {}

    # -- output ------------------------------------------------------------------------------
    def serialize(self, svc: Service, op: OperationModel, output: dict[str, Any], request_id: str) -> WireResponse:
        ns = svc.model.metadata.get("xmlNamespace", "")
        body = _members_xml(op.output_shape, output) if op.output_shape is not None else ""
        if self.ec2:
            inner = f"<requestId>{request_id}</requestId>{body}"
        else:
            wrapper = (
                op.output_shape.serialization.get("resultWrapper") if op.output_shape else None
            ) or f"{op.name}Result"
            result = f"<{wrapper}>{body}</{wrapper}>" if op.output_shape is not None else ""
            inner = f"{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{op.name}Response xmlns="{ns}">{inner}</{op.name}Response>'
        return WireResponse(200, xml.encode(), dict(_XML))

    def error(self, svc: Service, err: AwsError, request_id: str) -> WireResponse:
        code = xml_text(wire_code(svc, err.code, self.name))
        message = xml_text(err.message)
        if self.ec2:
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            )
        else:
            ns = svc.model.metadata.get("xmlNamespace", "")
            kind = "Sender" if err.sender else "Receiver"
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        return WireResponse(error_status(svc, err), xml.encode(), dict(_XML))


class Ec2Protocol(QueryProtocol):
    name = "ec2"
    ec2 = True


class _InputReader:
    """Walks an input shape, reading the flat form keys it implies."""

    def __init__(self, params: dict[str, str], prefixes: set[str], ec2: bool) -> None:
        self.params = params
        self.prefixes = prefixes
        self.ec2 = ec2

    def _name(self, shape: Shape, default: str) -> str:
        ser = shape.serialization
        if self.ec2:
            if "queryName" in ser:
                return ser["queryName"]
            if "name" in ser:
                return ser["name"][:1].upper() + ser["name"][1:]
            return default
        return ser.get("name", default)

    def value(self, shape: Shape, prefix: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, prefix)
        if kind == "list":
            return self.list(shape, prefix)
        if kind == "map":
            return self.map(shape, prefix)
        if prefix in self.params:
            return scalar_from_text(self.params[prefix], shape)
        return None

    def structure(self, shape: Shape, prefix: str) -> dict[str, Any] | None:
        if prefix and prefix not in self.prefixes:
            return None
        out = {}
        for name, member in shape.members.items():
            key = self._name(member, name)
            value = self.value(member, f"{prefix}.{key}" if prefix else key)
            if value is not None:
                out[name] = value
        return out

    def list(self, shape: Shape, prefix: str) -> list[Any] | None:
        if prefix not in self.prefixes:
            return None
        if self.params.get(prefix) == "":
            return []
        if self.ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            base = prefix
            if shape.member.serialization.get("name"):
                base = ".".join(prefix.split(".")[:-1] + [shape.member.serialization["name"]])
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items, i = [], 1
        while f"{base}.{i}" in self.prefixes:
            items.append(self.value(shape.member, f"{base}.{i}"))
            i += 1
        return items

    def map(self, shape: Shape, prefix: str) -> dict[str, Any] | None:
        if prefix not in self.prefixes:
            return None
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = self._name(shape.key, "key")
        value_name = self._name(shape.value, "value")
        out, i = {}, 1
        while f"{base}.{i}" in self.prefixes:
            key = self.params.get(f"{base}.{i}.{key_name}")
            if key is not None:
                out[key] = self.value(shape.value, f"{base}.{i}.{value_name}")
            i += 1
        return out


def _member_xml_name(member: Shape, name: str) -> str:
    """The element name botocore's XML parser looks for (`_member_key_name`)."""
    if member.type_name == "list" and member.serialization.get("flattened") and member.member.serialization.get("name"):
        return member.member.serialization["name"]
    return member.serialization.get("name", name)


def _members_xml(shape: Shape, value: dict[str, Any]) -> str:
    parts = []
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            parts.append(_xml(member, item, _member_xml_name(member, name)))
    return "".join(parts)


def _xml(shape: Shape, value: Any, tag: str) -> str:
    kind = shape.type_name
    if kind == "structure":
        return f"<{tag}>{_members_xml(shape, value)}</{tag}>"
    if kind == "list":
        if shape.serialization.get("flattened"):
            return "".join(_xml(shape.member, item, tag) for item in value)
        inner = shape.member.serialization.get("name", "member")
        return f"<{tag}>{''.join(_xml(shape.member, item, inner) for item in value)}</{tag}>"
    if kind == "map":
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        pairs = [f"{_xml(shape.key, k, key_tag)}{_xml(shape.value, v, value_tag)}" for k, v in value.items()]
        if shape.serialization.get("flattened"):
            return "".join(f"<{tag}>{pair}</{tag}>" for pair in pairs)
        return f"<{tag}>{''.join(f'<entry>{pair}</entry>' for pair in pairs)}</{tag}>"
    return f"<{tag}>{xml_text(scalar_to_text(value, shape))}</{tag}>"
