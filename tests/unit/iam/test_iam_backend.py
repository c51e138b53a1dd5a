"""Role and policy lifecycle through the API handlers, with IAM's error codes; every output is
checked against botocore's output shape so the wire layer can serialise it."""

from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import quote, unquote

import botocore.session
import pytest
from botocore.validate import ParamValidator
from iam_helpers import make_lab

from chaoslab.errors import AwsError
from chaoslab.services.iam.api import OPERATIONS

MODEL = botocore.session.get_session().get_service_model("iam")
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}
)


@pytest.fixture
def call(lab):
    ctx = SimpleNamespace(lab=lab, region="us-east-1", account_id="123456789012", principal_arn=None, request_id="r")

    def invoke(op, _raw=False, **params):
        """`_raw` skips the client-side input check, to send what a careless client could."""
        op_model = MODEL.operation_model(op)
        assert _raw or not ParamValidator().validate(params, op_model.input_shape).has_errors(), params
        out = OPERATIONS[op](ctx, params)
        report = ParamValidator().validate(out, op_model.output_shape) if op_model.output_shape else None
        assert report is None or not report.has_errors(), report.generate_report()
        return out

    return invoke


def error_of(fn, *args, **kwargs) -> AwsError:
    with pytest.raises(AwsError) as info:
        fn(*args, **kwargs)
    return info.value


def test_create_get_list_delete_role(call):
    role = call(
        "CreateRole",
        RoleName="fis-role",
        AssumeRolePolicyDocument=TRUST,
        Path="/chaos/",
        Description="FIS experiments",
        MaxSessionDuration=7200,
        Tags=[{"Key": "Project", "Value": "chaos-lab"}],
    )["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/chaos/fis-role"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    assert json.loads(unquote(role["AssumeRolePolicyDocument"])) == json.loads(TRUST)
    got = call("GetRole", RoleName="FIS-ROLE")["Role"]  # names are case-insensitive
    assert got["RoleId"] == role["RoleId"] and got["MaxSessionDuration"] == 7200
    assert got["Tags"] == [{"Key": "Project", "Value": "chaos-lab"}]
    assert [r["RoleName"] for r in call("ListRoles")["Roles"]] == ["fis-role"]
    assert call("ListRoles", PathPrefix="/other/")["Roles"] == []
    call("DeleteRole", RoleName="fis-role")
    assert error_of(call, "GetRole", RoleName="fis-role").code == "NoSuchEntity"


def test_role_errors(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    dup = error_of(call, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST)
    assert (dup.code, dup.status) == ("EntityAlreadyExists", 409)
    missing = error_of(call, "DeleteRole", RoleName="nope")
    assert (missing.code, missing.status) == ("NoSuchEntity", 404)
    assert error_of(call, "CreateRole", RoleName="bad name!", AssumeRolePolicyDocument=TRUST).code == "ValidationError"
    assert (
        error_of(
            call, "CreateRole", RoleName="x", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=60, _raw=True
        ).code
        == "ValidationError"
    )
    assert (
        error_of(call, "CreateRole", RoleName="x", AssumeRolePolicyDocument=TRUST, Path="noslash").code
        == "ValidationError"
    )
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]})
    err = error_of(call, "CreateRole", RoleName="x", AssumeRolePolicyDocument=no_principal)
    assert err.code == "MalformedPolicyDocument" and "Principal" in err.message


def test_url_encoded_documents_are_accepted(call):
    call("CreateRole", RoleName="enc", AssumeRolePolicyDocument=quote(TRUST, safe=""))
    call("PutRolePolicy", RoleName="enc", PolicyName="p", PolicyDocument=quote(POLICY))
    out = call("GetRolePolicy", RoleName="enc", PolicyName="p")
    assert out["PolicyDocument"] == quote(POLICY, safe="")  # returned URL-encoded, as AWS does
    assert json.loads(unquote(out["PolicyDocument"])) == json.loads(POLICY)


