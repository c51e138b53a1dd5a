"""EBS volume I/O faults, through unmodified boto3, on a program that really writes: an instance's
user data appends a timestamped line to its data volume every 10 ms. aws:ebs:pause-volume-io
stops its progress for the action's duration and it resumes after; aws:ebs:volume-io-latency adds
the asked milliseconds to each write; a role without the action's permission changes nothing, and
the root volume (the host's own filesystem) is refused with the reason."""

from __future__ import annotations

import statistics
import textwrap
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.fuse, pytest.mark.timeout(120)]

WRITER = textwrap.dedent(
    """\
    #!/bin/bash
    python3 - <<'EOF' &
    import os, time
    with open(os.path.join(os.environ["CHAOSLAB_VOLUME_SDF"], "ticks"), "a", buffering=1) as f:
        while True:
            f.write(f"{time.time()}\\n")  # line-buffered: one write to the volume per line
            time.sleep(0.01)
    EOF
    echo writing
    """
)
ACTIONS = ["ec2:DescribeVolumes", "ec2:PauseVolumeIO", "ec2:InjectVolumeIOLatency", "tag:GetResources"]


def _role(name: str, actions: list[str]) -> dict[str, Any]:
    trust = {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}
    allow = {"Effect": "Allow", "Action": actions, "Resource": "*"}
    return {
        "name": name,
        "trust": {"Version": "2012-10-17", "Statement": [trust]},
        "policies": {"ebs": {"Version": "2012-10-17", "Statement": [allow]}},
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc("ebstest", {"roles": [_role("fis-ebs", ACTIONS), _role("fis-look", [ACTIONS[0], ACTIONS[3]])]})
    handle = start_lab(tmp_path_factory.mktemp("ebs"), doc)
    yield handle
    stop_and_check(handle)


@pytest.fixture(scope="module")
def writer(lab: LabHandle) -> dict[str, Any]:
    """The writing instance's data volume: its DescribeVolumes record and its backing file, read
    beside the mount (a paused mount would block this test too)."""
    ec2 = lab.client("ec2")
    [inst] = ec2.run_instances(ImageId="ami-0abc", MinCount=1, MaxCount=1, UserData=WRITER)["Instances"]
    [volume] = ec2.describe_volumes(
        Filters=[
            {"Name": "attachment.instance-id", "Values": [inst["InstanceId"]]},
            {"Name": "attachment.device", "Values": ["/dev/sdf"]},
        ]
    )["Volumes"]
    ticks = lab.config.home / "volumes" / volume["VolumeId"] / "data" / "ticks"
    wait_for(lambda: ticks.exists() and len(_stamps(ticks)) > 20, 30, "the writer's first lines")
    return {"instance": inst, "volume": volume, "ticks": ticks}


def _stamps(ticks: Path) -> list[float]:
    return [float(line) for line in ticks.read_text().splitlines() if line.strip()]


def _run(lab: LabHandle, role: str, action_id: str, params: dict[str, str], volume_id: str) -> dict[str, Any]:
    fis = lab.client("fis")
    arn = f"arn:aws:ec2:us-east-1:123456789012:volume/{volume_id}"
    template = fis.create_experiment_template(
        clientToken=uuid.uuid4().hex,
        description="volume I/O",
        roleArn=f"arn:aws:iam::123456789012:role/{role}",
        stopConditions=[{"source": "none"}],
        targets={"vol": {"resourceType": "aws:ec2:ebs-volume", "resourceArns": [arn], "selectionMode": "ALL"}},
        actions={"io": {"actionId": action_id, "parameters": params, "targets": {"Volumes": "vol"}}},
    )["experimentTemplate"]
    eid = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]

    def finished() -> dict[str, Any] | None:
        e = fis.get_experiment(id=eid)["experiment"]
        return e if e["state"]["status"] in ("completed", "stopped", "failed") else None

    return wait_for(finished, 30, "the experiment to end", interval=0.2)


def _window(done: dict[str, Any]) -> tuple[float, float]:
    action = done["actions"]["io"]
    start: datetime = action["startTime"]
    end: datetime = action["endTime"]
    return start.timestamp(), end.timestamp()


