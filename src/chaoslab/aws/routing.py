"""Which emulated service a request is for (docs/aws-api.md, "Routing"), decided from as little
as possible: the credential scope for signed requests (`Catalog.signed`); for unsigned ones, only
enough to shape their MissingAuthenticationToken answer (no decompression, no form parsing
before SigV4)."""

from __future__ import annotations

import re
from typing import Any

from chaoslab.aws.catalog import Catalog

_VERSION = re.compile(rb"(?:^|&)Version=([0-9-]{1,20})(?:&|$)")
CLASSIC_ELB_VERSION = "2012-06-01"  # shares ELBv2's signing name; chaoslab emulates only v2


def unsigned_service(
    catalog: Catalog, method: str, raw_path: str, raw_query: str, headers: Any, body: bytes
) -> str | None:
    """Best guess for an unsigned request: `X-Amz-Target` prefix, else a query `Version` (query
    string, or a body that is not compressed), else a rest-json route (FIS)."""
    target = headers.get("X-Amz-Target")
    if target:
        return catalog.json_targets.get(target.partition(".")[0])
    version = query_version(raw_query.encode(), body if not headers.get("Content-Encoding") else b"")
    if version:
        return catalog.query_versions.get(version)
    return next((p for p in catalog.rest_json if catalog.model(p).route(method, raw_path, {})), None)


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
