"""RunInstances and GetConsoleOutput: launching from an image or a launch template, with user data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.errors import AwsError
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.launch_templates import launch_groups
from chaoslab.services.ec2.models import Subnet
from chaoslab.services.ec2.userdata import decode_user_data
from chaoslab.types import ApiHandler

MAX_PER_REQUEST = 20  # the lab's own limit: every instance is a real process tree
DEFAULT_INSTANCE_TYPE = "m1.small"  # EC2's default when neither the request nor its template names one


def _launch_data(ec2: Ec2Backend, p: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The launch template version's data with the request's own members over it (EC2: request
    parameters override the template's), and the template reference for the instances."""
    ref = p.get("LaunchTemplate")
    if not ref:
        return dict(p), None
    template = ec2.launch_templates.get(ref.get("LaunchTemplateId"), ref.get("LaunchTemplateName"))
    version = template.version(ref.get("Version"))
    used = {
        "LaunchTemplateId": template.template_id,
        "LaunchTemplateName": template.name,
        "Version": str(version.number),
    }
    return {**version.data, **{k: v for k, v in p.items() if v not in (None, [], {})}}, used


def _subnet(ec2: Ec2Backend, data: dict[str, Any]) -> Subnet:
    nics = data.get("NetworkInterfaces") or []
    subnet_id = data.get("SubnetId") or next((n["SubnetId"] for n in nics if n.get("SubnetId")), None)
    if subnet_id:
        return ec2.subnet(subnet_id)
    zone = (data.get("Placement") or {}).get("AvailabilityZone")
    if zone:
        return ec2.subnet(zone)
    return next(iter(ec2.default_vpc().subnets.values()))


def requested_capacity(ec2: Ec2Backend, p: dict[str, Any]) -> tuple[str, str]:
    """The zone and instance type a RunInstances request asks capacity for (its launch template's
    where the request names none). Raises the AwsError RunInstances itself would."""
    data, _ = _launch_data(ec2, p)
    return _subnet(ec2, data).az, data.get("InstanceType") or DEFAULT_INSTANCE_TYPE


def run_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ec2: Ec2Backend = ctx.lab.ec2
    data, template = _launch_data(ec2, p)
    image = data.get("ImageId")
    if not image:
        raise AwsError("MissingParameter", "The request must contain the parameter ImageId")
    low, high = int(p["MinCount"]), int(p["MaxCount"])
    if not 1 <= low <= high:
        raise AwsError("InvalidParameterValue", "MinCount must be at least 1 and at most MaxCount.")
    if low > MAX_PER_REQUEST:
        raise AwsError(
            "InstanceLimitExceeded",
            f"You have requested more instances ({low}) than the lab launches per request ({MAX_PER_REQUEST}).",
        )
    user_data = decode_user_data(data["UserData"]) if data.get("UserData") else None
    tags = {
        t["Key"]: t.get("Value", "")
        for spec in data.get("TagSpecifications") or []
        if spec.get("ResourceType") == "instance"
        for t in spec.get("Tags") or []
    }
    subnet = _subnet(ec2, data)
    spot = (data.get("InstanceMarketOptions") or {}).get("MarketType") == "spot"
    launched = [
        ec2.launch_instance(
            image,
            subnet,
            tags=tags,
            instance_type=data.get("InstanceType") or DEFAULT_INSTANCE_TYPE,
            spot=spot,
            user_data=user_data,
            launch_template=template,
            metadata_options=data.get("MetadataOptions"),
            security_groups=launch_groups(data),
        )
        for _ in range(min(high, MAX_PER_REQUEST))
    ]
    for inst in launched:
        ec2.boot_soon(inst)
    first = launched[0].instance_id
    names = {g.group_id: g.name for g in ec2.security_groups.groups.values()}
    return {
        "ReservationId": "r-" + first[2:],
        "OwnerId": ctx.account_id,
        "Groups": [{"GroupId": g, "GroupName": names[g]} for g in launched[0].security_groups],
        "Instances": [i.to_record(ctx.account_id, names) for i in launched],
    }


def get_console_output(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """The instance's console: its user data script's output (and what that script's programs print)."""
    inst = ctx.lab.ec2.get(p["InstanceId"])
    text = "".join(line + "\n" for line in inst.console)
    return {
        "InstanceId": inst.instance_id,
        "Timestamp": datetime.now(UTC),
        "Output": base64.b64encode(text.encode()).decode(),
    }


OPERATIONS: dict[str, ApiHandler] = {
    "RunInstances": run_instances,
    "GetConsoleOutput": get_console_output,
}
