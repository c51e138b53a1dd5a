"""STS with unmodified boto3 against a real lab: who am I, assumed-role and session credentials
that the gateway then accepts, and the 403s AWS gives bad credentials."""

from __future__ import annotations

import json

import boto3
import pytest
from api_lab import LabHandle
from botocore.config import Config
from botocore.exceptions import ClientError

pytestmark = pytest.mark.timeout(60)


def _client(lab: LabHandle, service: str, key: str, secret: str, token: str | None = None):
    return boto3.session.Session().client(
        service,
        endpoint_url=lab.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 1}),
    )


def test_caller_identity_and_assumed_roles(lab: LabHandle) -> None:
    sts = lab.client("sts")
    me = sts.get_caller_identity()
    assert me["Account"] == "123456789012" and me["Arn"].startswith("arn:aws:")
    lab.client("iam").create_role(
        RoleName="ops",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    }
                ],
            }
        ),
    )
    assumed = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/ops", RoleSessionName="pytest")
    creds = assumed["Credentials"]
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/ops/pytest"
    as_role = _client(lab, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert as_role.get_caller_identity()["Arn"] == "arn:aws:sts::123456789012:assumed-role/ops/pytest"

    session = sts.get_session_token(DurationSeconds=900)["Credentials"]
    temp = _client(lab, "sts", session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    assert temp.get_caller_identity()["Account"] == "123456789012"


def test_bad_credentials_are_refused(lab: LabHandle) -> None:
    with pytest.raises(ClientError) as err:
        _client(lab, "sts", "test", "wrong-secret").get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:
        _client(lab, "ecs", "AKIANOSUCHKEY", "x").list_clusters()
    assert err.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as err:
        _client(lab, "iam", "AKIANOSUCHKEY", "x").list_roles()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"  # the query services' word for it
    with pytest.raises(ClientError) as err:
        lab.client("sts").get_session_token(DurationSeconds=129601)
    assert err.value.response["Error"]["Code"] == "ValidationError"
