"""IAM's refusal as each service's wire protocol says it: EC2's `UnauthorizedOperation` with an
encoded authorization message, `AccessDenied` from the other query/XML services, and
`AccessDeniedException` from the JSON ones; HTTP 403 for all, naming the action and resource."""

from __future__ import annotations

import base64
import json

from chaoslab.errors import AwsError


def reason(action: str, explicit: bool) -> str:
    """AWS's words for why: an explicit deny, or no allow at all."""
    if explicit:
        return "with an explicit deny in an identity-based policy"
    return f"because no identity-based policy allows the {action} action"


def encode_message(principal: str, action: str, resource: str, explicit: bool, context: dict[str, object]) -> str:
    """The details EC2 hides behind its message; `sts:DecodeAuthorizationMessage` reads them back."""
    details = {
        "allowed": False,
        "explicitDeny": explicit,
        "context": {"principal": {"arn": principal}, "action": action, "resource": resource, "conditions": context},
    }
    return base64.urlsafe_b64encode(json.dumps(details, sort_keys=True).encode()).decode().rstrip("=")


def decode_message(encoded: str) -> str:
    """The JSON text of an encoded authorization message; ValueError if it is not one."""
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    json.loads(raw)
    return raw.decode()


def access_denied(
    protocol: str,
    principal: str,
    action: str,
    resource: str,
    explicit: bool,
    context: dict[str, object] | None = None,
    query_compatible: bool = False,
) -> AwsError:
    """The error the service answers with when IAM refuses `action` on `resource`. A JSON service
    that keeps its query codes (CloudWatch) says `AccessDenied`, as over query."""
    text = (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} {reason(action, explicit)}"
    )
    if protocol == "ec2":
        encoded = encode_message(principal, action, resource, explicit, context or {})
        return AwsError(
            "UnauthorizedOperation",
            f"You are not authorized to perform this operation. {text}. Encoded authorization failure message: {encoded}",
            403,
        )
    if protocol == "query" or query_compatible:
        return AwsError("AccessDenied", text, 403)
    return AwsError("AccessDeniedException", text, 403)
