"""aws:fis:inject-api-*-error end to end: a FIS experiment through the lab's engine targets one
IAM role; boto3 clients with that role's AssumeRole session credentials, talking to the lab's
real gateway, get the fault at about `percentage` % for the named operation only, while another
role's calls all succeed; after the experiment every call succeeds again."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chaoslab.config import LabConfig
from chaoslab.lab import Lab

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root", "Service": "fis.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
CALLS = 300
PERCENT = 30


def api_kinds() -> tuple[str, ...]:
    return ("internal", "throttle", "unavailable")


def session_client(endpoint: str, role_arn: str, service: str = "ec2") -> Any:
    sts = boto3.client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="app")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def outcomes(client: Any, operation: str, n: int) -> dict[str, int]:
    """How n calls ended: 'ok' or the error code (with its HTTP status)."""
    out: dict[str, int] = {}
    for _ in range(n):
        try:
            getattr(client, operation)()
            key = "ok"
        except ClientError as err:
            key = f"{err.response['Error']['Code']}/{err.response['ResponseMetadata']['HTTPStatusCode']}"
        out[key] = out.get(key, 0) + 1
    return out


async def scenario(home: Path, kind: str) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    try:
        lab.fis.time_scale = 0.5  # PT1M lasts 30 s; the test stops the experiment sooner
        for name in ("app-role", "other-role", "fis-role"):
            lab.iam.create_role(name, json.dumps(TRUST))
            lab.iam.put_role_policy(name, "all", json.dumps(ALLOW_ALL))
        app_arn, other_arn = lab.iam.get_role("app-role").arn, lab.iam.get_role("other-role").arn
        endpoint = lab.config.endpoint_url
        app, other = (
            await asyncio.to_thread(session_client, endpoint, app_arn),
            await asyncio.to_thread(session_client, endpoint, other_arn),
        )
        template = lab.fis.create_experiment_template(
            {
                "description": f"inject {kind} errors",
                "roleArn": lab.iam.get_role("fis-role").arn,
                "stopConditions": [{"source": "none"}],
                "targets": {
                    "Roles": {"resourceType": "aws:iam:role", "resourceArns": [app_arn], "selectionMode": "ALL"}
                },
                "actions": {
                    "inject": {
                        "actionId": f"aws:fis:inject-api-{kind}-error",
                        "targets": {"Roles": "Roles"},
                        "parameters": {
                            "service": "ec2",
                            "operations": "DescribeInstances,DescribeVpcs",
                            "percentage": str(PERCENT),
                            "duration": "PT1M",
                        },
                    }
                },
            }
        )
        exp = await lab.fis.start_experiment(template["id"])
        for _ in range(200):
            if lab.fis.get_experiment(exp["id"])["actions"]["inject"]["state"]["status"] == "running":
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        out = {
            "app": await asyncio.to_thread(outcomes, app, "describe_instances", CALLS),
            "app_other_op": await asyncio.to_thread(outcomes, app, "describe_subnets", 50),
            "other": await asyncio.to_thread(outcomes, other, "describe_instances", 100),
        }
        await lab.fis.stop_experiment(exp["id"])
        done = await lab.fis.wait_experiment(exp["id"], 20)
        out["status"] = done["state"]["status"]
        out["after"] = await asyncio.to_thread(outcomes, app, "describe_instances", 50)
        out["pending"] = lab.store.journal_pending()
        return out
    finally:
        await lab.stop()


EXPECTED = {"internal": "InternalError/500", "throttle": "RequestLimitExceeded/503", "unavailable": "Unavailable/503"}


@pytest.mark.parametrize("kind", api_kinds())
def test_api_errors_for_the_targeted_role(tmp_path: Path, kind: str) -> None:
    got = asyncio.run(scenario(tmp_path, kind))
    print(kind, got)
    failed = got["app"].get(EXPECTED[kind], 0)
    assert failed + got["app"].get("ok", 0) == CALLS, got  # no other error code appears
    p = PERCENT / 100
    assert abs(failed / CALLS - p) <= 4 * math.sqrt(p * (1 - p) / CALLS), got
    assert got["app_other_op"] == {"ok": 50} and got["other"] == {"ok": 100}, got
    assert got["after"] == {"ok": 50} and got["pending"] == [], got
    assert got["status"] == "stopped", got
