"""Instance refresh with unmodified boto3 against a real lab: a group of two behind the ALB is
rolled onto a new launch template version with MinHealthyPercentage 50, one instance at a time,
while a request loop through the ALB keeps getting answers; a second refresh meanwhile is refused;
a refresh pauses at its checkpoint and rolls back, by request or on its alarm."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    doc = stack_doc(
        "refresh",
        {
            "target_groups": [{"name": "web-tg", "port": 80, "health_check": {"path": "/health"}}],
            "load_balancers": [{"name": "web-alb", "listeners": [{"port": 0, "target_group": "web-tg"}]}],
            "auto_scaling_groups": [
                {
                    "name": "web",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 2,
                    "max": 3,
                    "desired": 2,
                    "target_groups": ["web-tg"],
                }
            ],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("refresh"), doc)  # ready = every target healthy
    yield handle
    stop_and_check(handle)


class RequestLoop:
    """GETs through the ALB every 50 ms on a thread; counts the answers that are not 2xx."""

    def __init__(self, url: str) -> None:
        self.url, self.sent, self.failed = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url, timeout=2) as resp:
                    self.failed += not 200 <= resp.status < 300
            except (urllib.error.URLError, OSError):
                self.failed += 1
            time.sleep(0.05)

    def __enter__(self) -> RequestLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_refresh_replaces_every_instance_while_the_alb_keeps_serving(lab: LabHandle) -> None:
    asg, ec2, elb = lab.client("autoscaling"), lab.client("ec2"), lab.client("elbv2")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    template = group["LaunchTemplate"]["LaunchTemplateName"]
    before = {i["InstanceId"] for i in group["Instances"]}
    assert len(before) == 2
    new = ec2.create_launch_template_version(
        LaunchTemplateName=template, SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.small"}
    )["LaunchTemplateVersion"]["VersionNumber"]
    lb = elb.describe_load_balancers(Names=["web-alb"])["LoadBalancers"][0]
    port = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]["Port"]

    started = time.monotonic()
    with RequestLoop(f"http://127.0.0.1:{port}/health") as loop:
        refresh_id = asg.start_instance_refresh(
            AutoScalingGroupName="web",
            DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateName": template, "Version": str(new)}},
            Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 1},
        )["InstanceRefreshId"]
        with pytest.raises(ClientError) as err:
            asg.start_instance_refresh(AutoScalingGroupName="web")
        assert err.value.response["Error"]["Code"] == "InstanceRefreshInProgress"

        def finished() -> dict | None:
            (run,) = asg.describe_instance_refreshes(AutoScalingGroupName="web", InstanceRefreshIds=[refresh_id])[
                "InstanceRefreshes"
            ]
            return run if run["Status"] not in ("Pending", "InProgress") else None

        run = wait_for(finished, 60, "the refresh to end")
    elapsed = time.monotonic() - started
    print(f"refresh of 2 took {elapsed:.1f} s; {loop.failed} of {loop.sent} requests through the ALB failed")

    assert (run["Status"], run["PercentageComplete"], run["InstancesToUpdate"]) == ("Successful", 100, 0)
    assert loop.sent > 20 and loop.failed <= 2, f"{loop.failed} of {loop.sent} requests failed"
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    members = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
    assert len(members) == 2 and not {m["InstanceId"] for m in members} & before
    assert {m["LaunchTemplate"]["Version"] for m in members} == {str(new)}
    assert group["LaunchTemplate"]["Version"] == str(new)
    causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName="web")["Activities"]]
    assert sum("in response to an instance refresh" in c for c in causes) == 2

    with pytest.raises(ClientError) as err:
        asg.cancel_instance_refresh(AutoScalingGroupName="web")
    assert err.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"


def test_skip_matching_has_nothing_to_do_and_a_cancel_ends_a_refresh(lab: LabHandle) -> None:
    asg = lab.client("autoscaling")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    lt = group["LaunchTemplate"]
    current = {"LaunchTemplate": {"LaunchTemplateName": lt["LaunchTemplateName"], "Version": lt["Version"]}}
    skip = asg.start_instance_refresh(
        AutoScalingGroupName="web",
        DesiredConfiguration=current,
        Preferences={"SkipMatching": True, "InstanceWarmup": 0},
    )["InstanceRefreshId"]

    def status(refresh_id: str) -> dict:
        (run,) = asg.describe_instance_refreshes(AutoScalingGroupName="web", InstanceRefreshIds=[refresh_id])[
            "InstanceRefreshes"
        ]
        return run

    run = wait_for(lambda: status(skip)["Status"] == "Successful" and status(skip), 10, "nothing to replace")
    assert (run["PercentageComplete"], run["InstancesToUpdate"]) == (100, 0)
    assert run["Preferences"]["SkipMatching"] is True

    cancelled = asg.start_instance_refresh(AutoScalingGroupName="web", Preferences={"InstanceWarmup": 0})
    assert (
        asg.cancel_instance_refresh(AutoScalingGroupName="web")["InstanceRefreshId"] == cancelled["InstanceRefreshId"]
    )
    wait_for(lambda: status(cancelled["InstanceRefreshId"])["Status"] == "Cancelled", 10, "the refresh cancelled")
    with pytest.raises(ClientError) as err:
        asg.start_instance_refresh(
            AutoScalingGroupName="web", Preferences={"MinHealthyPercentage": 20, "MaxHealthyPercentage": 150}
        )
    assert err.value.response["Error"]["Code"] == "ValidationError"
    listed = asg.describe_instance_refreshes(AutoScalingGroupName="web", MaxRecords=1)
    assert len(listed["InstanceRefreshes"]) == 1 and "NextToken" in listed


def test_a_refresh_pauses_at_its_checkpoint_and_rolls_back(lab: LabHandle) -> None:
    """Checkpoints at 50 and 100 %: one of two replaced, then the refresh waits (the hour's delay
    outlasts the test); RollbackInstanceRefresh replaces the new instance with one of the group's
    previous version. AutoRollback does the same when an alarm of its AlarmSpecification fires.
    It follows the first test, which left the group on a numbered version (a group on $Default
    cannot be rolled back, as AWS documents)."""
    asg, ec2, cw = lab.client("autoscaling"), lab.client("ec2"), lab.client("cloudwatch")
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    template, previous = group["LaunchTemplate"]["LaunchTemplateName"], group["LaunchTemplate"]["Version"]
    new = ec2.create_launch_template_version(
        LaunchTemplateName=template, SourceVersion=previous, LaunchTemplateData={"InstanceType": "t3.medium"}
    )["LaunchTemplateVersion"]["VersionNumber"]
    desired = {"LaunchTemplate": {"LaunchTemplateName": template, "Version": str(new)}}

    def latest() -> dict:
        return asg.describe_instance_refreshes(AutoScalingGroupName="web", MaxRecords=1)["InstanceRefreshes"][0]

    with pytest.raises(ClientError) as err:
        asg.rollback_instance_refresh(AutoScalingGroupName="web")
    assert err.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"
    asg.start_instance_refresh(
        AutoScalingGroupName="web",
        DesiredConfiguration=desired,
        Preferences={"MinHealthyPercentage": 50, "InstanceWarmup": 0, "CheckpointPercentages": [50, 100]},
    )
    paused = wait_for(lambda: "Checkpoint 1 of 2" in latest().get("StatusReason", "") and latest(), 60, "checkpoint 1")
    assert (paused["Status"], paused["PercentageComplete"], paused["InstancesToUpdate"]) == ("InProgress", 50, 1)
    assert (
        paused["Preferences"]["CheckpointPercentages"] == [50, 100] and paused["Preferences"]["CheckpointDelay"] == 3600
    )
    asg.rollback_instance_refresh(AutoScalingGroupName="web")
    done = wait_for(lambda: latest()["Status"] not in ("InProgress", "RollbackInProgress") and latest(), 60, "rollback")
    assert done["Status"] == "RollbackSuccessful", done
    assert done["RollbackDetails"]["RollbackReason"] == "Rollback initiated by user request."
    assert (
        done["RollbackDetails"]["PercentageCompleteOnRollback"],
        done["RollbackDetails"]["InstancesToUpdateOnRollback"],
    ) == (50, 1)
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web"])["AutoScalingGroups"][0]
    members = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
    assert group["LaunchTemplate"]["Version"] == previous and len(members) == 2
    assert {m["LaunchTemplate"]["Version"] for m in members} == {previous}

    cw.put_metric_alarm(
        AlarmName="refresh-guard",
        Namespace="Custom",
        MetricName="Errors",
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName="refresh-guard", StateValue="ALARM", StateReason="the test says so")
    asg.start_instance_refresh(
        AutoScalingGroupName="web",
        DesiredConfiguration=desired,
        Preferences={"AutoRollback": True, "AlarmSpecification": {"Alarms": ["refresh-guard"]}, "InstanceWarmup": 0},
    )
    done = wait_for(
        lambda: latest()["Status"] not in ("Pending", "InProgress", "RollbackInProgress") and latest(),
        30,
        "auto rollback",
    )
    assert done["Status"] == "RollbackSuccessful" and "refresh-guard" in done["RollbackDetails"]["RollbackReason"]

    asg.start_instance_refresh(
        AutoScalingGroupName="web", Preferences={"InstanceWarmup": 0}
    )  # no desired configuration
    with pytest.raises(ClientError) as err:
        asg.rollback_instance_refresh(AutoScalingGroupName="web")
    assert err.value.response["Error"]["Code"] == "IrreversibleInstanceRefresh"
    asg.cancel_instance_refresh(AutoScalingGroupName="web")
