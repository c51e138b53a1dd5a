"""`chaoslab validate` as a user and a CI job meet it: three verdicts, every issue at its line and
column, the text/json/github formats, files read as their consumers read them, and each file
checked as what its content says it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaoslab.cli import main

REPO = Path(__file__).parents[3]
ROLE = "arn:aws:iam::123456789012:role/fis"


def template(
    action_id: str = "aws:ec2:reboot-instances", rtype: str = "aws:ec2:instance", key: str = "Instances", **params: str
) -> dict[str, Any]:
    return {
        "description": "t",
        "roleArn": ROLE,
        "stopConditions": [{"source": "none"}],
        "targets": {"T": {"resourceType": rtype, "resourceTags": {"a": "b"}, "selectionMode": "ALL"}},
        "actions": {"A": {"actionId": action_id, "parameters": params, "targets": {key: "T"}}},
    }


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["validate", *args])
    return code, capsys.readouterr().out


def write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return str(path)


def test_three_verdicts_in_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runnable = write(tmp_path, "ok.json", template())
    lambda_ = write(
        tmp_path,
        "lambda.json",
        template("aws:lambda:invocation-error", "aws:lambda:function", "Functions", duration="PT5M"),
    )
    code, out = validate(capsys, runnable, lambda_)
    assert code == 0
    assert f"{runnable}: valid, runnable in chaoslab (read as a CreateExperimentTemplate body)" in out
    assert (
        f"{lambda_}:20:7: not runnable: actions.A.actionId: action A (aws:lambda:invocation-error) cannot run "
        "in chaoslab: the lab has no Lambda functions"
    ) in out
    assert f"{lambda_}:11:7: not runnable: targets.T.resourceType: target T (aws:lambda:function)" in out
    assert f"{lambda_}: valid, but not runnable in chaoslab: 2 part(s)" in out
    bad = write(tmp_path, "bad.json", template("aws:ecs:stop-tasks", "aws:ecs:task", "Tasks"))
    code, out = validate(capsys, runnable, bad)
    assert code == 1
    assert (
        f"{bad}:20:7: error: actions.A.actionId: Action with ID aws:ecs:stop-tasks not found. "
        '(hint: did you mean "aws:ecs:stop-task"?)'
    ) in out
    assert f"{bad}: invalid: 1 error(s)" in out


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = template()
    bad["roleArn"] = "arn:aws:iam::<ACCOUNT>:role/fis"
    code, out = validate(
        capsys,
        "--format",
        "json",
        write(tmp_path, "bad.json", bad),
        write(
            tmp_path, "eks.json", template("aws:eks:pod-delete", "aws:eks:pod", "Pods", kubernetesServiceAccount="sa")
        ),
    )
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    first, second = report["files"]
    assert first["verdict"] == "invalid"
    assert first["issues"] == [
        {
            "severity": "error",
            "path": "roleArn",
            "line": 3,
            "column": 3,
            "message": '"arn:aws:iam::<ACCOUNT>:role/fis" is not an IAM role ARN',
            "hint": '"<ACCOUNT>" is a placeholder: replace it with the real value',
            "code": "ValidationException",
        }
    ]
    # the pod target lacks its required parameters: invalid before anything about the lab is said
    assert second["verdict"] == "invalid" and second["not_runnable"] == []
    assert {i["path"] for i in second["issues"]} == {
        f"targets.T.parameters.{p}" for p in ("clusterIdentifier", "namespace", "selectorType", "selectorValue")
    }


def test_github_annotations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.json", template(durationBeforeInterruption="PT5M"))
    old = template(
        "aws:elasticache:interrupt-cluster-az-power",
        "aws:elasticache:redis-replicationgroup",
        "ReplicationGroups",
        duration="PT5M",
    )
    old["targets"]["T"]["parameters"] = {"availabilityZoneIdentifier": "us-east-1a"}
    warned = write(tmp_path, "old.json", old)
    code, out = validate(capsys, "--format", "github", bad, warned)
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == (
        f"::error file={bad},line=22,col=9,title=actions.A.parameters.durationBeforeInterruption::"
        '"durationBeforeInterruption" is not a parameter of aws:ec2:reboot-instances (hint: '
        "aws:ec2:reboot-instances takes no parameters)"
    )
    assert f"::warning file={warned},line=23,col=7,title=actions.A.actionId::" in out
    assert f"::notice file={warned},line=23,col=7,title=not runnable in chaoslab::actions.A.actionId" in out


def test_a_json_file_is_strict_json_and_a_yaml_file_is_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(template(), indent=2).replace('"ALL"', '"ALL",')
    code, out = validate(capsys, write(tmp_path, "t.json", text))
    assert code == 1
    assert "t.json:15:29: error: (file): not valid JSON: a trailing comma (hint: remove the comma" in out
    code, out = validate(capsys, write(tmp_path, "t.yaml", text))  # YAML allows the comma in a flow mapping
    assert code == 0, out
    code, out = validate(capsys, write(tmp_path, "template.txt", json.dumps(template())))  # JSON by content
    assert code == 0 and "read as a CreateExperimentTemplate body" in out


def test_files_are_checked_as_what_they_are(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = REPO / "examples" / "seed002-aurora-failover" / "stack.yaml"
    experiment = REPO / "examples" / "seed002-aurora-failover" / "experiment.yaml"
    code, out = validate(capsys, str(stack), str(experiment))
    assert code == 0, out
    assert f"{stack}: valid (read as a chaoslab stack file)" in out
    assert f"{experiment}: valid, runnable in chaoslab (read as a chaoslab experiment file)" in out
    broken = write(tmp_path, "stack.yaml", "name: shop\nvpc: {cidr: 10.0.0.0/16}\n")
    code, out = validate(capsys, broken)
    assert code == 1 and "stack.yaml:2:1: error: vpc: 'subnets' is a required property" in out
    policy = write(tmp_path, "policy.json", {"Version": "2012-10-17", "Statement": []})
    code, out = validate(capsys, policy)
    assert code == 1 and "none of an experiment template's fields" in out


def test_cloudformation_is_read_in_pascal_case_with_intrinsics_unjudged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfn = """
Resources:
  Role:
    Type: AWS::IAM::Role
  Experiment:
    Type: AWS::FIS::ExperimentTemplate
    Properties:
      Description: !Sub "stop ${Env} instances"
      RoleArn: !GetAtt Role.Arn
      StopConditions: [{Source: none}]
      Targets:
        Nodes:
          ResourceType: aws:ec2:instance
          ResourceArns: [!Ref InstanceArn]
          SelectionMode: ALL
      Actions:
        Stop:
          ActionId: aws:ec2:stop-instances
          Parameters: {startInstancesAfterDuration: PT30S}
          Targets: {Instances: Nodes}
      Tags: {Owner: sre}
