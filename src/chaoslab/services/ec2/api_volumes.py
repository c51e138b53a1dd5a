"""DescribeVolumes: the instances' EBS volumes (services/ec2/volumes.py), by id or filter."""

from __future__ import annotations

import fnmatch
from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.errors import AwsError
from chaoslab.services.ec2.filters import request_filters
from chaoslab.services.ec2.paging import VOLUME_PAGES, page
from chaoslab.types import ApiHandler


def _field(record: dict[str, Any], name: str) -> list[str]:
    """Values at one of DescribeVolumes' filter names."""
    if name.startswith("tag:"):
        return [t["Value"] for t in record["Tags"] if t["Key"] == name[4:]]
    attachments = record["Attachments"]
    values: dict[str, list[str]] = {
        "volume-id": [record["VolumeId"]],
        "availability-zone": [record["AvailabilityZone"]],
        "status": [record["State"]],
        "volume-type": [record["VolumeType"]],
        "size": [str(record["Size"])],
        "attachment.instance-id": [a["InstanceId"] for a in attachments],
        "attachment.device": [a["Device"] for a in attachments],
        "attachment.status": [a["State"] for a in attachments],
        "tag-key": [t["Key"] for t in record["Tags"]],
    }
    if name not in values:
        raise AwsError(
            "InvalidParameterValue",
            f"The filter '{name}' is invalid; chaoslab supports: " + ", ".join(sorted([*values, "tag:<key>"])),
        )
    return values[name]


def _matches(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    return all(
        any(fnmatch.fnmatchcase(v, pattern) for v in _field(record, f["Name"]) for pattern in f.get("Values", []))
        for f in filters
    )


def describe_volumes(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    filters = request_filters(p)
    ids = p.get("VolumeIds") or []
    if ids and p.get("MaxResults") is not None:
        raise AwsError(
            "InvalidParameterCombination", "The parameter volumeSet cannot be used with the parameter maxResults"
        )
    for vid in ids:
        ctx.lab.ec2.volume(vid)
    records = [
        r for r in ctx.lab.ec2.describe_volume_records() if (not ids or r["VolumeId"] in ids) and _matches(r, filters)
    ]
    return page(VOLUME_PAGES, records, p, "Volumes")


OPERATIONS: dict[str, ApiHandler] = {"DescribeVolumes": describe_volumes}
