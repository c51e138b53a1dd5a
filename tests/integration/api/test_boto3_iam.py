"""IAM with unmodified boto3 against a real lab: roles with trust policies, inline policies, the
AWS managed FIS policies attached and detached, tags, and IAM's modeled exceptions."""

from __future__ import annotations

import json

import pytest
from api_lab import LabHandle

pytestmark = pytest.mark.timeout(60)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ec2:StopInstances", "ec2:StartInstances"], "Resource": "*"}],
}
EC2_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"


@pytest.fixture(scope="module")
def iam(lab: LabHandle):
    return lab.client("iam")


def test_roles_inline_and_managed_policies(iam) -> None:
    role = iam.create_role(
        RoleName="fis-role", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=[{"Key": "team", "Value": "sre"}]
    )["Role"]
    assert role["Arn"] == "arn:aws:iam::123456789012:role/fis-role" and role["RoleId"].startswith("AROA")
    got = iam.get_role(RoleName="fis-role")["Role"]
    assert got["AssumeRolePolicyDocument"] == TRUST  # boto3 url-decodes and parses it, as from AWS
    assert "fis-role" in [r["RoleName"] for r in iam.list_roles()["Roles"]]

    iam.put_role_policy(RoleName="fis-role", PolicyName="ec2-stop", PolicyDocument=json.dumps(POLICY))
    assert iam.list_role_policies(RoleName="fis-role")["PolicyNames"] == ["ec2-stop"]
    assert iam.get_role_policy(RoleName="fis-role", PolicyName="ec2-stop")["PolicyDocument"] == POLICY

    iam.attach_role_policy(RoleName="fis-role", PolicyArn=EC2_ACCESS)
    attached = iam.list_attached_role_policies(RoleName="fis-role")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSFaultInjectionSimulatorEC2Access", "PolicyArn": EC2_ACCESS}]
    managed = iam.get_policy(PolicyArn=EC2_ACCESS)["Policy"]
    version = iam.get_policy_version(PolicyArn=EC2_ACCESS, VersionId=managed["DefaultVersionId"])["PolicyVersion"]
    actions = json.dumps(version["Document"])
    assert "ec2:StopInstances" in actions

    iam.tag_role(RoleName="fis-role", Tags=[{"Key": "tier", "Value": "1"}])
    iam.untag_role(RoleName="fis-role", TagKeys=["team"])
    assert iam.list_role_tags(RoleName="fis-role")["Tags"] == [{"Key": "tier", "Value": "1"}]

    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_role(RoleName="fis-role")
    iam.detach_role_policy(RoleName="fis-role", PolicyArn=EC2_ACCESS)
    iam.delete_role_policy(RoleName="fis-role", PolicyName="ec2-stop")
    iam.delete_role(RoleName="fis-role")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="fis-role")


def test_errors_are_modeled_exceptions(iam) -> None:
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="never-made")
    iam.create_role(RoleName="twice", AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="twice", AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.put_role_policy(RoleName="twice", PolicyName="bad", PolicyDocument="{not json")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(RoleName="twice", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
