"""Scaling policies and scheduled actions against a real lab at time scale 60 (a one-minute alarm
period lasts a second, and so does a minute of a schedule).
Application Auto Scaling: target tracking creates AWS's two alarms, and a metric above the target
— pushed with PutMetricData, or the real CPU of a busy task — scales the ECS service out within
its bounds. EC2 Auto Scaling: the same engine behind PutScalingPolicy, DescribePolicies,
ExecutePolicy and DeletePolicy, its alarms on the group's own CPU series."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from api_lab import LabHandle, free_port, stack_doc, stop_and_check, wait_for

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

WEB = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8083}]}
SCALE = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    home = tmp_path_factory.mktemp("appscaling")
    group = {"name": "web-asg", "image": "chaoslab/static", "port": 80, "min": 1, "max": 3, "desired": 1}
    doc = stack_doc("appscaling", {"auto_scaling_groups": [group]})
    (home / "stack.yaml").write_text(yaml.safe_dump(doc))
    config = LabConfig(home=home, api_port=free_port(), time_scale=60.0)
    handle = LabHandle(
        config, start_detached(config, str(home / "stack.yaml"), fast=True, quiet=True), doc["vpc"]["cidr"]
    )
    yield handle
    stop_and_check(handle)


def _service(lab: LabHandle, cluster: str, container: dict[str, Any]) -> Any:
    ecs = lab.client("ecs")
    subnets = [s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"]]
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=cluster, networkMode="awsvpc", cpu="256", containerDefinitions=[container])
    ecs.create_service(
        cluster=cluster,
        serviceName="web",
        taskDefinition=cluster,
        desiredCount=1,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
    )
    return ecs


def _desired(ecs: Any, cluster: str) -> int:
    count: int = ecs.describe_services(cluster=cluster, services=["web"])["services"][0]["desiredCount"]
    return count


def test_pushed_metric_above_target_scales_out_through_awss_alarms(lab: LabHandle) -> None:
    ecs = _service(lab, "pushed", WEB)
    aas, cw = lab.client("application-autoscaling"), lab.client("cloudwatch")
    resource = "service/pushed/web"
    target_arn = aas.register_scalable_target(ResourceId=resource, MinCapacity=1, MaxCapacity=3, **SCALE)[
        "ScalableTargetARN"
    ]
    assert target_arn.startswith("arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/")
    put = aas.put_scaling_policy(
        PolicyName="load50",
        ResourceId=resource,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "CustomizedMetricSpecification": {
                "Namespace": "Lab/Test",
                "MetricName": "Load",
                "Dimensions": [{"Name": "Service", "Value": "web"}],
                "Statistic": "Average",
            },
            "ScaleOutCooldown": 600,
        },
        **SCALE,
    )
    names = sorted(a["AlarmName"] for a in put["Alarms"])
    assert [re.sub(r"[0-9a-f-]{36}$", "<uuid>", n) for n in names] == [
        "TargetTracking-service/pushed/web-AlarmHigh-<uuid>",
        "TargetTracking-service/pushed/web-AlarmLow-<uuid>",
    ]
    alarms = cw.describe_alarms(AlarmNamePrefix="TargetTracking-service/pushed/web-")["MetricAlarms"]
    assert [(a["EvaluationPeriods"], a["Period"], a["Threshold"], a["ComparisonOperator"]) for a in alarms] == [
        (3, 60, 50.0, "GreaterThanThreshold"),
        (15, 60, 45.0, "LessThanThreshold"),
    ]
    assert all(a["AlarmActions"] == [put["PolicyARN"]] for a in alarms)
    stop = threading.Event()

    def push() -> None:
        while not stop.wait(0.1):
            cw.put_metric_data(
                Namespace="Lab/Test",
                MetricData=[{"MetricName": "Load", "Dimensions": [{"Name": "Service", "Value": "web"}], "Value": 90.0}],
            )

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        wait_for(lambda: _desired(ecs, "pushed") == 2, 15, "a scale-out to ceil(1 × 90 / 50) = 2 tasks")
    finally:
        stop.set()
        pusher.join()
    [activity] = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)["ScalingActivities"]
    high = names[0]
    assert activity["Description"] == "Setting desired count to 2."
    assert activity["Cause"] == f"monitor alarm {high} in state ALARM triggered policy load50"
    assert activity["StatusCode"] == "Successful"
    [policy] = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
    assert policy["PolicyARN"] == put["PolicyARN"] and len(policy["Alarms"]) == 2
    cli = lab.aws("application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs")
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in cli["ScalableTargets"]] == [(resource, 1, 3)]
    aas.deregister_scalable_target(ResourceId=resource, **SCALE)
    assert not cw.describe_alarms(AlarmNamePrefix="TargetTracking-service/pushed/web-")["MetricAlarms"]
    with pytest.raises(aas.exceptions.ObjectNotFoundException, match="No scaling policy found for service"):
        aas.delete_scaling_policy(PolicyName="load50", ResourceId=resource, **SCALE)


def test_a_busy_task_scales_out_on_its_real_cpu_up_to_max(lab: LabHandle) -> None:
    busy = {**WEB, "command": ["nice", "-n", "19", "sh", "-c", "while :; do :; done"]}
    ecs = _service(lab, "busy", busy)
    aas = lab.client("application-autoscaling")
    resource = "service/busy/web"
    aas.register_scalable_target(ResourceId=resource, MinCapacity=1, MaxCapacity=2, **SCALE)
    aas.put_scaling_policy(
        PolicyName="cpu60",
        ResourceId=resource,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
        **SCALE,
    )
    try:
        wait_for(lambda: _desired(ecs, "busy") == 2, 20, "a scale-out to the maximum of 2 tasks")
    finally:
        aas.deregister_scalable_target(ResourceId=resource, **SCALE)
        ecs.delete_service(cluster="busy", service="web", force=True)


def test_errors_are_worded_as_aws_words_them(lab: LabHandle) -> None:
    aas = lab.client("application-autoscaling")
    with pytest.raises(aas.exceptions.ObjectNotFoundException, match="No scalable target registered for service"):
        aas.put_scaling_policy(
            PolicyName="p",
            ResourceId="service/none/web",
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
            },
            **SCALE,
        )
    with pytest.raises(aas.exceptions.ValidationException, match="MinCapacity and MaxCapacity are required"):
        aas.register_scalable_target(ResourceId="service/none/web", **SCALE)


def _group(asg: Any) -> dict[str, Any]:
    found: dict[str, Any] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    return found


def test_ec2_auto_scaling_policies_run_on_the_same_engine(lab: LabHandle) -> None:
    asg, cw = lab.client("autoscaling"), lab.client("cloudwatch")
    tracked = asg.put_scaling_policy(
        AutoScalingGroupName="web-asg",
        PolicyName="cpu50",
        PolicyType="TargetTrackingScaling",
        TargetTrackingConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
            "TargetValue": 50.0,
        },
    )
    names = sorted(a["AlarmName"] for a in tracked["Alarms"])
    assert [re.sub(r"[0-9a-f-]{36}$", "<uuid>", n) for n in names] == [
        "TargetTracking-web-asg-AlarmHigh-<uuid>",
        "TargetTracking-web-asg-AlarmLow-<uuid>",
    ]
    [high] = cw.describe_alarms(AlarmNames=[names[0]])["MetricAlarms"]
    assert (high["Namespace"], high["MetricName"], high["Dimensions"]) == (
        "AWS/EC2",
        "CPUUtilization",
        [{"Name": "AutoScalingGroupName", "Value": "web-asg"}],
    )
    wait_for(  # the members' CPU, aggregated per group as EC2 does
        lambda: cw.list_metrics(Namespace="AWS/EC2", Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web-asg"}])[
            "Metrics"
        ],
        10,
        "the group's CPUUtilization series",
    )
    with pytest.raises(asg.exceptions.ClientError, match="not supported for target tracking"):
        asg.execute_policy(AutoScalingGroupName="web-asg", PolicyName="cpu50")
    # Gone before the group grows: its low alarm, over the idle group's CPU, would scale it back in.
    asg.delete_policy(AutoScalingGroupName="web-asg", PolicyName="cpu50")
    assert not cw.describe_alarms(AlarmNamePrefix="TargetTracking-web-asg-")["MetricAlarms"]
    asg.put_scaling_policy(
        AutoScalingGroupName="web-asg",
        PolicyName="add-one",
        PolicyType="SimpleScaling",
        AdjustmentType="ChangeInCapacity",
        ScalingAdjustment=1,
    )
    asg.execute_policy(AutoScalingGroupName="web-asg", PolicyName="add-one", HonorCooldown=True)
    assert _group(asg)["DesiredCapacity"] == 2
    asg.execute_policy(AutoScalingGroupName="web-asg", PolicyName="add-one", HonorCooldown=True)
    assert _group(asg)["DesiredCapacity"] == 2  # the 300 s cooldown holds
    wait_for(lambda: len(_group(asg)["Instances"]) == 2, 20, "the group launching its second instance")
    causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName="web-asg")["Activities"]]
    assert any("a user request executed policy add-one changing the desired capacity from 1 to 2" in c for c in causes)
    kinds = {
        p["PolicyName"]: p["PolicyType"]
        for p in asg.describe_policies(AutoScalingGroupName="web-asg")["ScalingPolicies"]
    }
    assert kinds == {"add-one": "SimpleScaling"}


def test_ec2_scheduled_actions_run_by_the_labs_clock(lab: LabHandle) -> None:
    """A recurrence every minute runs within a wall second at scale 60; the group's launch names
    the action as its cause; a one-time action in the past and a bad recurrence are refused."""
    asg = lab.client("autoscaling")
    start = _group(asg)["DesiredCapacity"]
    asg.put_scheduled_update_group_action(
        AutoScalingGroupName="web-asg",
        ScheduledActionName="every-minute",
        Recurrence="* * * * *",
        TimeZone="Europe/Paris",
        MinSize=1,
        MaxSize=3,
        DesiredCapacity=3,
    )
    [action] = asg.describe_scheduled_actions(AutoScalingGroupName="web-asg")["ScheduledUpdateGroupActions"]
    assert (action["Recurrence"], action["TimeZone"], action["DesiredCapacity"]) == ("* * * * *", "Europe/Paris", 3)
    assert action["ScheduledActionARN"].endswith(":autoScalingGroupName/web-asg:scheduledActionName/every-minute")
    assert action["StartTime"].second == 0  # the next whole minute of the lab's clock
    wait_for(lambda: _group(asg)["DesiredCapacity"] == 3, 10, "the scheduled action to run")
    expected = f"a scheduled action update of AutoScalingGroup constraints to min: 1, max: 3, desired: 3 changing the desired capacity from {start} to 3"

    def launched_by_the_action() -> bool:
        activities = asg.describe_scaling_activities(AutoScalingGroupName="web-asg")["Activities"]
        return any(expected in a["Cause"] and a["Description"].startswith("Launching") for a in activities)

    wait_for(launched_by_the_action, 20, "a launch caused by the scheduled action")
    failed = asg.batch_put_scheduled_update_group_action(
        AutoScalingGroupName="web-asg",
        ScheduledUpdateGroupActions=[
            {"ScheduledActionName": "past", "StartTime": datetime(2020, 1, 1, tzinfo=UTC), "DesiredCapacity": 1},
            {"ScheduledActionName": "bad-cron", "Recurrence": "61 * * * *", "DesiredCapacity": 1},
            {"ScheduledActionName": "nightly", "Recurrence": "0 2 * * *", "MinSize": 1},
        ],
    )["FailedScheduledUpdateGroupActions"]
    assert [(f["ScheduledActionName"], f["ErrorCode"]) for f in failed] == [
        ("past", "ValidationError"),
        ("bad-cron", "ValidationError"),
    ]
    assert "Given start time is in the past" in failed[0]["ErrorMessage"]
    with pytest.raises(asg.exceptions.ClientError, match="at least one of MinSize, MaxSize or DesiredCapacity"):
        asg.put_scheduled_update_group_action(
            AutoScalingGroupName="web-asg", ScheduledActionName="x", Recurrence="0 * * * *"
        )
    names = {a["ScheduledActionName"] for a in asg.describe_scheduled_actions()["ScheduledUpdateGroupActions"]}
    assert names == {"every-minute", "nightly"}
    asg.delete_scheduled_action(AutoScalingGroupName="web-asg", ScheduledActionName="every-minute")
    missing = asg.batch_delete_scheduled_action(
        AutoScalingGroupName="web-asg", ScheduledActionNames=["nightly", "gone"]
    )
    assert [f["ScheduledActionName"] for f in missing["FailedScheduledActions"]] == ["gone"]
    assert asg.describe_scheduled_actions(AutoScalingGroupName="web-asg")["ScheduledUpdateGroupActions"] == []


def test_application_auto_scaling_scheduled_actions_move_an_ecs_service(lab: LabHandle) -> None:
    """rate(1 minute) runs within a wall second at scale 60: the new minimum is recorded as one
    activity and the desiredCount it forces as another, as AWS records them."""
    ecs = _service(lab, "scheduled", WEB)
    aas = lab.client("application-autoscaling")
    target = {"ResourceId": "service/scheduled/web", **SCALE}
    aas.register_scalable_target(MinCapacity=1, MaxCapacity=4, **target)
    aas.put_scheduled_action(
        ScheduledActionName="floor-of-two",
        Schedule="rate(1 minute)",
        ScalableTargetAction={"MinCapacity": 2},
        **target,
    )
    aas.put_scheduled_action(
        ScheduledActionName="evenings",
        Schedule="cron(0 18 ? * MON-FRI *)",
        Timezone="Asia/Tokyo",
        ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2},
        **target,
    )
    wait_for(lambda: _desired(ecs, "scheduled") == 2, 10, "the scheduled minimum to move the service")
    [floor] = aas.describe_scheduled_actions(ScheduledActionNames=["floor-of-two"], ServiceNamespace="ecs")[
        "ScheduledActions"
    ]
    assert floor["Schedule"] == "rate(1 minute)" and floor["ScalableTargetAction"] == {"MinCapacity": 2}
    evenings = aas.describe_scheduled_actions(**target)["ScheduledActions"]
    assert {a["ScheduledActionName"]: a.get("Timezone") for a in evenings} == {
        "floor-of-two": None,
        "evenings": "Asia/Tokyo",
    }
    [bounds] = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/scheduled/web"])[
        "ScalableTargets"
    ]
    assert bounds["MinCapacity"] == 2
    activities = aas.describe_scaling_activities(ServiceNamespace="ecs", ResourceId="service/scheduled/web")[
        "ScalingActivities"
    ]
    pairs = [(a["Description"], a["Cause"]) for a in activities]
    assert (
        "Setting min capacity to 2 and max capacity to 4",
        "scheduled action name floor-of-two was triggered",
    ) in pairs
    assert ("Setting desired count to 2.", "minimum capacity was set to 2") in pairs
    with pytest.raises(aas.exceptions.ValidationException, match="rate"):
        aas.put_scheduled_action(
            ScheduledActionName="bad", Schedule="rate(0 minutes)", ScalableTargetAction={"MinCapacity": 1}, **target
        )
    with pytest.raises(aas.exceptions.ObjectNotFoundException, match="No scalable target registered"):
        aas.put_scheduled_action(
            ScheduledActionName="x",
            Schedule="rate(5 minutes)",
            ScalableTargetAction={"MinCapacity": 1},
            ResourceId="service/none/web",
            **SCALE,
        )
    aas.delete_scheduled_action(ScheduledActionName="floor-of-two", **target)
    with pytest.raises(aas.exceptions.ObjectNotFoundException, match="No scheduled action found"):
        aas.delete_scheduled_action(ScheduledActionName="floor-of-two", **target)
    aas.deregister_scalable_target(**target)
    assert aas.describe_scheduled_actions(ServiceNamespace="ecs")["ScheduledActions"] == []
