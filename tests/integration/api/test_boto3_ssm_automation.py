"""SSM Automation through unmodified boto3 on a real lab, started by FIS's
aws:ssm:start-automation-execution: a runbook that sleeps, calls ec2 DescribeInstances
(aws:executeAwsApi) whose outputs later steps use, runs AWS-RunShellScript on the instance
(aws:runCommand: a file written from inside the instance's network namespace) and a Python
script (aws:executeScript, whose boto3 reaches the lab as the execution's role); every step is visible through GetAutomationExecution. Stopping the
experiment cancels a long sleep (StopAutomationExecution), and an assumeRole without the
permission an executeAwsApi step needs fails that step with IAM's refusal."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

ACCOUNT = "123456789012"
FIS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SSM_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
FIS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ssm:StartAutomationExecution",
                "ssm:GetAutomationExecution",
                "ssm:StopAutomationExecution",
                "ssm:SendCommand",
                "ec2:DescribeInstances",
            ],
            "Resource": "*",
        }
    ],
}
SCRIPT = """
import boto3

def handler(events, context):
    print("hello from the script")
    caller = boto3.client("sts").get_caller_identity()["Arn"]  # the lab, as the execution's role
    return {"ip": events["ip"], "octets": len(events["ip"].split(".")), "caller": caller}
