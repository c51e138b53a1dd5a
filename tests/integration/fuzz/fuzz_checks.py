"""What every lab response must be, checked strictly: not a 5xx, the protocol's content type, a
body the protocol's parser reads (XML 1.0 for query/EC2, strict JSON without NaN for the JSON
protocols), and an error code on every error."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from botocore.parsers import create_parser

XML_PROTOCOLS = ("query", "ec2")
# Refusals of HTTP the lab could not read far enough to know the caller's protocol (a request
# line past 128 KiB): the generic XML error, its code in x-amzn-ErrorType for rest-json clients.
TRANSPORT_CODES = ("MalformedHttpRequest", "RequestHeaderFieldsTooLarge")


def _strict_json(body: bytes) -> Any:
    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} in JSON")

    return json.loads(body, parse_constant=no_constant)


def response_problem(
    protocol: str, status: int, headers: dict[str, str], body: bytes, output_shape: Any = None
) -> str | None:
    """Why this response is not acceptable, or None. `protocol` is botocore's name for the
    protocol the request spoke (query, ec2, json, rest-json)."""
    headers = {k.lower(): v for k, v in headers.items()}
    if status >= 500:
        return f"HTTP {status}: {body[:300]!r}"
    content_type = headers.get("content-type", "")
    if protocol in XML_PROTOCOLS or headers.get("x-amzn-errortype") in TRANSPORT_CODES:
        if "xml" not in content_type:
            return f"content type {content_type!r} for {protocol}"
        try:
            ET.fromstring(body)
        except ET.ParseError as exc:
            return f"unparseable XML ({exc}): {body[:300]!r}"
    else:
        if "json" not in content_type:
            return f"content type {content_type!r} for {protocol}"
        if body.strip():
            try:
                _strict_json(body)
            except ValueError as exc:
                return f"unparseable JSON ({exc}): {body[:300]!r}"
    parser = create_parser(protocol)
    try:
        parsed = parser.parse({"status_code": status, "headers": headers, "body": body}, output_shape)
    except Exception as exc:  # any parser failure is the finding
        return f"botocore's {protocol} parser failed: {exc!r}"
    if status >= 300:
        code = parsed.get("Error", {}).get("Code", "")
        if not code or code == str(status):
            return f"error without a code: {body[:300]!r}"
    return None
