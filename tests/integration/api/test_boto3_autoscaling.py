"""Auto Scaling with unmodified boto3 against a real lab: a group's members are real instances,
capacity changes launch and retire them, activities are recorded, and errors are ValidationError
as AWS answers them."""

from __future__ import annotations

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "asgtest",
        {
            "auto_scaling_groups": [
                {
                    "name": "web-asg",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 1,
                    "max": 3,
                    "desired": 2,
                    "tags": {"Project": "chaos-lab"},
                }
            ]
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("asg"), doc)
    yield handle
    stop_and_check(handle)


@pytest.fixture(scope="module")
def asg(lab: LabHandle):
    return lab.client("autoscaling")


def _in_service(asg) -> list[dict]:
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    return [i for i in group["Instances"] if i["LifecycleState"] == "InService"]


def test_group_members_are_real_instances(lab: LabHandle, asg) -> None:
    members = wait_for(lambda: len(_in_service(asg)) == 2 and _in_service(asg), 30, "two members in service")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (1, 3, 2)
    assert {t["Key"]: t["Value"] for t in group["Tags"]}["Project"] == "chaos-lab"
    assert {m["AvailabilityZone"] for m in members} == {"us-east-1a", "us-east-1b"}
    ids = {m["InstanceId"] for m in members}
    described = asg.describe_auto_scaling_instances(InstanceIds=sorted(ids))["AutoScalingInstances"]
    assert {d["AutoScalingGroupName"] for d in described} == {"web-asg"}
    running = {
        i["InstanceId"]
        for r in lab.client("ec2").describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    }
    assert ids <= running

    asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=3)
    wait_for(lambda: len(_in_service(asg)) == 3, 30, "a third member launched")
    asg.update_auto_scaling_group(AutoScalingGroupName="web-asg", MaxSize=2, DesiredCapacity=1, MinSize=1)
    wait_for(lambda: len(_in_service(asg)) == 1, 30, "scale-in to one member")
    activities = asg.describe_scaling_activities(AutoScalingGroupName="web-asg")["Activities"]
    descriptions = " | ".join(a["Description"] for a in activities)
    assert "Launching a new EC2 instance" in descriptions and "Terminating EC2 instance" in descriptions


def test_errors_are_validation_errors(asg) -> None:
    with pytest.raises(ClientError) as err:
        asg.set_desired_capacity(AutoScalingGroupName="web-asg", DesiredCapacity=9)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as err:
        asg.set_desired_capacity(AutoScalingGroupName="no-such-group", DesiredCapacity=1)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as err:
        asg.create_auto_scaling_group(
            AutoScalingGroupName="x",
            MinSize=1,
            MaxSize=1,
            LaunchTemplate={"LaunchTemplateName": "no-such-template"},
            AvailabilityZones=["us-east-1a"],
        )
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=["no-such-group"])["AutoScalingGroups"] == []


def test_a_group_created_through_the_api_is_real(lab: LabHandle, asg) -> None:
    subnets = ",".join(s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"])
    asg.create_auto_scaling_group(
        AutoScalingGroupName="api-made",
        MinSize=1,
        MaxSize=2,
        DesiredCapacity=1,
        LaunchTemplate={"LaunchTemplateName": "web-asg-lt"},
        VPCZoneIdentifier=subnets,
    )

    def member() -> list[dict]:
        group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["api-made"])["AutoScalingGroups"][0]
        return [i for i in group["Instances"] if i["LifecycleState"] == "InService"]

    iid = wait_for(member, 30, "the API-made group's instance in service")[0]["InstanceId"]
    assert iid in {i["id"] for i in lab.status()["instances"] if i["state"] == "running"}
    asg.delete_auto_scaling_group(AutoScalingGroupName="api-made", ForceDelete=True)
    wait_for(
        lambda: not asg.describe_auto_scaling_groups(AutoScalingGroupNames=["api-made"])["AutoScalingGroups"],
        30,
        "the group deleted",
    )
    state = lab.client("ec2").describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")