"""
    code, out = validate(capsys, write(tmp_path, "stack.yaml", cfn))
    assert code == 1
    assert (
        "stack.yaml:19:24: error: Resources.Experiment.Properties.Actions.Stop.Parameters."
        'startInstancesAfterDuration: duration "PT30S" is outside PT1M..PT12H'
    ) in out
    assert "read as CloudFormation resource Experiment (AWS::FIS::ExperimentTemplate)" in out
    code, out = validate(capsys, write(tmp_path, "fixed.yaml", cfn.replace("PT30S", "PT1M")))
    assert code == 0, out


def test_did_you_mean_stays_within_the_service_and_the_resource_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # an EKS id aimed at ECS tasks: no EKS action takes tasks, so nothing is suggested, the EKS list is shown
    code, out = validate(capsys, write(tmp_path, "t.json", template("aws:eks:pod-cpu-stres", "aws:ecs:task", "Pods")))
    assert code == 1 and "did you mean" not in out and "aws:eks actions: aws:eks:inject-kubernetes" in out
    code, out = validate(capsys, write(tmp_path, "u.json", template("aws:eks:pod-cpu-stres", "aws:eks:pod", "Pods")))
    assert 'did you mean "aws:eks:pod-cpu-stress"?' in out
    code, out = validate(capsys, write(tmp_path, "v.json", template("aws:ec2:pod-delete", "aws:ec2:instance")))
    assert "aws:eks:pod-delete" not in out


@pytest.mark.parametrize(
    "value,fragment",
    [
        ('{"DurationSeconds": "60", "Commands": ["a", "b"]}', None),
        ("{'DurationSeconds': '60'}", "not valid JSON"),
        ('["DurationSeconds"]', "must be a JSON object"),
    ],
)
def test_document_parameters_are_a_json_object_in_a_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, fragment: str | None
) -> None:
    doc = template(
        "aws:ssm:send-command",
        documentArn="arn:aws:ssm:us-east-1::document/AWSFIS-Run-CPU-Stress",
        documentParameters=value,
        duration="PT1M",
    )
    code, out = validate(capsys, write(tmp_path, "t.json", doc))
    assert (code == 0) == (fragment is None), out
    if fragment:
        assert f"actions.A.parameters.documentParameters: {fragment}" in out
