"""Security group operations: groups, their rules, and an instance's groups. Every change of
rules or membership is in force (the units' chains rewritten) when the call answers."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.errors import AwsError
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.filters import filtered, request_filters
from chaoslab.services.ec2.paging import PAGES, page
from chaoslab.services.ec2.security_groups import Rule, SecurityGroup
from chaoslab.types import ApiHandler


def _ec2(ctx: Ctx) -> Ec2Backend:
    ec2: Ec2Backend = ctx.lab.ec2
    return ec2


def _tags(p: dict[str, Any], resource: str) -> dict[str, str]:
    return {
        t["Key"]: t.get("Value", "")
        for spec in p.get("TagSpecifications") or []
        if spec.get("ResourceType") == resource
        for t in spec.get("Tags") or []
    }


def create_security_group(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2 = _ec2(ctx)
    vpc_id = p.get("VpcId") or ec2.default_vpc().vpc_id
    if vpc_id not in ec2.vpcs:
        raise AwsError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
    group = ec2.security_groups.create(p["GroupName"], p["Description"], vpc_id, _tags(p, "security-group"))
    record = group.to_record(ctx.account_id, ctx.region)
    return {"GroupId": group.group_id, "SecurityGroupArn": record["SecurityGroupArn"], "Tags": record["Tags"]}


async def delete_security_group(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    group = _ec2(ctx).security_groups.delete(p.get("GroupId"), p.get("GroupName"))
    await _ec2(ctx).firewall.refresh()
    return {"Return": True, "GroupId": group.group_id}


_GROUP_FILTERS = {
    "group-id": lambda g: [g.group_id],
    "group-name": lambda g: [g.name],
    "vpc-id": lambda g: [g.vpc_id],
    "description": lambda g: [g.description],
}


def _group_values(group: SecurityGroup, name: str) -> list[str]:
    if name.startswith("tag:"):
        return [v for k, v in group.tags.items() if k == name[4:]]
    if name not in _GROUP_FILTERS:
        raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    return list(_GROUP_FILTERS[name](group))


def describe_security_groups(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    registry = _ec2(ctx).security_groups
    groups = list(registry.groups.values())
    if p.get("GroupIds"):
        groups = [registry.get(gid) for gid in p["GroupIds"]]
    if p.get("GroupNames"):
        groups = [registry.find(None, name) for name in p["GroupNames"]]
    groups = filtered(groups, request_filters(p), _group_values)
    return page(PAGES, [g.to_record(ctx.account_id, ctx.region) for g in groups], p, "SecurityGroups")


def _rule_values(rule: Rule, name: str) -> list[str]:
    if name == "group-id":
        return [rule.group_id]
    if name == "security-group-rule-id":
        return [rule.rule_id]
    raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")


def describe_security_group_rules(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    rules = _ec2(ctx).security_groups.all_rules()
    if p.get("SecurityGroupRuleIds"):
        wanted = set(p["SecurityGroupRuleIds"])
        missing = wanted - {r.rule_id for r in rules}
        if missing:
            rid = sorted(missing)[0]
            raise AwsError("InvalidSecurityGroupRuleId.NotFound", f"The security group rule ID '{rid}' does not exist")
        rules = [r for r in rules if r.rule_id in wanted]
    rules = filtered(rules, request_filters(p), _rule_values)
    return page(PAGES, [r.to_record(ctx.account_id, ctx.region) for r in rules], p, "SecurityGroupRules")


def _permissions(p: dict[str, Any]) -> list[dict[str, Any]]:
    """IpPermissions, or the older flat members (CidrIp, IpProtocol, ports, source group name)."""
    perms = list(p.get("IpPermissions") or [])
    if p.get("CidrIp") or p.get("SourceSecurityGroupName"):
        perm: dict[str, Any] = {"IpProtocol": p.get("IpProtocol") or "-1"}
        if p.get("FromPort") is not None:
            perm["FromPort"], perm["ToPort"] = p["FromPort"], p.get("ToPort")
        if p.get("CidrIp"):
            perm["IpRanges"] = [{"CidrIp": p["CidrIp"]}]
        else:
            perm["UserIdGroupPairs"] = [{"GroupName": p["SourceSecurityGroupName"]}]
        perms.append(perm)
    return perms


def _authorizer(egress: bool) -> ApiHandler:
    async def authorize(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        ec2 = _ec2(ctx)
        group = ec2.security_groups.find(p.get("GroupId"), p.get("GroupName"))
        rules = ec2.security_groups.parse(group, egress, _permissions(p))
        if not rules:
            raise AwsError("MissingParameter", "The request must contain the parameter ipPermissions")
        ec2.security_groups.authorize(group, rules)
        await ec2.firewall.refresh()
        return {"Return": True, "SecurityGroupRules": [r.to_record(ctx.account_id, ctx.region) for r in rules]}

    return authorize


def _revoked(rule: Rule) -> dict[str, Any]:
    record: dict[str, Any] = {
        "SecurityGroupRuleId": rule.rule_id,
        "GroupId": rule.group_id,
        "IsEgress": rule.egress,
        "IpProtocol": rule.protocol,
        "FromPort": -1 if rule.from_port is None else rule.from_port,
        "ToPort": -1 if rule.to_port is None else rule.to_port,
    }
    if rule.cidr:
        record["CidrIpv4"] = rule.cidr
    if rule.group:
        record["ReferencedGroupId"] = rule.group
    if rule.description:
        record["Description"] = rule.description
    return record


def _revoker(egress: bool) -> ApiHandler:
    async def revoke(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        ec2 = _ec2(ctx)
        group = ec2.security_groups.find(p.get("GroupId"), p.get("GroupName"))
        wanted = ec2.security_groups.parse(group, egress, _permissions(p))
        gone = ec2.security_groups.revoke(group, egress, wanted, list(p.get("SecurityGroupRuleIds") or []))
        await ec2.firewall.refresh()
        return {"Return": True, "RevokedSecurityGroupRules": [_revoked(r) for r in gone]}

    return revoke


async def modify_instance_attribute(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """An instance's security groups (`Groups`), replaced in force on its interface at once;
    the lab changes no other attribute of an instance."""
    ec2 = _ec2(ctx)
    inst = ec2.get(p["InstanceId"])
    if not p.get("Groups"):
        raise AwsError("InvalidParameterCombination", "The lab modifies only an instance's security groups (Groups).")
    inst.security_groups = ec2.resolve_groups(p["Groups"], inst.subnet)
    await ec2.set_groups(inst.instance_id, inst.security_groups)
    return {}


OPERATIONS: dict[str, ApiHandler] = {
    "CreateSecurityGroup": create_security_group,
    "DeleteSecurityGroup": delete_security_group,
    "DescribeSecurityGroups": describe_security_groups,
    "DescribeSecurityGroupRules": describe_security_group_rules,
    "AuthorizeSecurityGroupIngress": _authorizer(egress=False),
    "AuthorizeSecurityGroupEgress": _authorizer(egress=True),
    "RevokeSecurityGroupIngress": _revoker(egress=False),
    "RevokeSecurityGroupEgress": _revoker(egress=True),
    "ModifyInstanceAttribute": modify_instance_attribute,
}
