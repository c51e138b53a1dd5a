"""The seeds' own policies, as written in their articles, decide what FIS may do."""

from __future__ import annotations

import json

import pytest

ACCOUNT = "123456789012"
FIS_TRUST = {
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

# Seed 002: fis-permissions-policy.json, verbatim.
SEED_002_POLICY = """{
"Version": "2012-10-17",
"Statement": [
{"Sid": "EC2FaultPermissions", "Effect": "Allow",
 "Action": ["ec2:StopInstances", "ec2:StartInstances", "ec2:TerminateInstances", "ec2:DescribeInstances"],
 "Resource": "*"},
{"Sid": "SSMCommandPermissions", "Effect": "Allow",
 "Action": ["ssm:SendCommand", "ssm:GetCommandInvocation"], "Resource": "*"},
{"Sid": "CloudWatchAlarmRead", "Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"}
]
}"""

# Seed 003: the aws_iam_role_policy "fis" after jsonencode, with region/account filled in.
SEED_003_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:StartInstances"],
            "Resource": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
            "Condition": {"StringEquals": {"ec2:ResourceTag/Project": "chaos-lab"}},
        },
        {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
    ],
}


def instance(i="i-0ef097d855de7f9a9"):
    return f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{i}"


@pytest.fixture
def seed3(iam):
    role = iam.create_role("chaos-lab-fis-role", json.dumps(FIS_TRUST))
    iam.put_role_policy(role.name, "chaos-lab-fis-policy", json.dumps(SEED_003_POLICY))
    return role


@pytest.mark.parametrize("action", ["ec2:StopInstances", "ec2:StartInstances"])
def test_seed_003_allows_only_tagged_instances(iam, seed3, action):
    assert iam.authorize(seed3.arn, action, instance(), {"Project": "chaos-lab"}).allowed
    for tags in ({"Project": "other"}, {}, None, {"Owner": "chaos-lab"}):
        decision = iam.authorize(seed3.arn, action, instance(), tags)
        assert not decision.allowed, tags
        assert decision.reason.startswith(
            f'Role "{seed3.arn}" does not have sufficient privileges to perform {action}.'
        )


def test_seed_003_denies_terminate_and_other_regions(iam, seed3):
    tagged = {"Project": "chaos-lab"}
    assert not iam.authorize(seed3.arn, "ec2:TerminateInstances", instance(), tagged).allowed
    other_region = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-1"
    assert not iam.authorize(seed3.arn, "ec2:StopInstances", other_region, tagged).allowed
    assert iam.authorize(seed3.arn, "ec2:DescribeInstances", "*").allowed


def test_seed_002_policies_as_written(iam):
    role = iam.create_role("EnterpriseFISExecutionRole", json.dumps(FIS_TRUST, indent=2))
    iam.put_role_policy(role.name, "FISResourceManipulationAccess", SEED_002_POLICY)
    assert iam.trusts_service(role.arn, "fis.amazonaws.com")
    for action in ("ec2:StopInstances", "ec2:TerminateInstances", "ssm:SendCommand", "cloudwatch:DescribeAlarms"):
        assert iam.authorize(role.arn, action, instance()).allowed, action
    denied = iam.authorize(role.arn, "rds:FailoverDBCluster", f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:prod")
    assert not denied.allowed and "rds:FailoverDBCluster" in denied.reason


def test_trust_requires_the_fis_principal(iam):
    ec2_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role("ec2-only", json.dumps(ec2_trust))
    assert not iam.trusts_service(role.arn, "fis.amazonaws.com")
    assert iam.trusts_service(role.arn, "ec2.amazonaws.com")
    assert not iam.trusts_service("arn:aws:iam::123456789012:role/missing")


def test_trust_with_recommended_source_conditions(iam):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "fis.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:fis:us-east-1:{ACCOUNT}:experiment/*"},
                },
            }
        ],
    }
    role = iam.create_role("fis-conditional", json.dumps(trust))
    assert iam.trusts_service(role.arn, source_arn=f"arn:aws:fis:us-east-1:{ACCOUNT}:experiment/EXP123")
    assert not iam.trusts_service(role.arn, source_arn="arn:aws:fis:us-east-1:999999999999:experiment/EXP123")
    assert not iam.trusts_service(role.arn)  # no experiment: the SourceArn key is missing


def test_trust_deny_statement_wins(iam):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:*"},
        ],
    }
    role = iam.create_role("denied", json.dumps(trust))
    assert not iam.trusts_service(role.arn)


