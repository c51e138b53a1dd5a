"""IAM enforced for API callers, through the real gateway and boto3: a role session allowed only
`fis:StartExperiment` on one template, a user made with CreateUser/CreateAccessKey, and the same
lab with enforcement off answering as before. One served lab for the module (real IAM, EC2, FIS,
CloudWatch and Logs backends; experiments run at 1/100 of their time)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.process import ProcessRuntime
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.fis.backend import FisBackend
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.logs.backend import LogsBackend
from chaoslab.store import Store

ACCOUNT = "123456789012"
INSTANCE = "i-0123456789abcdef0"
FIS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ACCOUNT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimpleNamespace, Gateway]]:
    home = tmp_path_factory.mktemp("iam-enforced")
    config = LabConfig(home=home, api_port=0, account_id=ACCOUNT, enforce_iam=True)
    lab = SimpleNamespace(clock=LabClock(), config=config, store=Store(home / "s.db"), events=EventLog())
    lab.iam, lab.cloudwatch, lab.logs = IamBackend(lab), CloudWatchBackend(lab), LogsBackend(lab)
    lab.ec2 = Ec2Backend(lab, ProcessRuntime(), "loopback")
    lab.fis = FisBackend(lab, time_scale=0.01, stop_condition_interval=0.05)
    lab.iam.create_role("fis", json.dumps(FIS_TRUST))
    lab.iam.put_role_policy("fis", "all", policy({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = Gateway(lab)
    lab.gateway = gateway
    asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(10)
    try:
        yield lab, gateway
    finally:
        asyncio.run_coroutine_threadsafe(lab.fis.stop(), loop).result(10)
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        lab.store.close()


def client(gateway: Gateway, service: str, key: str = "test", secret: str = "test", token: str | None = None) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=gateway.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def template(fis: Any, name: str) -> str:
    body = {
        "description": name,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/fis",
        "stopConditions": [{"source": "none"}],
        "actions": {"Wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
    }
    return str(fis.create_experiment_template(clientToken=name, **body)["experimentTemplate"]["id"])


@pytest.fixture(scope="module")
def runner(served: tuple[SimpleNamespace, Gateway]) -> tuple[dict[str, str], str, str]:
    """A role allowed only fis:StartExperiment on one template, assumed through STS by root."""
    _, gateway = served
    fis = client(gateway, "fis")
    allowed, other = template(fis, "allowed"), template(fis, "other")
    iam = client(gateway, "iam")
    iam.create_role(RoleName="runner", AssumeRolePolicyDocument=json.dumps(ACCOUNT_TRUST))
    arn = f"arn:aws:fis:us-east-1:{ACCOUNT}:experiment-template/{allowed}"
    iam.put_role_policy(
        RoleName="runner",
        PolicyName="one-template",
        PolicyDocument=policy({"Effect": "Allow", "Action": "fis:StartExperiment", "Resource": arn}),
    )
    creds = client(gateway, "sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/runner", RoleSessionName="ci")
    return creds["Credentials"], allowed, other


def as_runner(gateway: Gateway, creds: dict[str, str], service: str) -> Any:
    return client(gateway, service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def test_role_starts_its_template_and_nothing_else(served, runner) -> None:
    _, gateway = served
    creds, allowed, other = runner
    fis = as_runner(gateway, creds, "fis")
    started = fis.start_experiment(experimentTemplateId=allowed)["experiment"]
    assert started["experimentTemplateId"] == allowed
    with pytest.raises(ClientError) as denied:
        fis.start_experiment(experimentTemplateId=other)
    code, status, message = error(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/runner/ci is not authorized to perform: fis:StartExperiment "
        f"on resource: arn:aws:fis:us-east-1:{ACCOUNT}:experiment-template/{other} because no identity-based "
        "policy allows the fis:StartExperiment action"
    )
    with pytest.raises(ClientError) as read:
        fis.get_experiment(id=started["id"])
    assert error(read)[:2] == ("AccessDeniedException", 403)
    with pytest.raises(ClientError) as stop:
        as_runner(gateway, creds, "ec2").stop_instances(InstanceIds=[INSTANCE])
    code, status, message = error(stop)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert f"perform: ec2:StopInstances on resource: arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INSTANCE} " in message
    encoded = message.rsplit(" ", 1)[-1]
    decoded = client(gateway, "sts").decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"]
    assert json.loads(decoded)["context"]["action"] == "ec2:StopInstances"


def test_created_user_signs_as_itself_within_its_policies(served) -> None:
    _, gateway = served
    iam = client(gateway, "iam")
    user = iam.create_user(UserName="auditor")["User"]
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="read-here",
        PolicyDocument=policy(
            {
                "Effect": "Allow",
                "Action": ["ec2:Describe*", "iam:GetUser"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
            }
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    keys = (key["AccessKeyId"], key["SecretAccessKey"])
    assert client(gateway, "sts", *keys).get_caller_identity()["Arn"] == user["Arn"]
    assert client(gateway, "iam", *keys).get_user()["User"]["UserName"] == "auditor"
    assert client(gateway, "ec2", *keys).describe_instances()["Reservations"] == []
    with pytest.raises(ClientError) as stop:
        client(gateway, "ec2", *keys).stop_instances(InstanceIds=[INSTANCE])
    assert error(stop)[:2] == ("UnauthorizedOperation", 403)
    with pytest.raises(ClientError) as users:
        client(gateway, "iam", *keys).list_users()
    code, status, message = error(users)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: {user['Arn']} is not authorized to perform: iam:ListUsers on resource: * ")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="never-stop",
        PolicyDocument=policy({"Effect": "Deny", "Action": "ec2:Describe*", "Resource": "*"}),
    )
    with pytest.raises(ClientError) as deny:
        client(gateway, "ec2", *keys).describe_instances()
    assert "with an explicit deny in an identity-based policy" in error(deny)[2]
    iam.delete_access_key(UserName="auditor", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as gone:
        client(gateway, "sts", *keys).get_caller_identity()
    assert error(gone)[0] == "InvalidClientTokenId"


def test_enforcement_off_answers_as_before(served, runner) -> None:
    lab, gateway = served
    creds, _, other = runner
    lab.config.enforce_iam = False
    try:
        started = as_runner(gateway, creds, "fis").start_experiment(experimentTemplateId=other)["experiment"]
        assert started["experimentTemplateId"] == other
        with pytest.raises(ClientError) as stop:
            as_runner(gateway, creds, "ec2").stop_instances(InstanceIds=[INSTANCE])
        assert error(stop)[0] == "InvalidInstanceID.NotFound"
        deadline = time.time() + 10
        while as_runner(gateway, creds, "fis").get_experiment(id=started["id"])["experiment"]["state"][
            "status"
        ] not in ("completed", "failed"):
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        lab.config.enforce_iam = True
