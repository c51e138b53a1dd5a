"""Policy documents on the way in: decode (JSON, or URL-encoded JSON as IAM also accepts) and
validate, so a bad policy is refused at write time with a message that says what and where,
instead of silently denying everything when an experiment runs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote

from chaoslab.aws import safejson
from chaoslab.errors import AwsError
from chaoslab.services.iam.policy import as_list, parse_operator

VERSIONS = ("2008-10-17", "2012-10-17")
IDENTITY = "identity"
TRUST = "trust"
# IAM's size quotas (characters, whitespace included) per kind of document.
SIZE_LIMITS = {"inline": 10240, "managed": 6144, TRUST: 2048}
_STATEMENT_FIELDS = {
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "NotPrincipal",
}
_PRINCIPAL_KINDS = {"AWS", "Service", "Federated", "CanonicalUser"}


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message, 400)


def decode(text: str | dict[str, Any]) -> dict[str, Any]:
    """Parse a document given as a dict, a JSON string or a URL-encoded JSON string."""
    if isinstance(text, dict):
        return text
    problem = ""
    for candidate in (text, unquote(text)):
        try:
            doc = safejson.loads(candidate)
        except ValueError as exc:
            problem = problem or f" ({exc})"
            continue
        if not isinstance(doc, dict):
            raise malformed("Syntax errors in policy: the document must be a JSON object.")
        return doc
    raise malformed(f"Syntax errors in policy: the document is not valid JSON{problem}.")


def encode(text: str) -> str:
    """IAM returns documents URL-encoded (botocore decodes them for boto3 users)."""
    return quote(text, safe="")


def as_text(document: str | dict[str, Any]) -> str:
    """Keep the caller's text verbatim (IAM returns what was written); serialise dicts."""
    if isinstance(document, dict):
        return json.dumps(document)
    doc = document.strip()
    return unquote(doc) if not doc.startswith("{") else doc


def size(text: str) -> int:
    """IAM's quotas count characters without whitespace."""
    return len("".join(text.split()))


def check_size(text: str, kind: str, already_used: int = 0) -> None:
    limit = SIZE_LIMITS[kind]
    if size(text) + already_used > limit:
        quota = "ACLSizePerRole" if kind == TRUST else "PolicySize"
        raise AwsError("LimitExceeded", f"Cannot exceed quota for {quota}: {limit}", 409)


def validate(document: str | dict[str, Any], kind: str = IDENTITY) -> dict[str, Any]:
    """Decode and check a policy; returns the parsed document or raises MalformedPolicyDocument."""
    doc = decode(document)
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise malformed(f"The policy failed legacy parsing: Version {version!r} is not one of {', '.join(VERSIONS)}.")
    unknown = set(doc) - {"Version", "Id", "Statement"}
    if unknown:
        raise malformed(f"Syntax errors in policy: unknown top-level field {sorted(unknown)[0]!r}.")
    if "Statement" not in doc:
        raise malformed("Missing required field Statement.")
    stmts = as_list(doc["Statement"])
    if not stmts:
        raise malformed("Syntax errors in policy: Statement is empty.")
    for i, stmt in enumerate(stmts):
        _check_statement(stmt, f"Statement[{i}]", kind)
    return doc


def _check_statement(stmt: Any, where: str, kind: str) -> None:
    if not isinstance(stmt, dict):
        raise malformed(f"Syntax errors in policy: {where} must be an object.")
    unknown = set(stmt) - _STATEMENT_FIELDS
    if unknown:
        raise malformed(f"Syntax errors in policy: {where} has unknown field {sorted(unknown)[0]!r}.")
    if stmt.get("Effect") not in ("Allow", "Deny"):
        raise malformed(f'{where}: Effect must be "Allow" or "Deny", got {stmt.get("Effect")!r}.')
    _exactly_one(stmt, "Action", "NotAction", where, "Policy statement must contain actions.")
    for field in ("Action", "NotAction"):
        for action in as_list(stmt.get(field, [])):
            if not isinstance(action, str) or (action != "*" and ":" not in action):
                raise malformed(
                    f"{where}.{field}: Actions/Conditions must be prefaced by a vendor, "
                    f"e.g., iam, sdb, ec2, etc. (got {action!r})."
                )
    if kind == TRUST:
        for field in ("Resource", "NotResource"):
            if field in stmt:
                raise malformed(f"{where}: Has prohibited field {field}.")
        _exactly_one(stmt, "Principal", "NotPrincipal", where, "Missing required field Principal.")
        _check_principal(stmt.get("Principal", stmt.get("NotPrincipal")), where)
    else:
        for field in ("Principal", "NotPrincipal"):
            if field in stmt:
                raise malformed(f"{where}: Has prohibited field {field}.")
        _exactly_one(stmt, "Resource", "NotResource", where, "Policy statement must contain resources.")
        for field in ("Resource", "NotResource"):
            for resource in as_list(stmt.get(field, [])):
                if not isinstance(resource, str) or (resource != "*" and not resource.startswith("arn:")):
                    raise malformed(f'{where}.{field}: Resource {resource!r} must be in ARN format or "*".')
    if "Condition" in stmt:
        _check_condition(stmt["Condition"], f"{where}.Condition")


def _exactly_one(stmt: dict[str, Any], a: str, b: str, where: str, missing: str) -> None:
    if a in stmt and b in stmt:
        raise malformed(f"{where}: {a} and {b} cannot both be present.")
    if a not in stmt and b not in stmt:
        raise malformed(f"{where}: {missing}")
    value = stmt.get(a, stmt.get(b))
    if isinstance(value, list) and not value:
        raise malformed(f"{where}.{a if a in stmt else b} must not be empty.")


def _check_principal(principal: Any, where: str) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal or set(principal) - _PRINCIPAL_KINDS:
        raise malformed(f"{where}: Invalid principal in policy: {json.dumps(principal)}")
    for kind, values in principal.items():
        if not all(isinstance(v, str) and v for v in as_list(values)):
            raise malformed(f"{where}.Principal.{kind}: Invalid principal in policy.")


def _check_condition(condition: Any, where: str) -> None:
    if not isinstance(condition, dict):
        raise malformed(f"Syntax errors in policy: {where} must be an object.")
    for operator, keys in condition.items():
        if parse_operator(operator) is None:
            raise malformed(f"{where}: Invalid Condition type : {operator}.")
        if not isinstance(keys, dict) or not keys:
            raise malformed(f"{where}.{operator} must map condition keys to values.")
        for key, values in keys.items():
            if ":" not in key:
                raise malformed(
                    f"{where}.{operator}: Actions/Conditions must be prefaced by a vendor, "
                    f"e.g., iam, sdb, ec2, etc. (condition key {key!r})."
                )
            for value in as_list(values):
                if isinstance(value, (dict, list)) or value is None:
                    raise malformed(f"{where}.{operator}.{key}: condition values must be strings, numbers or booleans.")
