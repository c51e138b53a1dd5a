"""Seed 002's FIS walkthrough with the real AWS CLI: IAM role from file://, inline policy, the 5xx
stop-condition alarm on the lab's real target group, the experiment template from
--cli-input-json, start-experiment and get-experiment until it completes, having really stopped
an instance. The seed's template as printed is refused with a ValidationException that names
what is wrong with it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(240)]

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "FISTrustPolicy",
            "Effect": "Allow",
            "Principal": {"Service": "fis.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
PERMISSIONS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EC2FaultPermissions",
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:StartInstances", "ec2:TerminateInstances", "ec2:DescribeInstances"],
            "Resource": "*",
        },
        {
            "Sid": "SSMCommandPermissions",
            "Effect": "Allow",
            "Action": ["ssm:SendCommand", "ssm:GetCommandInvocation"],
            "Resource": "*",
        },
        {"Sid": "CloudWatchAlarmRead", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"},
    ],
}
# The seed's fis-compute-experiment.json exactly as printed (mangled stop-condition ARN and all).
SEED_TEMPLATE = {
    "description": "Enterprise resilience experiment targeting production compute capacity nodes.",
    "targets": {
        "TargetProductionNodes": {
            "resourceType": "aws:ec2:instance",
            "resourceTags": {"Environment": "Production", "Role": "WorkerNode"},
            "filters": [{"path": "State.Name", "values": ["running"]}],
            "selectionMode": "PERCENT(20)",
        }
    },
    "actions": {
        "SimulateNodeLoss": {
            "actionId": "aws:ec2:stop-instances",
            "parameters": {"duration": "PT5M"},
            "targets": {"Instances": "TargetProductionNodes"},
        }
    },
    "stopConditions": [
        {
            "source": "aws:cloudwatch:get-metric-alarm",
            "value": "arn:aws:ēµē¹-name:us-east-1:112233445566:alarm:AutomatedAppResilienceStopCondition",
        }
    ],
    "roleArn": "arn:aws:iam::112233445566:role/EnterpriseFISExecutionRole",
    "tags": {"ChaosTier": "Tier1-Compute", "AutomationEngine": "FIS"},
}
ACCOUNT = "123456789012"
ALARM_ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:AutomatedAppResilienceStopCondition"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/EnterpriseFISExecutionRole"


def corrected_template() -> dict:
    """What the seed meant, against this account: the stop-condition source FIS knows
    (`aws:cloudwatch:alarm`), a real alarm ARN and role, a selection that picks at least one of
    two instances (20% of 2 rounds down to none), and no `duration` parameter, which
    aws:ec2:stop-instances does not have."""
    t = copy.deepcopy(SEED_TEMPLATE)
    t["stopConditions"][0] = {"source": "aws:cloudwatch:alarm", "value": ALARM_ARN}
    t["roleArn"] = ROLE_ARN
    t["targets"]["TargetProductionNodes"]["selectionMode"] = "COUNT(1)"
    t["actions"]["SimulateNodeLoss"]["parameters"] = {}
    return t


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "seed002",
        {
            "target_groups": [{"name": "prod-payment-tg", "port": 80, "health_check": {"path": "/health"}}],
            "load_balancers": [
                {"name": "prod-payment-alb", "listeners": [{"port": 0, "target_group": "prod-payment-tg"}]}
            ],
            "auto_scaling_groups": [
                {
                    "name": "workers",
                    "image": "chaoslab/static",
                    "port": 80,
                    "min": 2,
                    "max": 2,
                    "desired": 2,
                    "target_groups": ["prod-payment-tg"],
                    "tags": {"Environment": "Production", "Role": "WorkerNode"},
                }
            ],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("seed002"), doc)
    yield handle
    stop_and_check(handle)


def test_seed002_fis_experiment_from_the_cli(lab: LabHandle, tmp_path: Path) -> None:
    aws = lab.aws
    (tmp_path / "fis-trust-policy.json").write_text(json.dumps(TRUST))
    (tmp_path / "fis-permissions-policy.json").write_text(json.dumps(PERMISSIONS))
    role = aws(
        "iam",
        "create-role",
        "--role-name",
        "EnterpriseFISExecutionRole",
        "--assume-role-policy-document",
        "file://fis-trust-policy.json",
        cwd=tmp_path,
    )["Role"]
    assert role["Arn"] == ROLE_ARN
    assert (
        aws(
            "iam",
            "put-role-policy",
            "--role-name",
            "EnterpriseFISExecutionRole",
            "--policy-name",
            "FISResourceManipulationAccess",
            "--policy-document",
            "file://fis-permissions-policy.json",
            cwd=tmp_path,
        )
        is None
    )
    assert aws("iam", "list-role-policies", "--role-name", "EnterpriseFISExecutionRole")["PolicyNames"] == [
        "FISResourceManipulationAccess"
    ]

    tg_arn = aws(
        "elbv2", "describe-target-groups", "--names", "prod-payment-tg", "--query", "TargetGroups[0].TargetGroupArn"
    )
    dimension = tg_arn.split(":", 5)[5]
    assert dimension.startswith("targetgroup/prod-payment-tg/")
    aws(
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "AutomatedAppResilienceStopCondition",
        "--alarm-description",
        "Triggers an immediate rollback of the active FIS chaos experiment if system error rates spike.",
        "--metric-name",
        "HTTPCode_Target_5XX_Count",
        "--namespace",
        "AWS/ApplicationELB",
        "--statistic",
        "Sum",
        "--period",
        "60",
        "--threshold",
        "5",
        "--comparison-operator",
        "GreaterThanThreshold",
        "--evaluation-periods",
        "1",
        "--dimensions",
        f"Name=TargetGroup,Value={dimension}",
        "--treat-missing-data",
        "notBreaching",
    )
    alarm = aws("cloudwatch", "describe-alarms", "--alarm-names", "AutomatedAppResilienceStopCondition")[
        "MetricAlarms"
    ][0]
    assert alarm["AlarmArn"] == ALARM_ARN and alarm["Dimensions"] == [{"Name": "TargetGroup", "Value": dimension}]

    # The seed's template as printed is refused, naming each problem.
    (tmp_path / "seed.json").write_text(json.dumps(SEED_TEMPLATE, ensure_ascii=False))
    refused = aws(
        "fis", "create-experiment-template", "--cli-input-json", "file://seed.json", cwd=tmp_path, check=False
    )
    assert refused.returncode != 0 and "(ValidationException)" in refused.stderr, refused.stderr
    for named in (
        "actions.SimulateNodeLoss.parameters.duration",
        "stopConditions[0].source",
        "stopConditions[0].value",
    ):
        assert named in refused.stderr, refused.stderr
    # Fixing all but the parameter still leaves that one refused on its own.
    t = corrected_template()
    t["actions"]["SimulateNodeLoss"]["parameters"] = {"duration": "PT5M"}
    (tmp_path / "one.json").write_text(json.dumps(t))
    proc = aws("fis", "create-experiment-template", "--cli-input-json", "file://one.json", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and "(ValidationException)" in proc.stderr and "duration" in proc.stderr
    assert "stopConditions" not in proc.stderr, proc.stderr

    (tmp_path / "fis-compute-experiment.json").write_text(json.dumps(corrected_template()))
    template = aws(
        "fis", "create-experiment-template", "--cli-input-json", "file://fis-compute-experiment.json", cwd=tmp_path
    )["experimentTemplate"]
    assert template["id"].startswith("EXT") and template["roleArn"] == ROLE_ARN
    assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": ALARM_ARN}]

    instances = aws(
        "ec2",
        "describe-instances",
        "--filters",
        "Name=tag:Role,Values=WorkerNode",
        "Name=instance-state-name,Values=running",
        "--query",
        "Reservations[].Instances[].InstanceId",
    )
    assert len(instances) == 2
    experiment = aws("fis", "start-experiment", "--experiment-template-id", template["id"])["experiment"]
    assert experiment["id"].startswith("EXP") and experiment["experimentTemplateId"] == template["id"]

    def finished() -> dict | None:
        e = aws("fis", "get-experiment", "--id", experiment["id"])["experiment"]
        return e if e["state"]["status"] in ("completed", "stopped", "failed") else None

    done = wait_for(finished, 60, "the experiment to finish", interval=0.5)
    assert done["state"]["status"] == "completed", done["state"]
    assert done["actions"]["SimulateNodeLoss"]["state"]["status"] == "completed"

    # It really stopped one (and only one) of the tagged instances.
    stops = [e for e in lab.events(kinds="fault.applied") if e.get("experiment") == experiment["id"]]
    assert len(stops) == 1, stops
    stopped = stops[0]["target"]
    assert any(stopped.endswith(i) for i in instances), (stopped, instances)
    listed = aws("fis", "list-experiments", "--query", "experiments[].id")
    assert experiment["id"] in listed
    stopped_id = next(i for i in instances if stopped.endswith(i))
    state = aws(
        "ec2", "describe-instances", "--instance-ids", stopped_id, "--query", "Reservations[0].Instances[0].State.Name"
    )
    # Stopped, and the Auto Scaling group (EC2 health checks) may already have replaced it.
    assert state in ("stopping", "stopped", "shutting-down", "terminated"), state
    survivor = next(i for i in instances if i != stopped_id)
    assert (
        aws(
            "ec2",
            "describe-instances",
            "--instance-ids",
            survivor,
            "--query",
            "Reservations[0].Instances[0].State.Name",
        )
        == "running"
    )