@pytest.mark.parametrize(
    "policy, action, resource, tags, allowed",
    [
        ("AWSFaultInjectionSimulatorEC2Access", "ec2:StopInstances", instance(), None, True),
        (
            "AWSFaultInjectionSimulatorEC2Access",
            "rds:FailoverDBCluster",
            "arn:aws:rds:us-east-1:1:cluster:c",
            None,
            False,
        ),
        (
            "AWSFaultInjectionSimulatorECSAccess",
            "ecs:StopTask",
            f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/abc",
            None,
            True,
        ),
        ("AWSFaultInjectionSimulatorECSAccess", "ec2:TerminateInstances", instance(), None, False),
        (
            "AWSFaultInjectionSimulatorRDSAccess",
            "rds:FailoverDBCluster",
            f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:db",
            None,
            True,
        ),
        (
            "AWSFaultInjectionSimulatorRDSAccess",
            "rds:RebootDBInstance",
            f"arn:aws:rds:us-east-1:{ACCOUNT}:db:db-1",
            None,
            True,
        ),
        (
            "AWSFaultInjectionSimulatorNetworkAccess",
            "ec2:DeleteNetworkAcl",
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-acl/acl-1",
            {"managedByFIS": "true"},
            True,
        ),
        (
            "AWSFaultInjectionSimulatorNetworkAccess",
            "ec2:DeleteNetworkAcl",
            f"arn:aws:ec2:us-east-1:{ACCOUNT}:network-acl/acl-1",
            None,
            False,
        ),
        ("AWSFaultInjectionSimulatorSSMAccess", "ssm:SendCommand", instance(), None, True),
    ],
)
def test_aws_managed_fis_policies(iam, policy, action, resource, tags, allowed):
    role = iam.create_role("managed-user", json.dumps(FIS_TRUST))
    iam.attach_role_policy(role.name, f"arn:aws:iam::aws:policy/service-role/{policy}")
    assert iam.authorize(role.arn, action, resource, tags).allowed is allowed


def test_explicit_deny_in_one_policy_overrides_managed_allow(iam):
    role = iam.create_role("guarded", json.dumps(FIS_TRUST))
    iam.attach_role_policy(role.name, "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access")
    iam.put_role_policy(
        role.name,
        "no-prod",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ProtectProd",
                        "Effect": "Deny",
                        "Action": "ec2:*",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/Env": "prod"}},
                    }
                ],
            }
        ),
    )
    assert iam.authorize(role.arn, "ec2:StopInstances", instance(), {"Env": "dev"}).allowed
    decision = iam.authorize(role.arn, "ec2:StopInstances", instance(), {"Env": "prod"})
    assert not decision.allowed and decision.matched_statement["Sid"] == "ProtectProd"
    assert "ProtectProd" in decision.reason


def test_context_keys_offered_to_conditions(iam):
    role = iam.create_role("ctx", json.dumps(FIS_TRUST), tags={"team": "blue"})
    iam.put_role_policy(
        role.name,
        "p",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ec2:StopInstances",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "aws:RequestedRegion": "us-east-1",
                                "aws:PrincipalArn": role.arn,
                                "aws:ResourceTag/Owner": "${aws:PrincipalTag/team}",
                            }
                        },
                    }
                ],
            }
        ),
    )
    assert iam.authorize(role.arn, "ec2:StopInstances", instance(), {"Owner": "blue"}).allowed
    assert not iam.authorize(role.arn, "ec2:StopInstances", instance(), {"Owner": "red"}).allowed
    west = f"arn:aws:ec2:us-west-2:{ACCOUNT}:instance/i-1"
    assert not iam.authorize(role.arn, "ec2:StopInstances", west, {"Owner": "blue"}).allowed
    override = {"aws:RequestedRegion": "us-east-1"}
    assert iam.authorize(role.arn, "ec2:StopInstances", west, {"Owner": "blue"}, override).allowed


def test_time_window_condition(iam):
    role = iam.create_role("windowed", json.dumps(FIS_TRUST))
    iam.put_role_policy(
        role.name,
        "p",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ec2:*",
                        "Resource": "*",
                        "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                    },
                    {
                        "Effect": "Deny",
                        "Action": "ec2:TerminateInstances",
                        "Resource": "*",
                        "Condition": {"NumericGreaterThan": {"aws:EpochTime": "1577836800"}},
                    },
                ],
            }
        ),
    )
    assert iam.authorize(role.arn, "ec2:StopInstances", instance()).allowed
    assert not iam.authorize(role.arn, "ec2:TerminateInstances", instance()).allowed


def test_unknown_role_is_refused(iam):
    decision = iam.authorize("arn:aws:iam::123456789012:role/ghost", "ec2:StopInstances", instance())
    assert not decision.allowed and "ghost" in decision.reason
