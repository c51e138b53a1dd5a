"""IAM for API callers: which action and resources a call asks for, how each protocol words the
refusal, and `enforce.check` over real roles, users and their policies."""

from __future__ import annotations

import json

import pytest

from chaoslab.aws.context import RequestContext
from chaoslab.aws.credentials import CredentialRegistry
from chaoslab.daemon import _parse
from chaoslab.errors import AwsError, ChaoslabError
from chaoslab.labctl import daemon_args
from chaoslab.services.iam import access, denial, enforce
from chaoslab.stack import validate_stack

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    ("package", "operation", "expected"),
    [
        ("ec2", "StopInstances", "ec2:StopInstances"),
        ("elbv2", "RegisterTargets", "elasticloadbalancing:RegisterTargets"),
        ("applicationautoscaling", "RegisterScalableTarget", "application-autoscaling:RegisterScalableTarget"),
        ("cloudwatch", "SetAlarmState", "cloudwatch:SetAlarmState"),
        ("fis", "StartExperiment", "fis:StartExperiment"),
    ],
)
def test_action_uses_the_iam_prefix(package, operation, expected):
    assert access.action(package, operation) == expected


@pytest.mark.parametrize(
    ("package", "operation", "params", "expected"),
    [
        (
            "fis",
            "StartExperiment",
            {"experimentTemplateId": "EXT1"},
            ["arn:aws:fis:us-east-1:123456789012:experiment-template/EXT1"],
        ),
        ("fis", "StopExperiment", {"id": "EXP1"}, ["arn:aws:fis:us-east-1:123456789012:experiment/EXP1"]),
        (
            "ec2",
            "TerminateInstances",
            {"InstanceIds": ["i-1", "i-2"]},
            ["arn:aws:ec2:us-east-1:123456789012:instance/i-1", "arn:aws:ec2:us-east-1:123456789012:instance/i-2"],
        ),
        (
            "ecs",
            "StopTask",
            {"cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/shop", "task": "abc"},
            ["arn:aws:ecs:us-east-1:123456789012:task/shop/abc"],
        ),
        ("ecs", "UpdateService", {"service": "web"}, ["arn:aws:ecs:us-east-1:123456789012:service/default/web"]),
        ("rds", "FailoverDBCluster", {"DBClusterIdentifier": "db"}, ["arn:aws:rds:us-east-1:123456789012:cluster:db"]),
        ("rds", "RebootDBInstance", {"DBInstanceIdentifier": "w"}, ["arn:aws:rds:us-east-1:123456789012:db:w"]),
        ("elbv2", "DeregisterTargets", {"TargetGroupArn": "arn:tg"}, ["arn:tg"]),
        ("cloudwatch", "DeleteAlarms", {"AlarmNames": ["a"]}, ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"]),
        (
            "ssm",
            "SendCommand",
            {"DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-1"]},
            ["arn:aws:ssm:us-east-1::document/AWS-RunShellScript", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"],
        ),
        ("ec2", "DescribeInstances", {}, ["*"]),
        ("ec2", "StopInstances", {"InstanceIds": []}, ["*"]),
    ],
)
def test_resources_per_operation(package, operation, params, expected):
    assert access.resources(package, operation, params, "us-east-1", ACCOUNT) == expected


def test_denial_wording_per_protocol():
    args = ("arn:aws:iam::123456789012:user/u", "ec2:StopInstances", "arn:aws:ec2:us-east-1:1:instance/i-1")
    ec2 = denial.access_denied("ec2", *args, explicit=False)
    assert (ec2.code, ec2.status) == ("UnauthorizedOperation", 403)
    assert ec2.message.startswith(
        "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/u is not "
        "authorized to perform: ec2:StopInstances on resource: arn:aws:ec2:us-east-1:1:instance/i-1 because no "
        "identity-based policy allows the ec2:StopInstances action. Encoded authorization failure message: "
    )
    encoded = ec2.message.rsplit(" ", 1)[-1]
    assert json.loads(denial.decode_message(encoded))["context"]["action"] == "ec2:StopInstances"
    assert denial.access_denied("query", *args, explicit=True).code == "AccessDenied"
    assert denial.access_denied("query", *args, explicit=True).message.endswith(
        "with an explicit deny in an identity-based policy"
    )
    assert denial.access_denied("json", *args, explicit=False, query_compatible=True).code == "AccessDenied"
    fis = denial.access_denied("rest-json", *args, explicit=False)
    assert (fis.code, fis.status) == ("AccessDeniedException", 403)


def request(lab, principal: str, service: str, operation: str, params: dict, protocol: str, key: str = "k"):
    return RequestContext(
        lab,
        service,
        operation,
        "us-east-1",
        ACCOUNT,
        key,
        principal,
        "rid",
        None,
        CredentialRegistry(lab.config),
        protocol,
        params,
    )


def session(name: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/s"


def test_root_is_allowed_everything(lab):
    enforce.check(request(lab, f"arn:aws:iam::{ACCOUNT}:root", "ec2", "StopInstances", {"InstanceIds": ["i-1"]}, "ec2"))


def test_role_session_is_its_roles_policies(lab, iam):
    template = f"arn:aws:fis:us-east-1:{ACCOUNT}:experiment-template/EXTgood"
    iam.create_role("runner", json.dumps(TRUST))
    iam.put_role_policy("runner", "p", doc({"Effect": "Allow", "Action": "fis:StartExperiment", "Resource": template}))
    enforce.check(
        request(lab, session("runner"), "fis", "StartExperiment", {"experimentTemplateId": "EXTgood"}, "rest-json")
    )
    with pytest.raises(AwsError) as other:
        enforce.check(
            request(lab, session("runner"), "fis", "StartExperiment", {"experimentTemplateId": "EXTbad"}, "rest-json")
        )
    assert other.value.code == "AccessDeniedException"
    assert f"fis:StartExperiment on resource: arn:aws:fis:us-east-1:{ACCOUNT}:experiment-template/EXTbad" in (
        other.value.message
    )
    with pytest.raises(AwsError) as stop:
        enforce.check(request(lab, session("runner"), "ec2", "StopInstances", {"InstanceIds": ["i-1"]}, "ec2"))
    assert stop.value.code == "UnauthorizedOperation"


def test_explicit_deny_wins_and_conditions_see_region_and_user(lab, iam):
    iam.create_user("ops")
    iam.put_user_policy(
        "ops",
        "allow",
        doc(
            {
                "Effect": "Allow",
                "Action": "ec2:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:username": "ops"}},
            }
        ),
    )
    user = f"arn:aws:iam::{ACCOUNT}:user/ops"
    enforce.check(request(lab, user, "ec2", "DescribeInstances", {}, "ec2"))
    arn = iam.create_policy("no-stop", doc({"Effect": "Deny", "Action": "ec2:StopInstances", "Resource": "*"})).arn
    iam.attach_user_policy("ops", arn)
    with pytest.raises(AwsError) as denied:
        enforce.check(request(lab, user, "ec2", "StopInstances", {"InstanceIds": ["i-1"]}, "ec2"))
    assert "with an explicit deny in an identity-based policy" in denied.value.message
    iam.detach_user_policy("ops", arn)
    elsewhere = request(lab, user, "ec2", "DescribeInstances", {}, "ec2")
    elsewhere.region = "eu-west-1"
    with pytest.raises(AwsError):
        enforce.check(elsewhere)