"""


def runbook(marker: Path) -> dict:
    return {
        "schemaVersion": "0.3",
        "description": "sleep, describe the instance, run a command on it, run a script",
        "parameters": {"InstanceId": {"type": "String"}},
        "outputs": ["script.Octets", "describe.PrivateIp"],
        "mainSteps": [
            {"name": "pause", "action": "aws:sleep", "inputs": {"Duration": "PT1S"}},
            {
                "name": "describe",
                "action": "aws:executeAwsApi",
                "inputs": {"Service": "ec2", "Api": "DescribeInstances", "InstanceIds": ["{{ InstanceId }}"]},
                "outputs": [
                    {"Name": "PrivateIp", "Selector": "$.Reservations[0].Instances[0].PrivateIpAddress"},
                    {"Name": "Id", "Selector": "$.Reservations[0].Instances[0].InstanceId"},
                ],
            },
            {
                "name": "shell",
                "action": "aws:runCommand",
                "timeoutSeconds": 20,
                "inputs": {
                    "DocumentName": "AWS-RunShellScript",
                    "InstanceIds": ["{{ describe.Id }}"],
                    "Parameters": {"commands": [f"echo {{{{ describe.PrivateIp }}}} > {marker}", "ip -4 -o addr show"]},
                },
                "outputs": [{"Name": "Text", "Selector": "$.Output"}],
            },
            {
                "name": "script",
                "action": "aws:executeScript",
                "inputs": {
                    "Runtime": "python3.11",
                    "Handler": "handler",
                    "Script": SCRIPT,
                    "InputPayload": {"ip": "{{ describe.PrivateIp }}"},
                },
                "outputs": [
                    {"Name": "Octets", "Selector": "$.Payload.octets", "Type": "Integer"},
                    {"Name": "Caller", "Selector": "$.Payload.caller"},
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    handle = start_lab(tmp_path_factory.mktemp("automation"), stack_doc("automation"))
    iam = handle.client("iam")
    iam.create_role(RoleName="fis-automation", AssumeRolePolicyDocument=json.dumps(FIS_TRUST))
    iam.put_role_policy(RoleName="fis-automation", PolicyName="run", PolicyDocument=json.dumps(FIS_POLICY))
    iam.create_role(RoleName="automation-no-ec2", AssumeRolePolicyDocument=json.dumps(SSM_TRUST))
    yield handle
    stop_and_check(handle)


def start_experiment(lab: LabHandle, document: str, parameters: dict, max_duration: str = "PT1M") -> str:
    fis = lab.client("fis")
    template = fis.create_experiment_template(
        clientToken=uuid.uuid4().hex,
        description="automation",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis-automation",
        stopConditions=[{"source": "none"}],
        actions={
            "run": {
                "actionId": "aws:ssm:start-automation-execution",
                "parameters": {
                    "documentArn": f"arn:aws:ssm:us-east-1:{ACCOUNT}:document/{document}",
                    "documentParameters": json.dumps(parameters, separators=(",", ":")),  # FIS: no whitespace
                    "maxDuration": max_duration,
                },
            }
        },
    )["experimentTemplate"]
    return fis.start_experiment(clientToken=uuid.uuid4().hex, experimentTemplateId=template["id"])["experiment"]["id"]


def finished(lab: LabHandle, eid: str) -> dict | None:
    exp = lab.client("fis").get_experiment(id=eid)["experiment"]
    return exp if exp["state"]["status"] in ("completed", "stopped", "failed") else None


def execution_of(ssm, document: str) -> dict:
    (row,) = ssm.describe_automation_executions(Filters=[{"Key": "DocumentNamePrefix", "Values": [document]}])[
        "AutomationExecutionMetadataList"
    ]
    return ssm.get_automation_execution(AutomationExecutionId=row["AutomationExecutionId"])["AutomationExecution"]


def test_fis_runs_a_runbook_whose_steps_act_for_real(lab: LabHandle, tmp_path: Path) -> None:
    ec2, ssm = lab.client("ec2"), lab.client("ssm")
    iid = ec2.run_instances(ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_for(
        lambda: (
            ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
        ),
        30,
        "the instance to run",
    )
    marker = tmp_path / "written-by-run-command"
    ssm.create_document(
        Name="Chaos-Probe", Content=yaml.safe_dump(runbook(marker)), DocumentType="Automation", DocumentFormat="YAML"
    )
    assert ssm.describe_document(Name="Chaos-Probe")["Document"]["DocumentType"] == "Automation"

    started = time.monotonic()
    eid = start_experiment(lab, "Chaos-Probe", {"InstanceId": iid})
    exp = wait_for(lambda: finished(lab, eid), 40, "the experiment to end")
    elapsed = time.monotonic() - started
    execution = execution_of(ssm, "Chaos-Probe")

    assert exp["state"]["status"] == "completed", exp["state"]
    assert execution["AutomationExecutionStatus"] == "Success", execution.get("FailureMessage")
    steps = {s["StepName"]: s for s in execution["StepExecutions"]}
    assert [s["StepStatus"] for s in execution["StepExecutions"]] == ["Success"] * 4
    assert list(steps) == ["pause", "describe", "shell", "script"]
    pause = steps["pause"]
    assert (pause["ExecutionEndTime"] - pause["ExecutionStartTime"]).total_seconds() >= 0.9
    ip = steps["describe"]["Outputs"]["PrivateIp"][0]
    assert ip.startswith(lab.cidr.split(".")[0] + "." + lab.cidr.split(".")[1] + ".")
    assert marker.read_text().strip() == ip  # written by the shell inside the instance
    assert f"inet {ip}/" in steps["shell"]["Outputs"]["Text"][0]  # ...in its own network namespace
    assert steps["script"]["Outputs"]["Octets"] == ["4"]
    assert ":assumed-role/fis-automation/" in steps["script"]["Outputs"]["Caller"][0]
    assert execution["Outputs"] == {"script.Octets": ["4"], "describe.PrivateIp": [ip]}
    print(f"\nautomation experiment: 4 steps in {elapsed:.1f} s (1 s of it the sleep step)")


def test_stopping_the_experiment_cancels_a_long_sleep(lab: LabHandle) -> None:
    ssm = lab.client("ssm")
    book = {
        "schemaVersion": "0.3",
        "mainSteps": [{"name": "long", "action": "aws:sleep", "inputs": {"Duration": "PT10M"}}],
    }
    ssm.create_document(Name="Long-Sleep", Content=json.dumps(book), DocumentType="Automation")
    eid = start_experiment(lab, "Long-Sleep", {}, max_duration="PT30M")
    wait_for(
        lambda: ssm.describe_automation_executions(Filters=[{"Key": "DocumentNamePrefix", "Values": ["Long-Sleep"]}])[
            "AutomationExecutionMetadataList"
        ],
        10,
        "the execution to start",
    )
    assert execution_of(ssm, "Long-Sleep")["AutomationExecutionStatus"] == "InProgress"
    lab.client("fis").stop_experiment(id=eid)
    exp = wait_for(lambda: finished(lab, eid), 10, "the experiment to stop")
    execution = execution_of(ssm, "Long-Sleep")
    assert exp["state"]["status"] == "stopped"
    assert execution["AutomationExecutionStatus"] == "Cancelled"
    assert execution["StepExecutions"][0]["StepStatus"] == "Cancelled"
    with pytest.raises(ssm.exceptions.InvalidAutomationStatusUpdateException):
        ssm.stop_automation_execution(AutomationExecutionId=execution["AutomationExecutionId"])


def test_an_assume_role_without_the_permission_fails_the_api_step(lab: LabHandle) -> None:
    ssm = lab.client("ssm")
    book = {
        "schemaVersion": "0.3",
        "assumeRole": f"arn:aws:iam::{ACCOUNT}:role/automation-no-ec2",
        "mainSteps": [
            {"name": "look", "action": "aws:executeAwsApi", "inputs": {"Service": "ec2", "Api": "DescribeInstances"}}
        ],
    }
    ssm.create_document(Name="No-Ec2", Content=json.dumps(book), DocumentType="Automation")
    xid = ssm.start_automation_execution(DocumentName="No-Ec2")["AutomationExecutionId"]
    execution = wait_for(
        lambda: (
            (e := ssm.get_automation_execution(AutomationExecutionId=xid)["AutomationExecution"])[
                "AutomationExecutionStatus"
            ]
            in ("Success", "Failed")
            and e
        ),
        10,
        "the execution to end",
    )
    assert execution["AutomationExecutionStatus"] == "Failed"
    step = ssm.describe_automation_step_executions(AutomationExecutionId=xid)["StepExecutions"][0]
    assert step["StepStatus"] == "Failed" and "ec2:DescribeInstances" in step["FailureMessage"]
