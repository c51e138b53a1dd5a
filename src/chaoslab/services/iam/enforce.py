"""IAM for API callers (`up --enforce-iam`, a stack's `iam: {enforce: true}`): the gateway asks
`check` before every handler whether the caller's identity policies allow the call. The account's
root is allowed everything, as on AWS; an assumed-role session is its role's policies, a user's
key its user's; an explicit Deny wins (docs/iam.md)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chaoslab.errors import AwsError
from chaoslab.services.iam import access, denial
from chaoslab.services.iam.policy import Context, evaluate

if TYPE_CHECKING:
    from chaoslab.aws.context import RequestContext
    from chaoslab.services.iam.models import Role, User


def check(ctx: RequestContext, query_compatible: bool = False) -> None:
    """Return if IAM allows the call; raise the service's AccessDenied otherwise."""
    if (ctx.service, ctx.operation) in access.UNCHECKED or ctx.principal_arn.endswith(":root"):
        return
    action = access.action(ctx.service, ctx.operation)
    arns = access.resources(ctx.service, ctx.operation, ctx.params, ctx.region, ctx.account_id)
    iam = getattr(ctx.lab, "iam", None)
    identity = iam.identity(ctx.principal_arn) if iam is not None else None
    policies = iam.policies_of(identity) if iam is not None and identity is not None else []
    base = principal_context(ctx, identity)
    for arn in arns:
        context = {**base, **tag_context(action, resource_tags(ctx.lab, arn))}
        decision = evaluate(policies, action, arn, context)
        if not decision.allowed:
            stmt = decision.matched_statement
            explicit = stmt is not None and stmt.get("Effect") == "Deny"
            raise denial.access_denied(
                ctx.protocol, ctx.principal_arn, action, arn, explicit, dict(context), query_compatible
            )


def principal_context(ctx: RequestContext, identity: Role | User | None) -> Context:
    """The global condition keys every request carries: who asks, where, when."""
    now = time.time()
    context: Context = {
        "aws:RequestedRegion": ctx.region,
        "aws:PrincipalAccount": ctx.account_id,
        "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
    }
    if identity is None:
        return context
    context["aws:PrincipalArn"] = identity.arn  # a session's role, not its sts ARN, as AWS sets it
    if ":user/" in identity.arn:
        context["aws:username"] = identity.name
        context["aws:PrincipalType"] = "User"
    else:
        context["aws:PrincipalType"] = "AssumedRole"
    cred = ctx.credentials.lookup(ctx.access_key)
    if cred is not None:
        context["aws:userid"] = cred.user_id
    for key, value in identity.tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    return context


def tag_context(action: str, tags: dict[str, str]) -> Context:
    """`aws:ResourceTag/<k>` and the service's own `<prefix>:ResourceTag/<k>` for each tag."""
    prefix = action.split(":", 1)[0]
    out: Context = {}
    for key, value in tags.items():
        out[f"aws:ResourceTag/{key}"] = value
        out[f"{prefix}:ResourceTag/{key}"] = value
    return out


def resource_tags(lab: Any, arn: str) -> dict[str, str]:
    """The tags of the resources whose tags the lab reads for conditions: EC2 instances, FIS
    experiment templates and experiments. Others (and unknown ids) have none here."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return {}
    service, kind_id = parts[2], parts[5]
    kind, _, ident = kind_id.partition("/")
    if service == "ec2" and kind == "instance":
        instance = getattr(getattr(lab, "ec2", None), "instances", {}).get(ident)
        return dict(instance.tags) if instance is not None else {}
    if service == "fis" and kind in ("experiment-template", "experiment"):
        fis = getattr(lab, "fis", None)
        getter = "get_experiment_template" if kind == "experiment-template" else "get_experiment"
        try:
            found = getattr(fis, getter)(ident) if fis is not None else {}
        except AwsError:
            return {}
        return dict(found.get("tags") or {})
    return {}
