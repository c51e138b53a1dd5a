"""SigV4, STS, the AWS CLI and hand-built requests (query-mode CloudWatch, missing members,
unsigned calls, lab routes) against a real gateway."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

import botocore.parsers
import botocore.session
import pytest
from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from chaoslab.errors import AwsError
from conftest import make_client, serve

AWS_CLI = str(Path(sys.executable).with_name("aws"))


def send(
    url: str, method: str, body: bytes, headers: dict[str, str], service: str | None, secret: str = "test"
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request, SigV4-signed the way botocore signs when `service` is given."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    if service:
        SigV4Auth(Credentials("test", secret), service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=body or None, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def ecs_echo() -> dict[str, Any]:
    def list_clusters(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {"clusterArns": [ctx.principal_arn]}

    def describe_services(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {"services": []}

    return {"ListClusters": list_clusters, "DescribeServices": describe_services}


def test_bad_signature_unknown_key_and_missing_auth_are_403(lab: Any) -> None:
    with serve(lab, {"ecs": ecs_echo()}) as gw:
        for client, code in [
            (make_client(gw, "ecs", secret="wrong"), "SignatureDoesNotMatch"),
            (make_client(gw, "sts", secret="wrong"), "SignatureDoesNotMatch"),
            (make_client(gw, "ecs", key="AKIDUNKNOWN"), "UnrecognizedClientException"),
            (make_client(gw, "sts", key="AKIDUNKNOWN"), "InvalidClientTokenId"),
        ]:
            with pytest.raises(Exception) as err:
                client.list_clusters() if client.meta.service_model.service_name == "ecs" else client.get_caller_identity()
            assert err.value.response["Error"]["Code"] == code
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

        target = {
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
            "Content-Type": "application/x-amz-json-1.1",
        }
        status, _, body = send(gw.endpoint_url + "/", "POST", b"{}", target, service=None)
        assert status == 403 and json.loads(body)["__type"] == "MissingAuthenticationToken"
        status, _, body = send(gw.endpoint_url + "/?Action=GetCallerIdentity&Version=2011-06-15", "GET", b"", {}, None)
        assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body
        status, headers, _ = send(gw.endpoint_url + "/experimentTemplates", "GET", b"", {}, None)
        assert status == 403 and headers["x-amzn-ErrorType"] == "MissingAuthenticationToken"


def test_assume_role_then_call_with_session_credentials(lab: Any) -> None:
    with serve(lab, {"ecs": ecs_echo()}) as gw:
        sts = make_client(gw, "sts")
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:root"
        out = sts.assume_role(
            RoleArn="arn:aws:iam::123456789012:role/FISRole", RoleSessionName="exp-1", DurationSeconds=900
        )
        creds = out["Credentials"]
        assert creds["AccessKeyId"].startswith("ASIA") and out["AssumedRoleUser"]["Arn"].endswith("FISRole/exp-1")
        principal = "arn:aws:sts::123456789012:assumed-role/FISRole/exp-1"
        ecs = make_client(
            gw, "ecs", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
        )
        assert ecs.list_clusters()["clusterArns"] == [principal]
        who = make_client(
            gw, "sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
        ).get_caller_identity()
        assert who["Arn"] == principal and who["UserId"].endswith(":exp-1")

        no_token = make_client(gw, "ecs", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
        with pytest.raises(Exception) as err:
            no_token.list_clusters()
        assert err.value.response["Error"]["Code"] == "UnrecognizedClientException"

        session = sts.get_session_token(DurationSeconds=900)["Credentials"]
        ecs2 = make_client(
            gw, "ecs", key=session["AccessKeyId"], secret=session["SecretAccessKey"], token=session["SessionToken"]
        )
        assert ecs2.list_clusters()["clusterArns"] == ["arn:aws:iam::123456789012:root"]


def test_aws_cli_unchanged(lab: Any, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    tagged: list[dict[str, Any]] = []
    ops = {
        "ecs": ecs_echo(),
        "fis": {"TagResource": lambda ctx, params: tagged.append(params)},
        "elbv2": {
            "DescribeLoadBalancers": lambda ctx, params: {
                "LoadBalancers": [{"LoadBalancerName": n} for n in params["Names"]]
            }
        },
    }
    with serve(lab, ops) as gw:

        def cli(*args: str) -> dict[str, Any]:
            done = subprocess.run(
                [AWS_CLI, *args, "--endpoint-url", gw.endpoint_url, "--output", "json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) if done.stdout.strip() else {}

        assert cli("sts", "get-caller-identity") == {
            "UserId": "123456789012",
            "Account": "123456789012",
            "Arn": "arn:aws:iam::123456789012:root",
        }
        assert cli("ecs", "list-clusters")["clusterArns"] == ["arn:aws:iam::123456789012:root"]
        arn = "arn:aws:fis:us-east-1:123456789012:experiment/EXPabc"
        cli("fis", "tag-resource", "--resource-arn", arn, "--tags", "team=shop")
        assert tagged == [{"resourceArn": arn, "tags": {"team": "shop"}}]
        out = cli("elbv2", "describe-load-balancers", "--names", "a", "b")
        assert [lb["LoadBalancerName"] for lb in out["LoadBalancers"]] == ["a", "b"]
        bad = subprocess.run(
            [AWS_CLI, "ecs", "list-services", "--endpoint-url", gw.endpoint_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode != 0 and "UnknownOperationException" in bad.stderr


def test_cloudwatch_over_query_protocol(lab: Any) -> None:
    """Older boto3 (< 1.42.7) speaks query to CloudWatch; the same handlers must serve it."""

    def describe_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "MetricAlarms": [
                {"AlarmName": n, "StateValue": "OK", "Threshold": 1.5, "StateUpdatedTimestamp": 1767323045.0}
                for n in params["AlarmNames"]
            ]
        }

    def put_metric_data(ctx: Any, params: dict[str, Any]) -> None:
        seen.append(params)

    def set_alarm_state(ctx: Any, params: dict[str, Any]) -> None:
        raise AwsError("ResourceNotFound", "no such alarm")

    seen: list[dict[str, Any]] = []
    ops = {"DescribeAlarms": describe_alarms, "PutMetricData": put_metric_data, "SetAlarmState": set_alarm_state}
    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    with serve(lab, {"cloudwatch": ops}) as gw:
        body = b"Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=a1&AlarmNames.member.2=a2"
        status, _, xml = send(gw.endpoint_url + "/", "POST", body, form, "monitoring")
        assert status == 200
        model = botocore.session.get_session().get_service_model("cloudwatch")
        parser = botocore.parsers.QueryParser()
        parsed = parser.parse(
            {"status_code": 200, "headers": {}, "body": xml}, model.operation_model("DescribeAlarms").output_shape
        )
        assert [a["AlarmName"] for a in parsed["MetricAlarms"]] == ["a1", "a2"]
        assert parsed["MetricAlarms"][0]["Threshold"] == 1.5

        body = (
            b"Action=PutMetricData&Version=2010-08-01&Namespace=N&MetricData.member.1.MetricName=m"
            b"&MetricData.member.1.Value=2.5&MetricData.member.1.Dimensions.member.1.Name=d"
            b"&MetricData.member.1.Dimensions.member.1.Value=v&MetricData.member.1.Timestamp=2026-11-22T00:00:00Z"
        )
        assert send(gw.endpoint_url + "/", "POST", body, form, "monitoring")[0] == 200
        datum = seen[0]["MetricData"][0]
        assert datum["Value"] == 2.5 and datum["Dimensions"] == [{"Name": "d", "Value": "v"}]
        assert datum["Timestamp"].isoformat() == "2026-11-22T00:00:00+00:00"

        body = b"Action=SetAlarmState&Version=2010-08-01&AlarmName=x&StateValue=OK&StateReason=r"
        status, _, xml = send(gw.endpoint_url + "/", "POST", body, form, "monitoring")
        error = ElementTree.fromstring(xml).find("{*}Error")
        assert status == 404 and error.findtext("{*}Code") == "ResourceNotFound"

        body = b"Action=SetAlarmState&Version=2010-08-01&AlarmName=x&StateValue=OK"
        status, _, xml = send(gw.endpoint_url + "/", "POST", body, form, "monitoring")
        error = ElementTree.fromstring(xml).find("{*}Error")
        assert status == 400 and error.findtext("{*}Code") == "MissingParameter"
        assert "'stateReason'" in error.findtext("{*}Message")


def test_missing_required_members_per_service(lab: Any) -> None:
    with serve(lab, {"ecs": ecs_echo(), "elbv2": {"DescribeTargetHealth": lambda ctx, p: {}}}) as gw:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServices",
        }
        status, _, body = send(gw.endpoint_url + "/", "POST", b'{"cluster": "c", "unknown": 1}', headers, "ecs")
        error = json.loads(body)
        assert status == 400 and error["__type"] == "InvalidParameterException" and "'services'" in error["message"]

        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, xml = send(
            gw.endpoint_url + "/",
            "POST",
            b"Action=DescribeTargetHealth&Version=2015-12-01",
            form,
            "elasticloadbalancing",
        )
        assert status == 400 and b"<Code>ValidationError</Code>" in xml and b"targetGroupArn" in xml

        status, _, xml = send(
            gw.endpoint_url + "/",
            "POST",
            b"Action=DescribeTargetHealth&Version=2015-12-01&TargetGroupArn=t&Targets.member.1.Port=x",
            form,
            "elasticloadbalancing",
        )
        assert status == 400 and b"<Code>ValidationError</Code>" in xml


def test_lab_routes_and_clean_shutdown(lab: Any) -> None:
    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    routes = [web.get("/_chaoslab/ping", ping), web.get("/metrics", ping)]
    with serve(lab, {}, routes=routes) as gw:
        port = gw.port
        for path in ("/_chaoslab/ping", "/metrics"):  # unsigned GETs, as Prometheus scrapes
            with urllib.request.urlopen(gw.endpoint_url + path, timeout=5) as resp:
                assert json.loads(resp.read()) == {"ok": True}
        with pytest.raises(urllib.error.HTTPError) as err:  # any other use of the path is AWS's
            urllib.request.urlopen(urllib.request.Request(gw.endpoint_url + "/metrics", b"", method="POST"))
        assert err.value.code == 403 and b"MissingAuthenticationToken" in err.value.read()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(gw.endpoint_url + "/_chaoslab/nothing", timeout=5)
        assert err.value.code == 404
        with pytest.raises(ValueError):
            gw.add_routes([web.get("/elsewhere", ping)])
        with pytest.raises(ValueError):
            gw.add_routes([web.get("/metrics/more", ping)])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_assume_role_against_the_real_iam_backend(tmp_path: Path) -> None:
    """Roles created through the IAM API are the ones STS can assume, with their id and limits."""
    import asyncio

    from chaoslab.config import LabConfig
    from chaoslab.events import EventLog
    from chaoslab.services.iam.backend import IamBackend
    from chaoslab.store import Store

    lab = SimpleNamespace(
        config=LabConfig(home=tmp_path, api_port=0), store=Store(tmp_path / "state.db"), events=EventLog()
    )
    lab.iam = IamBackend(lab)
    asyncio.run(lab.iam.start())
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    try:
        with serve(lab) as gw:
            role = make_client(gw, "iam").create_role(
                RoleName="FisRole", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=3600
            )["Role"]
            sts = make_client(gw, "sts")
            out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="run-1")
            assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:run-1"
            with pytest.raises(Exception) as err:
                sts.assume_role(RoleArn=role["Arn"], RoleSessionName="run-1", DurationSeconds=7200)
            assert err.value.response["Error"]["Code"] == "ValidationError"
            for wrong in (
                "arn:aws:iam::123456789012:role/Nope",
                "arn:aws:iam::999999999999:role/FisRole",
                "arn:aws:iam::123456789012:role/ops/FisRole",
            ):  # the name alone used to be enough
                with pytest.raises(Exception) as err:
                    sts.assume_role(RoleArn=wrong, RoleSessionName="run-1")
                assert err.value.response["Error"]["Code"] == "AccessDenied", wrong
    finally:
        lab.store.close()


def test_assume_role_rejects_a_session_name_that_cannot_sit_in_an_arn(lab: Any) -> None:
    with serve(lab) as gw:
        sts = make_client(gw, "sts")
        for bad in ("two words", "a/b", "résumé"):
            with pytest.raises(Exception) as err:
                sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/FISRole", RoleSessionName=bad)
            assert err.value.response["Error"]["Code"] == "ValidationError", bad
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        ok = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/FISRole", RoleSessionName="a+b=c,d.e@f-g_1")
        assert ok["AssumedRoleUser"]["Arn"].endswith("/FISRole/a+b=c,d.e@f-g_1")