def test_inline_policies(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    call("PutRolePolicy", RoleName="r", PolicyName="b", PolicyDocument=POLICY)
    call("PutRolePolicy", RoleName="r", PolicyName="a", PolicyDocument=POLICY)
    assert call("ListRolePolicies", RoleName="r")["PolicyNames"] == ["a", "b"]
    page = call("ListRolePolicies", RoleName="r", MaxItems=1)
    assert page["IsTruncated"] and page["PolicyNames"] == ["a"]
    rest = call("ListRolePolicies", RoleName="r", Marker=page["Marker"])
    assert rest["PolicyNames"] == ["b"] and not rest["IsTruncated"]
    conflict = error_of(call, "DeleteRole", RoleName="r")
    assert (conflict.code, conflict.status) == ("DeleteConflict", 409)
    call("DeleteRolePolicy", RoleName="r", PolicyName="a")
    call("DeleteRolePolicy", RoleName="r", PolicyName="b")
    assert error_of(call, "GetRolePolicy", RoleName="r", PolicyName="a").code == "NoSuchEntity"
    assert error_of(call, "DeleteRolePolicy", RoleName="r", PolicyName="a").code == "NoSuchEntity"
    call("DeleteRole", RoleName="r")


@pytest.mark.parametrize(
    "document, fragment",
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"Version": "2012-10-17"}', "Statement"),
        ('{"Version": "2020-01-01", "Statement": []}', "Version"),
        ('{"Version": "2012-10-17", "Statement": []}', "empty"),
        ('{"Statement": {"Effect": "Maybe", "Action": "ec2:*", "Resource": "*"}}', "Statement[0]: Effect"),
        ('{"Statement": [{"Effect": "Allow", "Resource": "*"}]}', "actions"),
        ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*"}]}', "resources"),
        ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "NotAction": "s3:*", "Resource": "*"}]}', "both"),
        ('{"Statement": [{"Effect": "Allow", "Action": "StopInstances", "Resource": "*"}]}', "vendor"),
        ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "i-123"}]}', "ARN format"),
        ('{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Principal": "*"}]}', "Principal"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"StrEq": {"a:b": "c"}}}]}',
            "Invalid Condition type : StrEq",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"Null": {"ab": "true"}}}]}',
            "condition key",
        ),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}, {"Effect": "Allow", "Action": "ec2:*", '
            '"Resource": "*", "Oops": 1}]}',
            "Statement[1] has unknown field 'Oops'",
        ),
    ],
)
def test_malformed_policies_say_what_and_where(call, document, fragment):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    err = error_of(call, "PutRolePolicy", RoleName="r", PolicyName="p", PolicyDocument=document)
    assert (err.code, err.status) == ("MalformedPolicyDocument", 400)
    assert fragment in err.message


def test_policy_size_quota(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    big = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": [f"ec2:Action{i:05d}" for i in range(600)], "Resource": "*"}],
        }
    )
    assert error_of(call, "PutRolePolicy", RoleName="r", PolicyName="p", PolicyDocument=big).code == "LimitExceeded"
    assert error_of(call, "CreatePolicy", PolicyName="p", PolicyDocument=big).code == "LimitExceeded"


