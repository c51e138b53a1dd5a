"""Network ACL operations. Every change of entries or associations is in force (the subnet's
units' chains rewritten) when the call answers."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.errors import AwsError
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.filters import filtered, request_filters
from chaoslab.services.ec2.network_acls import NetworkAcl
from chaoslab.services.ec2.paging import PAGES, page
from chaoslab.types import ApiHandler


def _ec2(ctx: Ctx) -> Ec2Backend:
    ec2: Ec2Backend = ctx.lab.ec2
    return ec2


def _record(ctx: Ctx, acl: NetworkAcl) -> dict[str, Any]:
    return acl.to_record(ctx.account_id, _ec2(ctx).network_acls.associations_of(acl.acl_id))


def _values(ctx: Ctx, acl: NetworkAcl, name: str) -> list[str]:
    if name.startswith("tag:"):
        return [v for k, v in acl.tags.items() if k == name[4:]]
    simple = {
        "network-acl-id": [acl.acl_id],
        "vpc-id": [acl.vpc_id],
        "default": ["true" if acl.is_default else "false"],
        "association.subnet-id": [s for _, s in _ec2(ctx).network_acls.associations_of(acl.acl_id)],
        "association.association-id": [a for a, _ in _ec2(ctx).network_acls.associations_of(acl.acl_id)],
    }
    if name not in simple:
        raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return simple[name]


def describe_network_acls(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    registry = _ec2(ctx).network_acls
    acls = [registry.get(i) for i in p["NetworkAclIds"]] if p.get("NetworkAclIds") else list(registry.acls.values())
    acls = filtered(acls, request_filters(p), lambda acl, name: _values(ctx, acl, name))
    return page(PAGES, [_record(ctx, a) for a in acls], p, "NetworkAcls")


def create_network_acl(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    if p["VpcId"] not in ec2.vpcs:
        raise AwsError("InvalidVpcID.NotFound", f"The vpc ID '{p['VpcId']}' does not exist")
    tags = {
        t["Key"]: t.get("Value", "")
        for spec in p.get("TagSpecifications") or []
        if spec.get("ResourceType") == "network-acl"
        for t in spec.get("Tags") or []
    }
    return {"NetworkAcl": _record(ctx, ec2.network_acls.create(p["VpcId"], tags))}


def delete_network_acl(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _ec2(ctx).network_acls.delete(p["NetworkAclId"])
    return {}


async def create_network_acl_entry(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    ec2.network_acls.add_entry(ec2.network_acls.get(p["NetworkAclId"]), ec2.network_acls.entry(p))
    await ec2.firewall.refresh()
    return {}


async def replace_network_acl_entry(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    ec2.network_acls.replace_entry(ec2.network_acls.get(p["NetworkAclId"]), ec2.network_acls.entry(p))
    await ec2.firewall.refresh()
    return {}


async def delete_network_acl_entry(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    ec2.network_acls.remove_entry(ec2.network_acls.get(p["NetworkAclId"]), int(p["RuleNumber"]), bool(p["Egress"]))
    await ec2.firewall.refresh()
    return {}


async def replace_network_acl_association(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    new_id = ec2.network_acls.replace_association(p["AssociationId"], p["NetworkAclId"])
    await ec2.firewall.refresh()
    return {"NewAssociationId": new_id}


OPERATIONS: dict[str, ApiHandler] = {
    "DescribeNetworkAcls": describe_network_acls,
    "CreateNetworkAcl": create_network_acl,
    "DeleteNetworkAcl": delete_network_acl,
    "CreateNetworkAclEntry": create_network_acl_entry,
    "ReplaceNetworkAclEntry": replace_network_acl_entry,
    "DeleteNetworkAclEntry": delete_network_acl_entry,
    "ReplaceNetworkAclAssociation": replace_network_acl_association,
}
