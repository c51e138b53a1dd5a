"""IAM through the real gateway: boto3 and the AWS CLI (a real child process) speak the query/XML
protocol to a served lab, and the FIS-facing authorize sees what they created."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from chaoslab.aws.gateway import Gateway
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.iam.backend import IamBackend
from chaoslab.store import Store

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
SEED_003 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:StartInstances"],
            "Resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
            "Condition": {"StringEquals": {"ec2:ResourceTag/Project": "chaos-lab"}},
        },
        {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
    ],
}


@pytest.fixture
def served(tmp_path):
    lab = SimpleNamespace(
        config=LabConfig(home=tmp_path, api_port=0), store=Store(tmp_path / "state.db"), events=EventLog()
    )
    lab.iam = IamBackend(lab)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(lab.iam.start(), loop).result(10)
    gateway = Gateway(lab)
    asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(10)
    try:
        yield lab, gateway
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        lab.store.close()


def client(gateway):
    return boto3.session.Session().client(
        "iam",
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_boto3_role_lifecycle_and_authorize(served):
    lab, gateway = served
    iam = client(gateway)
    role = iam.create_role(
        RoleName="chaos-lab-fis-role",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[{"Key": "Project", "Value": "chaos-lab"}],
    )["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST  # botocore URL-decodes and parses it
    iam.put_role_policy(
        RoleName="chaos-lab-fis-role", PolicyName="chaos-lab-fis-policy", PolicyDocument=json.dumps(SEED_003)
    )
    assert (
        iam.get_role_policy(RoleName="chaos-lab-fis-role", PolicyName="chaos-lab-fis-policy")["PolicyDocument"]
        == SEED_003
    )
    iam.attach_role_policy(
        RoleName="chaos-lab-fis-role",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorRDSAccess",
    )
    attached = iam.list_attached_role_policies(RoleName="chaos-lab-fis-role")["AttachedPolicies"]
    assert [a["PolicyName"] for a in attached] == ["AWSFaultInjectionSimulatorRDSAccess"]

    instance = "arn:aws:ec2:us-east-1:123456789012:instance/i-0ef097d855de7f9a9"
    assert lab.iam.authorize(role["Arn"], "ec2:StopInstances", instance, {"Project": "chaos-lab"}).allowed
    assert not lab.iam.authorize(role["Arn"], "ec2:StopInstances", instance, {"Project": "other"}).allowed
    assert lab.iam.trusts_service(role["Arn"], "fis.amazonaws.com")

    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(RoleName="chaos-lab-fis-role", PolicyArn="arn:aws:iam::aws:policy/Nope")
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_role(RoleName="chaos-lab-fis-role")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException) as bad:
        iam.put_role_policy(RoleName="chaos-lab-fis-role", PolicyName="x", PolicyDocument='{"Statement": [{}]}')
    assert "Statement[0]" in bad.value.response["Error"]["Message"]
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="chaos-lab-fis-role", AssumeRolePolicyDocument=json.dumps(TRUST))

    paginated = [
        r["RoleName"]
        for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1})
        for r in page["Roles"]
    ]
    assert paginated == ["chaos-lab-fis-role"]
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    assert "AWSFaultInjectionSimulatorEC2Access" in names


def test_aws_cli_creates_role_from_files(served, tmp_path):
    """Seed 002's exact commands: `aws iam create-role … file://fis-trust-policy.json`."""
    lab, gateway = served
    trust = tmp_path / "fis-trust-policy.json"
    trust.write_text(json.dumps(TRUST, indent=2))
    perms = tmp_path / "fis-permissions-policy.json"
    perms.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EC2FaultPermissions",
                        "Effect": "Allow",
                        "Resource": "*",
                        "Action": [
                            "ec2:StopInstances",
                            "ec2:StartInstances",
                            "ec2:TerminateInstances",
                            "ec2:DescribeInstances",
                        ],
                    }
                ],
            }
        )
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    aws = [str(Path(sys.executable).with_name("aws")), "--endpoint-url", gateway.endpoint_url, "--output", "json"]

    def run(*args):
        done = subprocess.run(aws + list(args), env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    created = run(
        "iam",
        "create-role",
        "--role-name",
        "EnterpriseFISExecutionRole",
        "--assume-role-policy-document",
        f"file://{trust}",
    )
    run(
        "iam",
        "put-role-policy",
        "--role-name",
        "EnterpriseFISExecutionRole",
        "--policy-name",
        "FISResourceManipulationAccess",
        "--policy-document",
        f"file://{perms}",
    )
    arn = created["Role"]["Arn"]
    assert arn == "arn:aws:iam::123456789012:role/EnterpriseFISExecutionRole"
    assert run("iam", "list-role-policies", "--role-name", "EnterpriseFISExecutionRole")["PolicyNames"] == [
        "FISResourceManipulationAccess"
    ]
    assert lab.iam.authorize(arn, "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1").allowed
    assert not lab.iam.authorize(arn, "ecs:StopTask", "arn:aws:ecs:us-east-1:123456789012:task/c/t").allowed
