"""EBS volumes as the lab's instances have them: every instance boots with a root volume (the
host's userland, so a record only) and a data volume whose I/O is real and faultable
(`runtime.volume.IoVolume`), mounted in the unit at the instance's `data` directory and named to
its programs in `CHAOSLAB_VOLUME_SDF`. Both live and die with the instance (DeleteOnTermination),
and a stopped instance keeps its data."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaoslab.ids import hex_id
from chaoslab.runtime.volume import IoVolume
from chaoslab.store import Store

ROOT_DEVICE = "/dev/xvda"
DATA_DEVICE = "/dev/sdf"
ROOT_SIZE_GIB = 8
DATA_SIZE_GIB = 20


def env_name(device: str) -> str:
    """The variable that names a device's mount point to the unit: /dev/sdf -> CHAOSLAB_VOLUME_SDF."""
    return "CHAOSLAB_VOLUME_" + device.rsplit("/", 1)[-1].upper()


@dataclass
class EbsVolume:
    """One gp3 volume attached to one instance. `io` is the data volume's real I/O (None for a
    root volume, which is the host's own filesystem)."""

    volume_id: str
    az: str
    size: int
    device: str
    instance_id: str
    io: IoVolume | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    state: str = "in-use"

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:ec2:{region}:{account}:volume/{self.volume_id}"

    def attachment(self) -> dict[str, Any]:
        return {
            "VolumeId": self.volume_id,
            "InstanceId": self.instance_id,
            "Device": self.device,
            "State": "attached",
            "AttachTime": datetime.fromtimestamp(self.created, UTC),
            "DeleteOnTermination": True,
        }

    def to_record(self) -> dict[str, Any]:
        """DescribeVolumes' shape."""
        return {
            "VolumeId": self.volume_id,
            "Size": self.size,
            "AvailabilityZone": self.az,
            "State": self.state,
            "VolumeType": "gp3",
            "Iops": 3000,
            "Throughput": 125,
            "Encrypted": False,
            "MultiAttachEnabled": False,
            "CreateTime": datetime.fromtimestamp(self.created, UTC),
            "Attachments": [self.attachment()] if self.state == "in-use" else [],
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
        }

    def block_device_mapping(self) -> dict[str, Any]:
        """DescribeInstances' BlockDeviceMappings entry."""
        return {
            "DeviceName": self.device,
            "Ebs": {
                "VolumeId": self.volume_id,
                "Status": "attached",
                "AttachTime": datetime.fromtimestamp(self.created, UTC),
                "DeleteOnTermination": True,
            },
        }


def instance_volumes(
    store: Store, lab_run: str, home: Path, instance_id: str, az: str, mountpoint: Path, *, serve: bool
) -> list[EbsVolume]:
    """An instance's root and data volumes; the data volume's I/O is mounted by `mount`
    (through an I/O server when `serve`)."""
    root = EbsVolume("vol-" + hex_id(17), az, ROOT_SIZE_GIB, ROOT_DEVICE, instance_id)
    data_id = "vol-" + hex_id(17)
    io = IoVolume(store, lab_run, data_id, home / "volumes" / data_id, mountpoint, serve=serve)
    return [root, EbsVolume(data_id, az, DATA_SIZE_GIB, DATA_DEVICE, instance_id, io)]


async def mount(volumes: list[EbsVolume]) -> None:
    for v in volumes:
        if v.io is not None:
            await v.io.mount()


async def release(volumes: list[EbsVolume]) -> None:
    """The instance is gone: unmount its volumes and mark them deleted (DeleteOnTermination)."""
    for v in volumes:
        if v.state == "deleted":
            continue
        if v.io is not None:
            await v.io.unmount()
            shutil.rmtree(v.io.root, ignore_errors=True)
        v.state = "deleted"
