"""Which emulated service a request is for (docs/aws-api.md, "Routing"), decided from as little
as possible: the credential scope for signed requests; for unsigned ones, only enough to shape
their MissingAuthenticationToken answer (no decompression, no form parsing before SigV4)."""

from __future__ import annotations

import re
from typing import Any

from chaoslab.aws import models

_VERSION = re.compile(rb"(?:^|&)Version=([0-9-]{1,20})(?:&|$)")
CLASSIC_ELB_VERSION = "2012-06-01"  # shares ELBv2's signing name; chaoslab emulates only v2


def signed_service(signing_name: str) -> str | None:
    """The chaoslab service for a SigV4 credential scope's service, None if not emulated."""
    return models.SIGNING_NAMES.get(signing_name)


def unsigned_service(method: str, raw_path: str, raw_query: str, headers: Any, body: bytes) -> str | None:
    """Best guess for an unsigned request: `X-Amz-Target` prefix, else a query `Version` (query
    string, or a body that is not compressed), else a FIS route."""
    target = headers.get("X-Amz-Target")
    if target:
        return models.json_targets().get(target.partition(".")[0])
    version = query_version(raw_query.encode(), body if not headers.get("Content-Encoding") else b"")
    if version:
        return models.query_service_for_version(version)
    fis = models.service("fis")
    return "fis" if fis.route(method, raw_path, {}) else None


def query_version(*sources: bytes) -> str | None:
    """The `Version=` of a query-protocol request, found without parsing the whole form."""
    for source in sources:
        found = _VERSION.search(source)
        if found:
            return found.group(1).decode()
    return None


def is_json_family(headers: Any) -> bool:
    """Whether the caller speaks JSON (for errors raised before its service is known)."""
    return "x-amz-json" in headers.get("Content-Type", "").lower() or "X-Amz-Target" in headers