def test_resource_tag_condition_reads_the_instance_tags(lab, iam):
    lab.ec2 = type("Ec2", (), {"instances": {"i-1": type("I", (), {"tags": {"Project": "chaos-lab"}})()}})()
    iam.create_role("fis", json.dumps(TRUST))
    iam.put_role_policy(
        "fis",
        "p",
        doc(
            {
                "Effect": "Allow",
                "Action": "ec2:StopInstances",
                "Resource": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
                "Condition": {"StringEquals": {"ec2:ResourceTag/Project": "chaos-lab"}},
            }
        ),
    )
    enforce.check(request(lab, session("fis"), "ec2", "StopInstances", {"InstanceIds": ["i-1"]}, "ec2"))
    with pytest.raises(AwsError) as untagged:
        enforce.check(request(lab, session("fis"), "ec2", "StopInstances", {"InstanceIds": ["i-1", "i-2"]}, "ec2"))
    assert untagged.value.message.split(" on resource: ")[1].startswith(
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-2 "
    )


def test_unknown_principal_is_denied(lab):
    with pytest.raises(AwsError):
        enforce.check(request(lab, session("gone"), "ec2", "DescribeInstances", {}, "ec2"))


def test_get_caller_identity_needs_no_permission(lab):
    enforce.check(request(lab, session("gone"), "sts", "GetCallerIdentity", {}, "query"))


def test_opt_in_from_the_command_line_and_the_stack():
    assert _parse(["--enforce-iam"]).enforce_iam and not _parse([]).enforce_iam
    assert "--enforce-iam" in daemon_args(None, False, None, "auto", enforce_iam=True)
    assert "--enforce-iam" not in daemon_args(None, False, None, "auto")
    validate_stack({"name": "x", "iam": {"enforce": True}})
    with pytest.raises(ChaoslabError):
        validate_stack({"name": "x", "iam": {"enforce": "yes"}})
