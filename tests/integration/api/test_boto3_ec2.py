"""EC2 with unmodified boto3 against a real lab: instances (real processes launched by an Auto
Scaling group) are described with tags and filters, stopped, started, rebooted and terminated for
real, and errors carry EC2's codes."""

from __future__ import annotations

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    """Two instances whose group does not sweep during the test, so a stopped one stays ours."""
    doc = stack_doc(
        "ec2test",
        {
            "settings": {"asg_health_sweep_seconds": 600, "instance_shutdown_seconds": 1},
            "auto_scaling_groups": [
                {
                    "name": "fleet",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 2,
                    "max": 2,
                    "tags": {"Project": "chaos-lab"},
                }
            ],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("ec2"), doc, fast=False)
    yield handle
    stop_and_check(handle)


@pytest.fixture(scope="module")
def ec2(lab: LabHandle):
    client = lab.client("ec2")
    wait_for(
        lambda: len(_ids(client, [{"Name": "instance-state-name", "Values": ["running"]}])) == 2,
        30,
        "two running instances",
    )
    return client


def _ids(ec2, filters: list[dict]) -> list[str]:
    return sorted(
        i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]
    )


def _state(ec2, iid: str) -> str:
    return ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]


def test_describe_with_tags_filters_subnets_and_zones(ec2) -> None:
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert len(instances) == 2
    assert {i["Placement"]["AvailabilityZone"] for i in instances} == {"us-east-1a", "us-east-1b"}
    tags = {t["Key"]: t["Value"] for t in instances[0]["Tags"]}
    assert tags["Project"] == "chaos-lab" and tags["aws:autoscaling:groupName"] == "fleet"
    assert _ids(ec2, [{"Name": "tag:Project", "Values": ["chaos-lab"]}]) == sorted(i["InstanceId"] for i in instances)
    assert _ids(ec2, [{"Name": "tag:Project", "Values": ["other"]}]) == []
    assert len(_ids(ec2, [{"Name": "availability-zone", "Values": ["us-east-1a"]}])) == 1
    subnets = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}])["Subnets"]
    assert len(subnets) == 1 and subnets[0]["CidrBlock"].endswith(".11.0/24")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert {z["ZoneName"] for z in zones} >= {"us-east-1a", "us-east-1b"}

    ec2.create_tags(Resources=[instances[0]["InstanceId"]], Tags=[{"Key": "Role", "Value": "WorkerNode"}])
    assert _ids(ec2, [{"Name": "tag:Role", "Values": ["WorkerNode"]}]) == [instances[0]["InstanceId"]]
    ec2.delete_tags(Resources=[instances[0]["InstanceId"]], Tags=[{"Key": "Role"}])
    assert _ids(ec2, [{"Name": "tag-key", "Values": ["Role"]}]) == []


def test_stop_start_reboot_terminate(lab: LabHandle, ec2) -> None:
    first, second = _ids(ec2, [])
    out = ec2.stop_instances(InstanceIds=[first])["StoppingInstances"][0]
    assert out["InstanceId"] == first and out["PreviousState"]["Name"] == "running"
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[first], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    status = {i["id"]: i["state"] for i in lab.status()["instances"]}
    assert status[first] == "stopped"
    ec2.start_instances(InstanceIds=[first])
    ec2.get_waiter("instance_running").wait(InstanceIds=[first], WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    ec2.reboot_instances(InstanceIds=[second])
    wait_for(lambda: _state(ec2, second) == "running", 30, "the rebooted instance running again")

    ec2.terminate_instances(InstanceIds=[second])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[second], WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def test_errors_carry_ec2_codes(ec2) -> None:
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert err.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as err:
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"])
    assert err.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
