"""IAM operations, dict in / dict out in botocore's shapes (the wire layer speaks the query/XML
protocol). Each handler is a thin translation onto `lab.iam`; semantics live in the backend."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.iam.document import encode
from chaoslab.services.iam.models import tag_list
from chaoslab.types import ApiHandler


def _iam(ctx: Ctx) -> IamBackend:
    return ctx.lab.iam


PAGES = Paginator(
    token="Marker",
    size="MaxItems",
    default=100,
    bad_token=lambda _: AwsError("ValidationError", "Invalid Marker.", 400),
    maximum=1000,
    bad_size=lambda _, maximum: AwsError("ValidationError", f"MaxItems must be between 1 and {maximum}.", 400),
    truncated="IsTruncated",
)


def _page(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    """The page of `items` under `key`, with `IsTruncated` and the next `Marker`."""
    chunk, more = PAGES.page(items, params)
    return {key: chunk, **more}


# roles ---------------------------------------------------------------------------------------------
def create_role(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    role = _iam(ctx).create_role(
        p["RoleName"],
        p["AssumeRolePolicyDocument"],
        path=p.get("Path", "/"),
        description=p.get("Description", ""),
        max_session_duration=p.get("MaxSessionDuration", 3600),
        tags=p.get("Tags"),
    )
    return {"Role": role.describe()}


def get_role(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"Role": _iam(ctx).get_role(p["RoleName"]).describe()}


def list_roles(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    roles = _iam(ctx).list_roles(p.get("PathPrefix", "/"))
    return _page([r.describe(with_tags=False) for r in roles], p, "Roles")  # ListRoles omits tags, as AWS


def delete_role(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_role(p["RoleName"])
    return {}


# inline policies -----------------------------------------------------------------------------------
def put_role_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).put_role_policy(p["RoleName"], p["PolicyName"], p["PolicyDocument"])
    return {}


def get_role_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    role = _iam(ctx).get_role(p["RoleName"])
    text = _iam(ctx).get_role_policy(p["RoleName"], p["PolicyName"])
    return {"RoleName": role.name, "PolicyName": p["PolicyName"], "PolicyDocument": encode(text)}


def list_role_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return _page(_iam(ctx).list_role_policies(p["RoleName"]), p, "PolicyNames")


def delete_role_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_role_policy(p["RoleName"], p["PolicyName"])
    return {}


# managed policies ----------------------------------------------------------------------------------
def create_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    iam = _iam(ctx)
    policy = iam.create_policy(
        p["PolicyName"],
        p["PolicyDocument"],
        path=p.get("Path", "/"),
        description=p.get("Description", ""),
        tags=p.get("Tags"),
    )
    return {"Policy": policy.describe(iam.attachment_count(policy.arn))}


def get_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    iam = _iam(ctx)
    policy = iam.get_policy(p["PolicyArn"])
    return {"Policy": policy.describe(iam.attachment_count(policy.arn))}


def get_policy_version(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    iam = _iam(ctx)
    version = iam.get_policy_version(p["PolicyArn"], p["VersionId"])
    is_default = iam.get_policy(p["PolicyArn"]).default_version == version.version_id
    return {"PolicyVersion": version.describe(is_default)}


def list_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    iam = _iam(ctx)
    policies = iam.list_policies(p.get("Scope", "All"), bool(p.get("OnlyAttached", False)), p.get("PathPrefix", "/"))
    return _page([x.describe(iam.attachment_count(x.arn), with_tags=False) for x in policies], p, "Policies")


def delete_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_policy(p["PolicyArn"])
    return {}


def attach_role_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).attach_role_policy(p["RoleName"], p["PolicyArn"])
    return {}


def detach_role_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).detach_role_policy(p["RoleName"], p["PolicyArn"])
    return {}


def list_attached_role_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    policies = _iam(ctx).list_attached_role_policies(p["RoleName"], p.get("PathPrefix", "/"))
    return _page([{"PolicyName": x.name, "PolicyArn": x.arn} for x in policies], p, "AttachedPolicies")


# tags ------------------------------------------------------------------------------------------------
def tag_role(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).tag_role(p["RoleName"], p["Tags"])
    return {}


def untag_role(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).untag_role(p["RoleName"], p["TagKeys"])
    return {}


def list_role_tags(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return _page(tag_list(_iam(ctx).list_role_tags(p["RoleName"])), p, "Tags")


OPERATIONS: dict[str, ApiHandler] = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "DeleteRole": delete_role,
    "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy,
    "ListRolePolicies": list_role_policies,
    "DeleteRolePolicy": delete_role_policy,
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "GetPolicyVersion": get_policy_version,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "AttachRolePolicy": attach_role_policy,
    "DetachRolePolicy": detach_role_policy,
    "ListAttachedRolePolicies": list_attached_role_policies,
    "TagRole": tag_role,
    "UntagRole": untag_role,
    "ListRoleTags": list_role_tags,
}
