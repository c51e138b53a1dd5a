"""EC2 operations: the describe/stop subset FIS, the seeds and the AWS CLI use; launching
(`api_instances`) and launch templates (`api_templates`) have their own modules."""

from __future__ import annotations

import fnmatch
from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.errors import AwsError
from chaoslab.services.ec2 import api_instances, api_network_acls, api_security_groups, api_templates, api_volumes
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.filters import request_filters
from chaoslab.services.ec2.models import az_id
from chaoslab.services.ec2.paging import INSTANCE_PAGES, PAGES, page
from chaoslab.types import ApiHandler


def _ec2(ctx: Ctx) -> Ec2Backend:
    return ctx.lab.ec2


def _field(record: dict[str, Any], path: str) -> list[str]:
    """Values at a DescribeInstances filter name (`instance-state-name`, `tag:Project`, …)."""
    if path.startswith("tag:"):
        key = path[4:]
        return [t["Value"] for t in record.get("Tags", []) if t["Key"] == key]
    state = record.get("State")
    simple = {
        "instance-id": record.get("InstanceId"),
        "instance-state-name": state.get("Name") if isinstance(state, dict) else None,
        "state": state if isinstance(state, str) else None,
        "availability-zone": record.get("Placement", {}).get("AvailabilityZone") or record.get("AvailabilityZone"),
        "subnet-id": record.get("SubnetId"),
        "vpc-id": record.get("VpcId"),
        "private-ip-address": record.get("PrivateIpAddress"),
        "instance-type": record.get("InstanceType"),
        "image-id": record.get("ImageId"),
        "cidr-block": record.get("CidrBlock"),
        "tag-key": None,
    }
    if path == "tag-key":
        return [t["Key"] for t in record.get("Tags", [])]
    if path not in simple:
        raise AwsError(
            "InvalidParameterValue",
            f"The filter '{path}' is invalid; chaoslab supports: " + ", ".join(sorted([*simple, "tag:<key>"])),
        )
    value = simple[path]
    return [value] if value is not None else []


def _matches(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        values = _field(record, f["Name"])
        if not any(fnmatch.fnmatchcase(v, pattern) for v in values for pattern in f.get("Values", [])):
            return False
    return True


def describe_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """One reservation per instance, paged by instance, in launch order."""
    ids = p.get("InstanceIds") or []
    if ids and p.get("MaxResults") is not None:
        raise AwsError(
            "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults"
        )
    filters = request_filters(p)
    records = _ec2(ctx).describe_instance_records()
    for iid in ids:
        _ec2(ctx).get(iid)
    if ids:
        records = [r for r in records if r["InstanceId"] in ids]
    records = [r for r in records if _matches(r, filters)]
    account = ctx.account_id
    reservations = [
        {"ReservationId": "r-" + r["InstanceId"][2:], "OwnerId": account, "Instances": [r]} for r in records
    ]
    return page(INSTANCE_PAGES, reservations, p, "Reservations")


async def stop_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"StoppingInstances": await _ec2(ctx).stop_instances(p["InstanceIds"], bool(p.get("Force")))}


async def start_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"StartingInstances": await _ec2(ctx).start_instances(p["InstanceIds"])}


async def terminate_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"TerminatingInstances": await _ec2(ctx).terminate_instances(p["InstanceIds"])}


async def reboot_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    await _ec2(ctx).reboot_instances(p["InstanceIds"])
    return {}


def describe_subnets(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    filters = request_filters(p)
    records = _ec2(ctx).describe_subnet_records()
    if p.get("SubnetIds"):
        records = [r for r in records if r["SubnetId"] in p["SubnetIds"]]
    return page(PAGES, [r for r in records if _matches(r, filters)], p, "Subnets")


def describe_vpcs(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    vpcs = [
        {
            "VpcId": v.vpc_id,
            "CidrBlock": v.cidr,
            "State": "available",
            "OwnerId": ctx.account_id,
            "IsDefault": False,
            "Tags": [{"Key": k, "Value": val} for k, val in v.tags.items()],
        }
        for v in _ec2(ctx).vpcs.values()
    ]
    return page(PAGES, vpcs, p, "Vpcs")


def describe_availability_zones(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "AvailabilityZones": [
            {
                "ZoneName": az,
                "ZoneId": az_id(az),
                "State": "available",
                "RegionName": ctx.region,
                "ZoneType": "availability-zone",
                "OptInStatus": "opt-in-not-required",
            }
            for az in _ec2(ctx).availability_zones()
        ]
    }


def _checked_tags(tags: list[dict[str, Any]], values: bool) -> list[dict[str, Any]]:
    """EC2's tag restrictions: a key of 1-128 characters not starting with `aws:`, a value of at
    most 256 (control characters are refused by the wire layer for every XML service)."""
    for tag in tags:
        key = tag.get("Key")
        if not key or len(key) > 128:
            raise AwsError("InvalidParameterValue", "Tag keys must be 1 to 128 characters long.")
        if values and key.lower().startswith("aws:"):
            raise AwsError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use.")
        if len(tag.get("Value") or "") > 256:
            raise AwsError("InvalidParameterValue", f"Tag value for key '{key}' must be at most 256 characters long.")
    return tags


def create_tags(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    tags = _checked_tags(p.get("Tags") or [], values=True)
    _ec2(ctx).tag(p["Resources"], {t["Key"]: t.get("Value", "") for t in tags})
    return {}


def delete_tags(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    tags = p.get("Tags")
    _ec2(ctx).untag(p["Resources"], None if tags is None else _checked_tags(tags, values=False))
    return {}


OPERATIONS: dict[str, ApiHandler] = {
    "DescribeInstances": describe_instances,
    "StopInstances": stop_instances,
    "StartInstances": start_instances,
    "TerminateInstances": terminate_instances,
    "RebootInstances": reboot_instances,
    "DescribeSubnets": describe_subnets,
    "DescribeVpcs": describe_vpcs,
    "DescribeAvailabilityZones": describe_availability_zones,
    "CreateTags": create_tags,
    "DeleteTags": delete_tags,
    **api_instances.OPERATIONS,
    **api_templates.OPERATIONS,
    **api_volumes.OPERATIONS,
    **api_security_groups.OPERATIONS,
    **api_network_acls.OPERATIONS,
}
