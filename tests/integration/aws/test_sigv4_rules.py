"""SigV4's scope, clock and payload rules through boto3 and hand-signed requests against a real
gateway: the client's clock is moved (botocore's signer reads `get_current_datetime`), the lab's
is not. https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
"""

from __future__ import annotations

import datetime
import urllib.error
import urllib.request
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import make_client, serve

OPERATIONS: dict[str, dict[str, Any]] = {
    "ecs": {"ListClusters": lambda ctx, params: {"clusterArns": []}},
    "ec2": {"DescribeRegions": lambda ctx, params: {"Regions": []}},
    "fis": {"ListExperiments": lambda ctx, params: {"experiments": []}},
}


def skew_client_clock(monkeypatch: pytest.MonkeyPatch, minutes: float) -> None:
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda *a, **k: real(*a, **k) + datetime.timedelta(minutes=minutes)
    )


def calls(gw: Any) -> list[tuple[str, Any]]:
    """One call per protocol family: query (STS), json (ECS), ec2, rest-json (FIS)."""
    return [
        ("query", lambda: make_client(gw, "sts").get_caller_identity()),
        ("json", lambda: make_client(gw, "ecs").list_clusters()),
        ("ec2", lambda: make_client(gw, "ec2").describe_regions()),
        ("rest-json", lambda: make_client(gw, "fis").list_experiments()),
    ]


EXPECTED = {
    "query": ("SignatureDoesNotMatch", 403),
    "json": ("InvalidSignatureException", 400),
    "ec2": ("RequestExpired", 400),
    "rest-json": ("InvalidSignatureException", 400),
}


@pytest.mark.parametrize("minutes", [-20, 20])
def test_a_client_clock_20_minutes_off_is_refused_per_protocol_family(
    lab: Any, monkeypatch: pytest.MonkeyPatch, minutes: float
) -> None:
    with serve(lab, OPERATIONS) as gw:
        skew_client_clock(monkeypatch, minutes)
        for family, call in calls(gw):
            with pytest.raises(ClientError) as err:
                call()
            got = (err.value.response["Error"]["Code"], err.value.response["ResponseMetadata"]["HTTPStatusCode"])
            assert got == EXPECTED[family], family


def test_a_client_clock_10_minutes_off_still_works(lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(lab, OPERATIONS) as gw:
        skew_client_clock(monkeypatch, -10)
        for _family, call in calls(gw):
            call()


def test_a_client_in_another_region_is_refused_and_told_the_lab_region(lab: Any) -> None:
    with serve(lab, OPERATIONS) as gw:
        for service, code in (("sts", "SignatureDoesNotMatch"), ("ecs", "InvalidSignatureException")):
            elsewhere = boto3.session.Session().client(
                service,
                endpoint_url=gw.endpoint_url,
                region_name="eu-west-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            with pytest.raises(ClientError) as err:
                getattr(elsewhere, "get_caller_identity" if service == "sts" else "list_clusters")()
            assert err.value.response["Error"]["Code"] == code
            assert "'eu-west-1'" in err.value.response["Error"]["Message"]
            assert "us-east-1" in err.value.response["Error"]["Message"]


class UnsignedPayload(SigV4Auth):
    """The reference signer with the payload left unsigned, as S3 clients may sign."""

    def payload(self, request: Any) -> str:
        return "UNSIGNED-PAYLOAD"


def send(url: str, body: bytes, headers: dict[str, str], signer: SigV4Auth) -> tuple[int, bytes]:
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    signer.add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=body, method="POST", headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_unsigned_payload_is_refused_and_the_signed_payload_accepted(lab: Any) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    creds = Credentials("test", "test")
    with serve(lab, OPERATIONS) as gw:
        unsigned = {**form, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
        status, answer = send(gw.endpoint_url + "/", body, unsigned, UnsignedPayload(creds, "sts", "us-east-1"))
        assert status == 403 and b"SignatureDoesNotMatch" in answer and b"UNSIGNED-PAYLOAD" in answer
        status, answer = send(gw.endpoint_url + "/", body, form, SigV4Auth(creds, "sts", "us-east-1"))
        assert status == 200 and b"GetCallerIdentityResult" in answer


def test_a_scope_for_another_service_than_the_target_is_refused(lab: Any) -> None:
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups"}
    with serve(lab, OPERATIONS) as gw:
        signer = SigV4Auth(Credentials("test", "test"), "ecs", "us-east-1")
        status, answer = send(gw.endpoint_url + "/", b"{}", headers, signer)
    assert status == 400 and b"InvalidSignatureException" in answer and b"'logs'" in answer
