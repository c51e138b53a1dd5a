"""FIS through the real gateway: boto3 and the AWS CLI against `lab.fis` with real IAM,
CloudWatch and Logs backends, experiments running on the gateway's loop."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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

ROOT = Path(__file__).parents[3]
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fis"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def make_lab(home: Path) -> SimpleNamespace:
    lab = SimpleNamespace(
        clock=LabClock(),
        config=LabConfig(home=home, api_port=0, account_id=ACCOUNT),
        store=Store(home / "s.db"),
        events=EventLog(),
    )
    lab.iam, lab.cloudwatch, lab.logs = IamBackend(lab), CloudWatchBackend(lab), LogsBackend(lab)
    lab.ec2 = Ec2Backend(lab, ProcessRuntime(), "loopback")  # no instances: DescribeInstances answers empty
    lab.fis = FisBackend(lab, time_scale=0.01, stop_condition_interval=0.05)
    lab.iam.create_role("fis", json.dumps(TRUST))
    lab.iam.put_role_policy(
        "fis",
        "all",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )
    return lab


@contextmanager
def serve(lab: Any) -> Iterator[Gateway]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = Gateway(lab)
    lab.gateway = gateway  # inject-api faults hook into it
    asyncio.run_coroutine_threadsafe(gateway.start(), loop).result(10)
    try:
        yield gateway
    finally:
        asyncio.run_coroutine_threadsafe(lab.fis.stop(), loop).result(10)
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[SimpleNamespace, Any, Gateway]]:
    lab = make_lab(tmp_path)
    with serve(lab) as gateway:
        client = boto3.session.Session().client(
            "fis",
            endpoint_url=gateway.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        yield lab, client, gateway


def body(**extra: Any) -> dict[str, Any]:
    return {
        "description": "wait a minute",
        "roleArn": ROLE,
        "stopConditions": [{"source": "none"}],
        "actions": {"Wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
        "tags": {"Name": "wait"},
        **extra,
    }


def wait_for(client: Any, exp_id: str, statuses: tuple[str, ...], timeout: float = 10) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        exp = client.get_experiment(id=exp_id)["experiment"]
        if exp["state"]["status"] in statuses:
            return exp
        time.sleep(0.05)
    raise AssertionError(f"experiment {exp_id} never reached {statuses}")


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_templates_and_experiment_lifecycle(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    lab, client, _ = env
    created = client.create_experiment_template(clientToken="tok-1", **body())["experimentTemplate"]
    assert created["id"].startswith("EXT") and created["arn"].endswith(f":experiment-template/{created['id']}")
    again = client.create_experiment_template(clientToken="tok-1", **body())["experimentTemplate"]
    assert again["id"] == created["id"]
    assert client.get_experiment_template(id=created["id"])["experimentTemplate"]["tags"] == {"Name": "wait"}

    started = client.start_experiment(experimentTemplateId=created["id"], tags={"run": "1"})["experiment"]
    assert started["state"]["status"] in ("initiating", "running")
    done = wait_for(client, started["id"], ("completed", "failed"))
    assert done["state"]["status"] == "completed"
    assert done["actions"]["Wait"]["state"]["status"] == "completed"
    assert done["endTime"] >= done["startTime"]
    listed = client.list_experiments(experimentTemplateId=created["id"])["experiments"]
    assert [e["id"] for e in listed] == [started["id"]]

    updated = client.update_experiment_template(
        id=created["id"], description="changed", experimentOptions={"emptyTargetResolutionMode": "skip"}
    )
    assert updated["experimentTemplate"]["description"] == "changed"
    assert updated["experimentTemplate"]["experimentOptions"]["emptyTargetResolutionMode"] == "skip"
    client.delete_experiment_template(id=created["id"])
    with pytest.raises(ClientError) as exc:
        client.get_experiment_template(id=created["id"])
    assert code(exc) == ("ResourceNotFoundException", 404)


def test_errors_have_fis_codes(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    _, client, _ = env
    with pytest.raises(ClientError) as exc:
        client.create_experiment_template(
            **body(
                stopConditions=[
                    {"source": "aws:cloudwatch:get-metric-alarm", "value": "arn:aws:cloudwatch:us-east-1:1:alarm:x"}
                ]
            )
        )
    assert code(exc) == ("ValidationException", 400)
    assert "stopConditions[0].source" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        client.create_experiment_template(**body(actions={"X": {"actionId": "aws:ec2:melt"}}))
    assert code(exc) == ("ResourceNotFoundException", 404)
    assert exc.value.response["Error"]["Message"] == "Action with ID aws:ec2:melt not found."
    many = {f"W{i}": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}} for i in range(21)}
    with pytest.raises(ClientError) as exc:
        client.create_experiment_template(**body(actions=many))
    assert code(exc) == ("ServiceQuotaExceededException", 402)
    with pytest.raises(ClientError) as exc:
        client.start_experiment(experimentTemplateId="EXTnope")
    assert code(exc) == ("ResourceNotFoundException", 404)


def test_stop_experiment_and_stop_condition(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    lab, client, _ = env
    long = {"Long": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT30M"}}}
    tid = client.create_experiment_template(**body(actions=long))["experimentTemplate"]["id"]
    exp = client.start_experiment(experimentTemplateId=tid)["experiment"]
    wait_for(client, exp["id"], ("running",))
    stopping = client.stop_experiment(id=exp["id"])["experiment"]
    assert stopping["state"] == {"status": "stopping", "reason": "Stopping Experiment."}
    assert wait_for(client, exp["id"], ("stopped",))["actions"]["Long"]["state"]["status"] == "stopped"

    lab.cloudwatch.put_metric_alarm(
        {
            "AlarmName": "errors",
            "MetricName": "Errors",
            "Namespace": "Shop",
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold",
        }
    )
    alarm = lab.cloudwatch.alarm_arn("errors")
    guarded = body(actions=long, stopConditions=[{"source": "aws:cloudwatch:alarm", "value": alarm}])
    tid = client.create_experiment_template(**guarded)["experimentTemplate"]["id"]
    exp = client.start_experiment(experimentTemplateId=tid)["experiment"]
    wait_for(client, exp["id"], ("running",))
    tripped = time.time()
    lab.cloudwatch.set_alarm_state("errors", "ALARM", "test")
    halted = wait_for(client, exp["id"], ("stopped",))
    assert halted["state"]["reason"] == "Experiment halted by stop condition."
    assert halted["endTime"].timestamp() - tripped < 1.0


def test_catalogue_tags_lever_and_paging(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    _, client, _ = env
    pages = list(client.get_paginator("list_actions").paginate(PaginationConfig={"PageSize": 5}))
    ids = [a["id"] for p in pages for a in p["actions"]]
    assert len(pages) > 2 and len(ids) == len(set(ids)) and "aws:ecs:stop-task" in ids
    action = client.get_action(id="aws:ec2:stop-instances")["action"]
    assert action["targets"] == {"Instances": {"resourceType": "aws:ec2:instance"}}
    assert action["parameters"]["startInstancesAfterDuration"]["required"] is False
    task_type = client.get_target_resource_type(resourceType="aws:ecs:task")["targetResourceType"]
    assert set(task_type["parameters"]) == {"cluster", "service"}
    types = client.list_target_resource_types(maxResults=100)["targetResourceTypes"]
    assert {"aws:ec2:instance", "aws:rds:cluster"} <= {t["resourceType"] for t in types}

    arn = client.create_experiment_template(**body())["experimentTemplate"]["arn"]
    client.tag_resource(resourceArn=arn, tags={"team": "sre"})
    client.untag_resource(resourceArn=arn, tagKeys=["Name"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sre"}

    assert client.get_safety_lever(id="default")["safetyLever"]["state"]["status"] == "disengaged"
    engaged = client.update_safety_lever_state(id="default", state={"status": "engaged", "reason": "freeze"})
    assert engaged["safetyLever"]["state"] == {"status": "engaged", "reason": "freeze"}
    tid = arn.rsplit("/", 1)[-1]
    exp = client.start_experiment(experimentTemplateId=tid)["experiment"]
    assert wait_for(client, exp["id"], ("cancelled",))["state"]["status"] == "cancelled"
    with pytest.raises(ClientError) as exc:
        client.update_safety_lever_state(id="default", state={"status": "engaged", "reason": "again"})
    assert code(exc) == ("ConflictException", 409)


def test_target_account_configurations(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    _, client, _ = env
    tid = client.create_experiment_template(**body(experimentOptions={"accountTargeting": "multi-account"}))[
        "experimentTemplate"
    ]["id"]
    made = client.create_target_account_configuration(
        experimentTemplateId=tid, accountId="210987654321", roleArn="arn:aws:iam::210987654321:role/fis"
    )
    assert made["targetAccountConfiguration"]["accountId"] == "210987654321"
    assert client.get_experiment_template(id=tid)["experimentTemplate"]["targetAccountConfigurationsCount"] == 1
    listed = client.list_target_account_configurations(experimentTemplateId=tid)["targetAccountConfigurations"]
    assert [c["accountId"] for c in listed] == ["210987654321"]
    exp = client.start_experiment(experimentTemplateId=tid)["experiment"]
    got = client.get_experiment_target_account_configuration(experimentId=exp["id"], accountId="210987654321")
    assert got["targetAccountConfiguration"]["roleArn"] == "arn:aws:iam::210987654321:role/fis"
    client.delete_target_account_configuration(experimentTemplateId=tid, accountId="210987654321")
    with pytest.raises(ClientError) as exc:
        client.get_target_account_configuration(experimentTemplateId=tid, accountId="210987654321")
    assert code(exc) == ("ResourceNotFoundException", 404)


def test_aws_cli_creates_templates_from_example_files(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    _, client, gateway = env
    cli_env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    for name in ("seed003-stop-instance.json", "seed002-db-failover.json"):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "awscli",
                "fis",
                "create-experiment-template",
                "--endpoint-url",
                gateway.endpoint_url,
                "--cli-input-json",
                f"file://{ROOT / 'examples' / 'templates' / name}",
            ],
            capture_output=True,
            text=True,
            env=cli_env,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["experimentTemplate"]["id"].startswith("EXT")
    assert len(client.list_experiment_templates()["experimentTemplates"]) == 2


def test_inject_api_internal_error_hits_only_the_target_role(env: tuple[SimpleNamespace, Any, Gateway]) -> None:
    lab, client, gateway = env
    lab.iam.create_role(
        "app",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    creds = session.client("sts", endpoint_url=gateway.endpoint_url).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/app", RoleSessionName="app-session"
    )["Credentials"]
    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    app_ec2 = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).client("ec2", endpoint_url=gateway.endpoint_url, config=config)
    fault = body(
        targets={
            "App": {
                "resourceType": "aws:iam:role",
                "selectionMode": "ALL",
                "resourceArns": [f"arn:aws:iam::{ACCOUNT}:role/app"],
            }
        },
        actions={
            "Break": {
                "actionId": "aws:fis:inject-api-internal-error",
                "targets": {"Roles": "App"},
                "parameters": {
                    "service": "ec2",
                    "operations": "DescribeInstances,RunInstances",
                    "percentage": "100",
                    "duration": "PT2M",
                },
            }
        },
    )
    tid = client.create_experiment_template(**fault)["experimentTemplate"]["id"]
    exp = client.start_experiment(experimentTemplateId=tid)["experiment"]
    wait_for(client, exp["id"], ("running",))
    deadline = time.time() + 5
    while lab.events.since(0, {"fault.applied"}) == [] and time.time() < deadline:
        time.sleep(0.01)
    with pytest.raises(ClientError) as exc:
        app_ec2.describe_instances()
    assert code(exc) == ("InternalError", 500)
    other = session.client("ec2", endpoint_url=gateway.endpoint_url, config=config)
    assert other.describe_instances()["Reservations"] == []  # not the target role: untouched
    assert wait_for(client, exp["id"], ("completed", "failed"))["state"]["status"] == "completed"
    assert app_ec2.describe_instances()["Reservations"] == []  # the fault ended with the action