def test_managed_policies_and_attachments(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    created = call("CreatePolicy", PolicyName="fis-extra", PolicyDocument=POLICY, Path="/chaos/", Description="extra")[
        "Policy"
    ]
    arn = created["Arn"]
    assert arn == "arn:aws:iam::123456789012:policy/chaos/fis-extra" and created["PolicyId"].startswith("ANPA")
    assert error_of(call, "CreatePolicy", PolicyName="fis-extra", PolicyDocument=POLICY).code == "EntityAlreadyExists"
    version = call("GetPolicyVersion", PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["IsDefaultVersion"] and json.loads(unquote(version["Document"])) == json.loads(POLICY)
    assert error_of(call, "GetPolicyVersion", PolicyArn=arn, VersionId="v9").code == "NoSuchEntity"

    ec2 = "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"
    call("AttachRolePolicy", RoleName="r", PolicyArn=arn)
    call("AttachRolePolicy", RoleName="r", PolicyArn=ec2)
    attached = call("ListAttachedRolePolicies", RoleName="r")["AttachedPolicies"]
    assert attached == [
        {"PolicyName": "fis-extra", "PolicyArn": arn},
        {"PolicyName": "AWSFaultInjectionSimulatorEC2Access", "PolicyArn": ec2},
    ]
    assert call("GetPolicy", PolicyArn=ec2)["Policy"]["AttachmentCount"] == 1
    assert [p["Arn"] for p in call("ListPolicies", Scope="Local")["Policies"]] == [arn]
    assert {p["Arn"] for p in call("ListPolicies", OnlyAttached=True)["Policies"]} == {arn, ec2}
    unknown = error_of(call, "AttachRolePolicy", RoleName="r", PolicyArn="arn:aws:iam::aws:policy/Nope")
    assert (unknown.code, unknown.status) == ("NoSuchEntity", 404)
    assert error_of(call, "DeleteRole", RoleName="r").code == "DeleteConflict"
    assert error_of(call, "DeletePolicy", PolicyArn=arn).code == "DeleteConflict"
    call("DetachRolePolicy", RoleName="r", PolicyArn=arn)
    call("DetachRolePolicy", RoleName="r", PolicyArn=ec2)
    assert error_of(call, "DetachRolePolicy", RoleName="r", PolicyArn=ec2).code == "NoSuchEntity"
    call("DeletePolicy", PolicyArn=arn)
    call("DeleteRole", RoleName="r")


def test_aws_managed_fis_policies_are_preloaded(call):
    names = {p["PolicyName"]: p for p in call("ListPolicies", Scope="AWS")["Policies"]}
    for suffix in ("EC2", "ECS", "Network", "RDS", "SSM"):
        policy = names[f"AWSFaultInjectionSimulator{suffix}Access"]
        assert policy["Arn"] == f"arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulator{suffix}Access"
        assert policy["Path"] == "/service-role/"
        doc = call("GetPolicyVersion", PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]["Document"]
        assert json.loads(unquote(doc))["Statement"]


def test_attached_policy_quota(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST)
    for i in range(10):
        call(
            "AttachRolePolicy",
            RoleName="r",
            PolicyArn=call("CreatePolicy", PolicyName=f"p{i}", PolicyDocument=POLICY)["Policy"]["Arn"],
        )
    eleventh = call("CreatePolicy", PolicyName="p10", PolicyDocument=POLICY)["Policy"]["Arn"]
    assert error_of(call, "AttachRolePolicy", RoleName="r", PolicyArn=eleventh).code == "LimitExceeded"


def test_role_tags(call):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "a", "Value": "1"}])
    call("TagRole", RoleName="r", Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert call("ListRoleTags", RoleName="r")["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    call("UntagRole", RoleName="r", TagKeys=["a"])
    assert call("ListRoleTags", RoleName="r")["Tags"] == [{"Key": "b", "Value": "2"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    assert error_of(call, "TagRole", RoleName="r", Tags=too_many).code == "LimitExceeded"
    assert error_of(call, "TagRole", RoleName="r", Tags=[{"Key": "aws:x", "Value": "v"}]).code == "ValidationError"
    assert error_of(call, "ListRoleTags", RoleName="ghost").code == "NoSuchEntity"


def test_roles_and_policies_survive_a_restart(tmp_path, call, lab):
    call("CreateRole", RoleName="keep", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "t", "Value": "v"}])
    call("PutRolePolicy", RoleName="keep", PolicyName="inline", PolicyDocument=POLICY)
    arn = call("CreatePolicy", PolicyName="mine", PolicyDocument=POLICY)["Policy"]["Arn"]
    call("AttachRolePolicy", RoleName="keep", PolicyArn=arn)
    before = lab.iam.get_role("keep")
    lab.store.close()
    again = make_lab(tmp_path)
    try:
        role = again.iam.get_role("keep")
        assert (role.role_id, role.arn, role.tags, role.attached) == (before.role_id, before.arn, {"t": "v"}, [arn])
        assert again.iam.get_role_policy("keep", "inline") == POLICY
        assert again.iam.get_policy(arn).policy_id == lab.iam.get_policy(arn).policy_id
        assert again.iam.authorize(role.arn, "ec2:DescribeInstances", "*").allowed
    finally:
        again.store.close()
