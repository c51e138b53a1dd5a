"""EC2's volume rules on the fake runtime: an instance boots with a root and a data volume in its
AZ, attached as DescribeInstances and DescribeVolumes say, the data volume's directory is named to
its programs, a stopped instance keeps its data and a terminated one's volumes are deleted."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fake_lab import fake_lab, until

from chaoslab.runtime.volume import RESOURCE_KIND, IoVolume
from chaoslab.services.ec2.volumes import DATA_DEVICE, ROOT_DEVICE
from chaoslab.store import Store


def test_an_instance_has_a_root_and_a_data_volume(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1b"))
        volumes = lab.ec2.describe_volume_records()
        assert [(v["Attachments"][0]["Device"], v["AvailabilityZone"], v["State"]) for v in volumes] == [
            (ROOT_DEVICE, "us-east-1b", "in-use"),
            (DATA_DEVICE, "us-east-1b", "in-use"),
        ]
        assert {v["Attachments"][0]["InstanceId"] for v in volumes} == {inst.instance_id}
        [record] = lab.ec2.describe_instance_records()
        assert [m["Ebs"]["VolumeId"] for m in record["BlockDeviceMappings"]] == [v["VolumeId"] for v in volumes]
        [app] = lab.runtime.running(f"{inst.instance_id}/app")
        data = Path(app.spec.env["CHAOSLAB_VOLUME_SDF"])
        assert data == inst.unit.workdir / "data"
        (data / "kept").write_text("x")  # the fake lab's volumes are plain: the data still lands there
        await lab.ec2.stop_instances([inst.instance_id])
        await until(lambda: inst.state == "stopped")
        await lab.ec2.start_instances([inst.instance_id])
        await until(lambda: inst.state == "running")
        assert (data / "kept").read_text() == "x"
        await lab.ec2.terminate_instances([inst.instance_id])
        await until(lambda: inst.state == "terminated")
        assert lab.ec2.describe_volume_records() == []
        assert not (tmp_path / "volumes" / volumes[1]["VolumeId"]).exists()
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_a_fake_labs_volume_says_why_it_cannot_be_faulted(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"))
        data = inst.volumes[1].io
        assert not data.faultable and data.unfaultable == "this lab runs its volumes without I/O servers"
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_a_plain_volume_mounts_before_its_units_directory_exists(tmp_path: Path) -> None:
    """The unit's directory is made while the volume mounts (regression: the link had no parent)."""
    store = Store(tmp_path / "lab.db")
    mountpoint = tmp_path / "units" / "i-1" / "data"
    volume = IoVolume(store, "run", "vol-1", tmp_path / "volumes" / "vol-1", mountpoint, serve=False)
    asyncio.run(volume.mount())
    (mountpoint / "x").write_text("y")
    assert (volume.backing / "x").read_text() == "y" and store.owned_resources(RESOURCE_KIND) == []
