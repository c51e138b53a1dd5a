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


# users and access keys -------------------------------------------------------------------------------
def create_user(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    user = _iam(ctx).create_user(p["UserName"], path=p.get("Path", "/"), tags=p.get("Tags"))
    return {"User": user.describe()}


def get_user(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """Without a UserName, the calling user (the lab keeps no record of the root user to describe)."""
    return {"User": _iam(ctx).get_user(_user_name(ctx, p)).describe()}


def list_users(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    users = _iam(ctx).list_users(p.get("PathPrefix", "/"))
    return _page([u.describe(with_tags=False) for u in users], p, "Users")  # ListUsers omits tags, as AWS


def delete_user(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_user(p["UserName"])
    return {}


def _user_name(ctx: Ctx, p: dict[str, Any]) -> str:
    """Access-key calls without a UserName act on the calling user."""
    if "UserName" in p:
        return str(p["UserName"])
    me = _iam(ctx).identity(ctx.principal_arn)
    if me is None or not me.arn.startswith(f"arn:aws:iam::{ctx.account_id}:user/"):
        raise AwsError("ValidationError", "Must specify userName when calling with non-User credentials", 400)
    return me.name


def create_access_key(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    name = _user_name(ctx, p)
    user = _iam(ctx).get_user(name)
    key = _iam(ctx).create_access_key(name)
    return {"AccessKey": key.describe(user.name, with_secret=True)}


def list_access_keys(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    name = _user_name(ctx, p)
    user = _iam(ctx).get_user(name)
    return _page([k.describe(user.name) for k in user.access_keys], p, "AccessKeyMetadata")


def delete_access_key(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_access_key(_user_name(ctx, p), p["AccessKeyId"])
    return {}


def put_user_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).put_user_policy(p["UserName"], p["PolicyName"], p["PolicyDocument"])
    return {}


def get_user_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    user = _iam(ctx).get_user(p["UserName"])
    text = _iam(ctx).get_user_policy(p["UserName"], p["PolicyName"])
    return {"UserName": user.name, "PolicyName": p["PolicyName"], "PolicyDocument": encode(text)}


def list_user_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return _page(_iam(ctx).list_user_policies(p["UserName"]), p, "PolicyNames")


def delete_user_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).delete_user_policy(p["UserName"], p["PolicyName"])
    return {}


def attach_user_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).attach_user_policy(p["UserName"], p["PolicyArn"])
    return {}


def detach_user_policy(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _iam(ctx).detach_user_policy(p["UserName"], p["PolicyArn"])
    return {}


def list_attached_user_policies(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    policies = _iam(ctx).list_attached_user_policies(p["UserName"], p.get("PathPrefix", "/"))
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
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "DeleteUser": delete_user,
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "DeleteAccessKey": delete_access_key,
    "PutUserPolicy": put_user_policy,
    "GetUserPolicy": get_user_policy,
    "ListUserPolicies": list_user_policies,
    "DeleteUserPolicy": delete_user_policy,
    "AttachUserPolicy": attach_user_policy,
    "DetachUserPolicy": detach_user_policy,
    "ListAttachedUserPolicies": list_attached_user_policies,
    "TagRole": tag_role,
    "UntagRole": untag_role,
    "ListRoleTags": list_role_tags,
}
