"""Table-driven checks of the pure policy evaluator (no lab, no storage)."""

from __future__ import annotations

import pytest

from chaoslab.services.iam.policy import condition_key_holds, evaluate, for_principal

INSTANCE = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"


def allow(action, resource="*", **extra):
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}],
    }


@pytest.mark.parametrize(
    "pattern, action, allowed",
    [
        ("ec2:StopInstances", "ec2:StopInstances", True),
        ("EC2:stopinstances", "ec2:StopInstances", True),  # action names are case-insensitive
        ("ec2:*", "ec2:TerminateInstances", True),
        ("ec2:*", "ecs:StopTask", False),
        ("ec2:Describe*", "ec2:DescribeInstances", True),
        ("ec2:Describe*", "ec2:StopInstances", False),
        ("ec2:Stop?nstances", "ec2:StopInstances", True),
        ("ec2:Stop?nstances", "ec2:StopXXnstances", False),
        ("*", "rds:FailoverDBCluster", True),
        (["ecs:StopTask", "ec2:Start*"], "ec2:StartInstances", True),
        (["ecs:StopTask", "ec2:Start*"], "ec2:StopInstances", False),
    ],
)
def test_action_wildcards(pattern, action, allowed):
    assert evaluate([allow(pattern)], action, INSTANCE, {}).allowed is allowed


@pytest.mark.parametrize(
    "resource, allowed",
    [
        ("*", True),
        ("arn:aws:ec2:us-east-1:123456789012:instance/*", True),
        ("arn:aws:ec2:*:*:instance/*", True),
        ("arn:aws:ec2:us-east-1:123456789012:instance/i-0ab?", True),
        ("arn:aws:ec2:us-west-2:123456789012:instance/*", False),
        ("arn:aws:ec2:us-east-1:999999999999:instance/*", False),
        ("arn:aws:ec2:us-east-1:123456789012:volume/*", False),
        ("arn:aws:ec2:us-east-1:123456789012:INSTANCE/*", False),  # resources are case-sensitive
        (["arn:aws:rds:*:*:cluster:*", INSTANCE], True),
    ],
)
def test_resource_wildcards(resource, allowed):
    assert evaluate([allow("ec2:StopInstances", resource)], "ec2:StopInstances", INSTANCE, {}).allowed is allowed


def test_implicit_deny_names_nothing():
    decision = evaluate([allow("ec2:DescribeInstances")], "ec2:TerminateInstances", INSTANCE, {})
    assert not decision.allowed and decision.matched_statement is None
    assert "ec2:TerminateInstances" in decision.reason


def test_explicit_deny_beats_allow_in_any_order():
    deny = {"Statement": {"Sid": "NoStop", "Effect": "Deny", "Action": "ec2:Stop*", "Resource": "*"}}
    for policies in ([allow("ec2:*"), deny], [deny, allow("ec2:*")]):
        decision = evaluate(policies, "ec2:StopInstances", INSTANCE, {})
        assert not decision.allowed
        assert decision.matched_statement["Sid"] == "NoStop"
        assert "explicitly denied" in decision.reason
    assert evaluate([allow("ec2:*"), deny], "ec2:StartInstances", INSTANCE, {}).allowed


def test_not_action_and_not_resource():
    everything_but_terminate = {"Statement": [{"Effect": "Allow", "NotAction": "ec2:Terminate*", "Resource": "*"}]}
    assert evaluate([everything_but_terminate], "ec2:StopInstances", INSTANCE, {}).allowed
    assert not evaluate([everything_but_terminate], "ec2:TerminateInstances", INSTANCE, {}).allowed
    not_prod = {
        "Statement": [{"Effect": "Allow", "Action": "ec2:*", "NotResource": "arn:aws:ec2:*:*:instance/i-prod*"}]
    }
    assert evaluate([not_prod], "ec2:StopInstances", INSTANCE, {}).allowed
    assert not evaluate([not_prod], "ec2:StopInstances", INSTANCE.replace("i-0abc", "i-prod1"), {}).allowed


TAGS = {"ec2:ResourceTag/Project": "chaos-lab", "aws:ResourceTag/Project": "chaos-lab"}
MULTI = {"aws:TagKeys": ["Project", "Owner"]}


