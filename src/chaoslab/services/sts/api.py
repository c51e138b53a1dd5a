"""STS: who am I, and temporary credentials for roles (what FIS experiment roles and SDK
`AssumeRole` profiles need). Keys it mints live in the gateway's credential registry."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from typing import Any

from chaoslab.aws.context import RequestContext
from chaoslab.errors import AwsError
from chaoslab.types import ApiHandler

_ID_CHARS = string.ascii_uppercase + string.digits
_MIN_DURATION, _MAX_DURATION = 900, 43200
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # the model's pattern; the name ends up inside an ARN


def _duration(params: dict[str, Any], default: int) -> int:
    seconds = int(params.get("DurationSeconds", default))
    if not _MIN_DURATION <= seconds <= _MAX_DURATION:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' "
            f"failed to satisfy constraint: Member must have value between {_MIN_DURATION} and "
            f"{_MAX_DURATION}",
            400,
        )
    return seconds


def _credentials_out(cred: Any) -> dict[str, Any]:
    return {
        "AccessKeyId": cred.access_key,
        "SecretAccessKey": cred.secret,
        "SessionToken": cred.session_token,
        "Expiration": dt.datetime.fromtimestamp(cred.expires, dt.UTC),
    }


def get_caller_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    cred = ctx.credentials.lookup(ctx.access_key)
    user_id = cred.user_id if cred else ctx.account_id
    return {"UserId": user_id, "Account": ctx.account_id, "Arn": ctx.principal_arn}


def _role_name(role_arn: str) -> str:
    """`arn:aws:iam::123456789012:role/path/name` -> `name`."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise AwsError("ValidationError", f"{role_arn} is invalid", 400)
    return parts[5].rsplit("/", 1)[-1]


def _find_role(ctx: RequestContext, name: str, role_arn: str) -> Any:
    """The IAM role (None without an IAM backend, when every role is assumable); AccessDenied
    when the lab has IAM and no role has this ARN, as AWS answers for an unknown role."""
    iam = getattr(ctx.lab, "iam", None)
    if iam is None:
        return None
    try:
        role = iam.get_role(name)
    except AwsError:
        role = None
    if role is None or role.arn.lower() != role_arn.lower():  # another account or path is another role
        raise AwsError(
            "AccessDenied",
            f"User: {ctx.principal_arn} is not authorized to perform: sts:AssumeRole on "
            f"resource: {role_arn} (the role does not exist)",
            403,
        )
    return role


def _session_name(session: str) -> str:
    if not _SESSION_NAME.fullmatch(session):
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{session}' at 'roleSessionName' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "[\\w+=,.@-]*",
            400,
        )
    return session


def assume_role(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    role_arn, session = params["RoleArn"], _session_name(params["RoleSessionName"])
    name = _role_name(role_arn)
    role = _find_role(ctx, name, role_arn)
    duration = _duration(params, 3600)
    max_duration = getattr(role, "max_session_duration", None)
    if max_duration and duration > max_duration:
        raise AwsError(
            "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400
        )
    account = role_arn.split(":")[4] or ctx.account_id
    role_id = getattr(role, "role_id", None) or "AROA" + "".join(secrets.choice(_ID_CHARS) for _ in range(17))
    principal = f"arn:aws:sts::{account}:assumed-role/{name}/{session}"
    cred = ctx.credentials.issue(principal, f"{role_id}:{session}", duration)
    return {
        "Credentials": _credentials_out(cred),
        "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}", "Arn": principal},
    }


def get_session_token(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    caller = ctx.credentials.lookup(ctx.access_key)
    user_id = caller.user_id if caller else ctx.account_id
    cred = ctx.credentials.issue(ctx.principal_arn, user_id, _duration(params, 43200))
    return {"Credentials": _credentials_out(cred)}


def decode_authorization_message(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The details behind an encoded authorization failure (EC2's UnauthorizedOperation)."""
    from chaoslab.services.iam.denial import decode_message

    try:
        return {"DecodedMessage": decode_message(params["EncodedMessage"])}
    except ValueError:
        raise AwsError("InvalidAuthorizationMessageException", "The encoded message is not valid.", 400) from None


OPERATIONS: dict[str, ApiHandler] = {
    "GetCallerIdentity": get_caller_identity,
    "AssumeRole": assume_role,
    "GetSessionToken": get_session_token,
    "DecodeAuthorizationMessage": decode_authorization_message,
}