def test_the_instance_has_its_volumes(lab: LabHandle, writer: dict[str, Any]) -> None:
    ec2 = lab.client("ec2")
    inst = ec2.describe_instances(InstanceIds=[writer["instance"]["InstanceId"]])["Reservations"][0]["Instances"][0]
    devices = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]}
    assert set(devices) == {"/dev/xvda", "/dev/sdf"} and devices["/dev/sdf"] == writer["volume"]["VolumeId"]
    assert writer["volume"]["AvailabilityZone"] == inst["Placement"]["AvailabilityZone"]


def test_pause_stops_the_writes_for_its_duration_and_they_resume(lab: LabHandle, writer: dict[str, Any]) -> None:
    done = _run(lab, "fis-ebs", "aws:ebs:pause-volume-io", {"duration": "PT2S"}, writer["volume"]["VolumeId"])
    assert done["state"]["status"] == "completed", done["state"]
    start, end = _window(done)
    wait_for(lambda: _stamps(writer["ticks"])[-1] > end + 0.5, 10, "writes after the pause")
    stamps = _stamps(writer["ticks"])
    gaps = [(b - a, a, b) for a, b in zip(stamps, stamps[1:], strict=False)]
    longest, before, after = max(gaps)
    print(f"longest gap between writes {longest:.2f} s; action {end - start:.2f} s")
    # The one write caught by the pause was stamped before it and landed after it: no write
    # landed in between, and the writer went on at its own pace once the pause ended.
    assert longest > 0.8 * (end - start)
    assert before <= start + 0.2 and after >= end - 0.2
    assert sum(1 for t in stamps if t > after) > 20


def test_latency_adds_the_asked_milliseconds_to_each_write(lab: LabHandle, writer: dict[str, Any]) -> None:
    params = {
        "writeIOLatencyMilliseconds": "50",
        "readIOLatencyMilliseconds": "1",
        "duration": "PT2S",
    }
    done = _run(lab, "fis-ebs", "aws:ebs:volume-io-latency", params, writer["volume"]["VolumeId"])
    assert done["state"]["status"] == "completed", done["state"]
    start, end = _window(done)
    wait_for(lambda: _stamps(writer["ticks"])[-1] > end + 1.0, 10, "writes after the latency")
    stamps = _stamps(writer["ticks"])
    pairs = list(zip(stamps, stamps[1:], strict=False))
    during = [b - a for a, b in pairs if start + 0.2 < a and b < end - 0.2]
    later = [b - a for a, b in pairs if a > end + 0.2]
    slow, normal = statistics.median(during), statistics.median(later)
    print(f"median interval between writes: {slow * 1000:.0f} ms with 50 ms latency, {normal * 1000:.0f} ms after")
    assert 0.045 < slow - normal < 0.09


def test_a_role_without_the_permission_changes_nothing(lab: LabHandle, writer: dict[str, Any]) -> None:
    done = _run(lab, "fis-look", "aws:ebs:pause-volume-io", {"duration": "PT1S"}, writer["volume"]["VolumeId"])
    assert done["state"]["status"] == "failed" and "PauseVolumeIO" in done["state"]["reason"], done["state"]
    stamps = _stamps(writer["ticks"])
    assert max(b - a for a, b in zip(stamps[-50:], stamps[-49:], strict=False)) < 0.5


def test_the_root_volume_is_refused_with_the_reason(lab: LabHandle, writer: dict[str, Any]) -> None:
    ec2 = lab.client("ec2")
    [root] = ec2.describe_volumes(
        Filters=[
            {"Name": "attachment.instance-id", "Values": [writer["instance"]["InstanceId"]]},
            {"Name": "attachment.device", "Values": ["/dev/xvda"]},
        ]
    )["Volumes"]
    done = _run(lab, "fis-ebs", "aws:ebs:pause-volume-io", {"duration": "PT1S"}, root["VolumeId"])
    assert done["state"]["status"] == "failed" and "root volume" in done["state"]["reason"], done["state"]