@pytest.mark.parametrize(
    "operator, key, values, ctx, holds",
    [
        # strings; keys are case-insensitive, values are not (except IgnoreCase)
        ("StringEquals", "ec2:ResourceTag/Project", "chaos-lab", TAGS, True),
        ("StringEquals", "EC2:RESOURCETAG/project", "chaos-lab", TAGS, True),
        ("StringEquals", "ec2:ResourceTag/Project", "Chaos-Lab", TAGS, False),
        ("StringEquals", "ec2:ResourceTag/Project", ["other", "chaos-lab"], TAGS, True),  # values OR
        ("StringEquals", "ec2:ResourceTag/Project", "chaos-lab", {}, False),  # missing key
        ("StringNotEquals", "ec2:ResourceTag/Project", "other", TAGS, True),
        ("StringNotEquals", "ec2:ResourceTag/Project", ["other", "chaos-lab"], TAGS, False),
        ("StringNotEquals", "ec2:ResourceTag/Project", "chaos-lab", {}, True),  # missing key
        ("StringEqualsIgnoreCase", "ec2:ResourceTag/Project", "CHAOS-LAB", TAGS, True),
        ("StringNotEqualsIgnoreCase", "ec2:ResourceTag/Project", "CHAOS-LAB", TAGS, False),
        ("StringLike", "ec2:ResourceTag/Project", "chaos-*", TAGS, True),
        ("StringLike", "ec2:ResourceTag/Project", "chaos-la?", TAGS, True),
        ("StringLike", "ec2:ResourceTag/Project", "prod-*", TAGS, False),
        ("StringNotLike", "ec2:ResourceTag/Project", "prod-*", TAGS, True),
        ("StringNotLike", "ec2:ResourceTag/Project", "*lab", TAGS, False),
        # ARNs
        (
            "ArnEquals",
            "aws:SourceArn",
            "arn:aws:fis:us-east-1:123456789012:experiment/EXP1",
            {"aws:SourceArn": "arn:aws:fis:us-east-1:123456789012:experiment/EXP1"},
            True,
        ),
        (
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:fis:*:123456789012:experiment/*",
            {"aws:SourceArn": "arn:aws:fis:us-east-1:123456789012:experiment/EXP1"},
            True,
        ),
        (
            "ArnLike",
            "aws:SourceArn",
            "arn:aws:fis:*:123456789012:experiment/*",
            {"aws:SourceArn": "arn:aws:fis:us-east-1:999999999999:experiment/EXP1"},
            False,
        ),
        (
            "ArnNotEquals",
            "aws:SourceArn",
            "arn:aws:fis:us-east-1:123456789012:experiment/EXP2",
            {"aws:SourceArn": "arn:aws:fis:us-east-1:123456789012:experiment/EXP1"},
            True,
        ),
        (
            "ArnNotLike",
            "aws:SourceArn",
            "arn:aws:fis:*:*:experiment/*",
            {"aws:SourceArn": "arn:aws:fis:us-east-1:123456789012:experiment/EXP1"},
            False,
        ),
        # numbers
        ("NumericEquals", "s:n", "10", {"s:n": "10.0"}, True),
        ("NumericNotEquals", "s:n", "10", {"s:n": "11"}, True),
        ("NumericLessThan", "s:n", "10", {"s:n": "9"}, True),
        ("NumericLessThan", "s:n", "10", {"s:n": "10"}, False),
        ("NumericLessThanEquals", "s:n", 10, {"s:n": "10"}, True),
        ("NumericGreaterThan", "s:n", "10", {"s:n": "10"}, False),
        ("NumericGreaterThanEquals", "s:n", "10", {"s:n": "10"}, True),
        ("NumericEquals", "s:n", "10", {"s:n": "ten"}, False),
        # booleans and Null
        ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": "true"}, True),
        ("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": "false"}, False),
        ("Null", "ec2:ResourceTag/Project", "true", {}, True),
        ("Null", "ec2:ResourceTag/Project", "true", TAGS, False),
        ("Null", "ec2:ResourceTag/Project", "false", TAGS, True),
        # dates: ISO 8601 or epoch seconds
        ("DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z", {"aws:CurrentTime": "2026-11-22T00:00:00Z"}, True),
        (
            "DateGreaterThan",
            "aws:CurrentTime",
            "2030-01-01T00:00:00Z",
            {"aws:CurrentTime": "2026-11-22T00:00:00Z"},
            False,
        ),
        ("DateEquals", "aws:EpochTime", "2026-11-22T00:00:00Z", {"aws:EpochTime": "1795305600"}, True),
        ("DateNotEquals", "aws:EpochTime", "1795305600", {"aws:EpochTime": "1795305601"}, True),
        ("DateLessThanEquals", "aws:CurrentTime", "2026-11-22", {"aws:CurrentTime": "2026-11-22T00:00:00Z"}, True),
        ("DateGreaterThanEquals", "aws:CurrentTime", "garbage", {"aws:CurrentTime": "2026-11-22T00:00:00Z"}, False),
        ("BinaryEquals", "s:b", "QmluYXJ5", {"s:b": "QmluYXJ5"}, True),
        # IP addresses
        ("IpAddress", "aws:SourceIp", "10.0.0.0/16", {"aws:SourceIp": "10.0.10.5"}, True),
        ("NotIpAddress", "aws:SourceIp", "10.0.0.0/16", {"aws:SourceIp": "192.168.1.1"}, True),
        # IfExists: a missing key passes, a present key is checked
        ("StringEqualsIfExists", "ec2:ResourceTag/Project", "chaos-lab", {}, True),
        ("StringEqualsIfExists", "ec2:ResourceTag/Project", "other", TAGS, False),
        ("NumericLessThanIfExists", "s:n", "5", {"s:n": "3"}, True),
        # set qualifiers on multi-valued keys
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["Owner", "Cost"], MULTI, True),
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["Cost"], MULTI, False),
        ("ForAnyValue:StringEquals", "aws:TagKeys", ["Cost"], {}, False),
        ("ForAllValues:StringEquals", "aws:TagKeys", ["Project", "Owner", "Cost"], MULTI, True),
        ("ForAllValues:StringEquals", "aws:TagKeys", ["Project"], MULTI, False),
        ("ForAllValues:StringEquals", "aws:TagKeys", ["Project"], {}, True),  # vacuously true
        ("ForAllValues:StringLike", "aws:TagKeys", ["P*", "O*"], MULTI, True),
        ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["Project"], MULTI, True),
        ("ForAllValues:StringNotEquals", "aws:TagKeys", ["Cost"], MULTI, True),
        ("ForAllValues:StringNotEquals", "aws:TagKeys", ["Owner"], MULTI, False),
        # unknown operators never hold
        ("StringSortOf", "s:n", "x", {"s:n": "x"}, False),
    ],
)
def test_condition_operators(operator, key, values, ctx, holds):
    assert condition_key_holds(operator, key, values, ctx) is holds


def test_condition_keys_and_operators_are_anded():
    policy = allow(
        "ec2:StopInstances",
        Condition={
            "StringEquals": {"ec2:ResourceTag/Project": "chaos-lab", "aws:RequestedRegion": "us-east-1"},
            "Bool": {"aws:SecureTransport": "true"},
        },
    )
    ctx = {**TAGS, "aws:RequestedRegion": "us-east-1", "aws:SecureTransport": "true"}
    assert evaluate([policy], "ec2:StopInstances", INSTANCE, ctx).allowed
    for drop in ("aws:RequestedRegion", "aws:SecureTransport", "ec2:ResourceTag/Project"):
        partial = {k: v for k, v in ctx.items() if k != drop}
        assert not evaluate([policy], "ec2:StopInstances", INSTANCE, partial).allowed, drop


def test_policy_variables():
    policy = allow(
        "ec2:StopInstances",
        "arn:aws:ec2:*:*:instance/*",
        Condition={"StringEquals": {"ec2:ResourceTag/Owner": "${aws:PrincipalTag/team}"}},
    )
    ctx = {"ec2:ResourceTag/Owner": "blue", "aws:PrincipalTag/team": "blue"}
    assert evaluate([policy], "ec2:StopInstances", INSTANCE, ctx).allowed
    assert not evaluate([policy], "ec2:StopInstances", INSTANCE, {**ctx, "aws:PrincipalTag/team": "red"}).allowed
    assert not evaluate([policy], "ec2:StopInstances", INSTANCE, {"ec2:ResourceTag/Owner": "blue"}).allowed
    defaulted = allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username, 'anon'}/*")
    assert evaluate([defaulted], "s3:GetObject", "arn:aws:s3:::bucket/anon/x", {}).allowed
    literal = allow("s3:GetObject", "arn:aws:s3:::bucket/${*}")
    assert evaluate([literal], "s3:GetObject", "arn:aws:s3:::bucket/*", {}).allowed
    assert not evaluate([literal], "s3:GetObject", "arn:aws:s3:::bucket/x", {}).allowed


def test_policy_variables_are_literal_in_2008_documents():
    old = {
        "Version": "2008-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:username}"}],
    }
    ctx = {"aws:username": "alice"}
    assert not evaluate([old], "s3:GetObject", "arn:aws:s3:::bucket/alice", ctx).allowed
    assert evaluate([old], "s3:GetObject", "arn:aws:s3:::bucket/${aws:username}", ctx).allowed
    assert evaluate([{**old, "Version": "2012-10-17"}], "s3:GetObject", "arn:aws:s3:::bucket/alice", ctx).allowed


def test_trust_policy_principal_filter():
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["ecs-tasks.amazonaws.com", "fis.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    fis = for_principal(trust, "Service", "fis.amazonaws.com")
    assert evaluate([fis], "sts:AssumeRole", "*", {}).allowed
    ec2 = for_principal(trust, "Service", "ec2.amazonaws.com")
    assert not evaluate([ec2], "sts:AssumeRole", "*", {}).allowed
