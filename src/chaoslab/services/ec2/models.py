"""EC2 resources as the lab keeps them; `to_record()` gives the DescribeInstances shape."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chaoslab.runtime.network import VpcNetwork

if TYPE_CHECKING:
    from chaoslab.runtime.unit import ComputeUnit
    from chaoslab.services.ec2.volumes import EbsVolume

CONSOLE_LINES = 2000  # what GetConsoleOutput keeps (AWS keeps the last 64 KB)

# EC2 instance state codes, as DescribeInstances reports them.
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}


@dataclass
class Subnet:
    subnet_id: str
    vpc_id: str
    az: str
    cidr: str
    tags: dict[str, str] = field(default_factory=dict)

    def to_record(self, region: str, account: str) -> dict[str, Any]:
        return {
            "SubnetId": self.subnet_id,
            "VpcId": self.vpc_id,
            "AvailabilityZone": self.az,
            "AvailabilityZoneId": az_id(self.az),
            "CidrBlock": self.cidr,
            "State": "available",
            "SubnetArn": f"arn:aws:ec2:{region}:{account}:subnet/{self.subnet_id}",
            "OwnerId": account,
            "Tags": tag_list(self.tags),
            "AvailableIpAddressCount": 250,
            "DefaultForAz": False,
            "MapPublicIpOnLaunch": False,
        }


@dataclass
class Vpc:
    vpc_id: str
    cidr: str
    network: VpcNetwork
    subnets: dict[str, Subnet]  # by subnet id
    tags: dict[str, str] = field(default_factory=dict)

    def subnet_in(self, az: str) -> Subnet | None:
        return next((s for s in self.subnets.values() if s.az == az), None)


# What AWS applies when RunInstances gives no MetadataOptions (an AMI without IMDSv2-only).
DEFAULT_METADATA_OPTIONS: dict[str, Any] = {
    "HttpTokens": "optional",
    "HttpPutResponseHopLimit": 1,
    "HttpEndpoint": "enabled",
    "HttpProtocolIpv6": "disabled",
    "InstanceMetadataTags": "disabled",
}


@dataclass
class Instance:
    instance_id: str
    image: str
    instance_type: str
    subnet: Subnet
    env: dict[str, str]
    port: int
    tags: dict[str, str] = field(default_factory=dict)
    state: str = "pending"
    state_reason: str | None = None
    launch_time: float = field(default_factory=time.time)
    private_ip: str | None = None
    unit: ComputeUnit | None = None
    spot: bool = False
    user_data: str | None = None  # decoded; run at first boot when it is a #! script
    launch_template: dict[str, str] | None = None  # {LaunchTemplateId, LaunchTemplateName, Version}
    wait_serving: bool = True  # pending until `port` accepts connections (the lab's "boot")
    booted: bool = False
    console: deque[str] = field(default_factory=lambda: deque(maxlen=CONSOLE_LINES))
    volumes: list[EbsVolume] = field(default_factory=list)  # root first, from its first boot
    # RunInstances' MetadataOptions as AWS applies them (HttpTokens optional unless asked).
    metadata_options: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_METADATA_OPTIONS))
    security_groups: tuple[str, ...] = ()  # group ids, resolved at launch

    @property
    def az(self) -> str:
        return self.subnet.az

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:ec2:{region}:{account}:instance/{self.instance_id}"

    def to_record(self, account: str, group_names: dict[str, str] | None = None) -> dict[str, Any]:
        """`group_names`: id → name of the instance's security groups, for its SecurityGroups."""
        names = group_names or {}
        record: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "ImageId": self.image,
            "InstanceType": self.instance_type,
            "LaunchTime": datetime.fromtimestamp(self.launch_time, UTC),
            "State": {"Code": STATE_CODES[self.state], "Name": self.state},
            "Placement": {"AvailabilityZone": self.az, "Tenancy": "default"},
            "SubnetId": self.subnet.subnet_id,
            "VpcId": self.subnet.vpc_id,
            "PrivateIpAddress": self.private_ip,
            "PrivateDnsName": f"ip-{self.private_ip.replace('.', '-')}.ec2.internal" if self.private_ip else "",
            "Tags": tag_list(self.tags),
            "Architecture": "x86_64",
            "Monitoring": {"State": "disabled"},
            "RootDeviceType": "ebs",
            "RootDeviceName": "/dev/xvda",
            "BlockDeviceMappings": [v.block_device_mapping() for v in self.volumes if v.state == "in-use"],
            "MetadataOptions": {"State": "applied", **self.metadata_options},
            "SecurityGroups": [{"GroupId": g, "GroupName": names.get(g, "")} for g in self.security_groups],
        }
        if self.spot:
            record["InstanceLifecycle"] = "spot"
        if self.state_reason:
            record["StateReason"] = {"Code": self.state_reason, "Message": self.state_reason}
            record["StateTransitionReason"] = self.state_reason
        return record


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def az_id(az: str) -> str:
    """us-east-1a -> use1-az1: the zone id shape FIS's availabilityZoneIdentifier also accepts."""
    region, letter = az[:-1], az[-1]
    parts = region.split("-")
    short = parts[0][:2] + parts[1][0] + parts[2] if len(parts) == 3 else region
    return f"{short}-az{ord(letter) - ord('a') + 1}"
