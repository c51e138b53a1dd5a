"""Round trips through botocore's own serializers and parsers: what botocore writes we read back
unchanged, and what we write botocore reads back unchanged. No server, no sockets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.parsers
import botocore.serialize
import pytest
from botocore.awsrequest import HeadersDict
from multidict import CIMultiDict

from chaoslab.aws import models
from chaoslab.aws.protocols import PROTOCOLS, protocol_for
from chaoslab.aws.protocols.base import WireRequest

UTC = dt.UTC
WHEN = dt.datetime(2026, 11, 22, 0, 1, 2, tzinfo=UTC)

INPUTS = [
    (
        "elbv2",
        "CreateLoadBalancer",
        {
            "Name": "a",
            "Subnets": ["s1", "s2"],
            "Tags": [{"Key": "k", "Value": "v"}],
            "SubnetMappings": [{"SubnetId": "s1", "PrivateIPv4Address": "10.0.0.1"}],
        },
    ),
    ("elbv2", "ModifyTargetGroupAttributes", {"TargetGroupArn": "t", "Attributes": [{"Key": "a", "Value": "1"}]}),
    ("rds", "FailoverDBCluster", {"DBClusterIdentifier": "c", "TargetDBInstanceIdentifier": "r"}),
    (
        "autoscaling",
        "UpdateAutoScalingGroup",
        {"AutoScalingGroupName": "g", "MinSize": 0, "DesiredCapacity": 2, "NewInstancesProtectedFromScaleIn": False},
    ),
    ("iam", "PutRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": "{}"}),
    (
        "cloudwatch",
        "PutMetricAlarm",
        {
            "AlarmName": "a",
            "EvaluationPeriods": 3,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 1.5,
            "Period": 60,
            "Dimensions": [{"Name": "n", "Value": "v"}],
            "ActionsEnabled": True,
        },
    ),
    (
        "cloudwatch",
        "GetMetricStatistics",
        {
            "Namespace": "n",
            "MetricName": "m",
            "StartTime": WHEN,
            "EndTime": WHEN,
            "Period": 60,
            "Statistics": ["Sum"],
            "ExtendedStatistics": ["p99"],
        },
    ),
    (
        "ec2",
        "DescribeInstances",
        {"InstanceIds": ["i-1"], "Filters": [{"Name": "tag:a", "Values": ["x", "y"]}], "DryRun": False},
    ),
    ("ec2", "StopInstances", {"InstanceIds": ["i-1", "i-2"], "Force": True}),
    (
        "sts",
        "AssumeRole",
        {
            "RoleArn": "arn:aws:iam::1:role/r",
            "RoleSessionName": "s1",
            "DurationSeconds": 900,
            "Tags": [{"Key": "k", "Value": "v"}],
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnly"}],
        },
    ),
    ("ec2", "DescribeSpotPriceHistory", {"StartTime": WHEN, "InstanceTypes": ["t3.micro"], "MaxResults": 5}),
    ("elbv2", "SetSubnets", {"LoadBalancerArn": "a", "Subnets": []}),
    (
        "ecs",
        "RunTask",
        {
            "taskDefinition": "td",
            "count": 2,
            "overrides": {"containerOverrides": [{"name": "app", "environment": [{"name": "A", "value": "1"}]}]},
            "tags": [{"key": "k", "value": "v"}],
        },
    ),
    (
        "logs",
        "PutLogEvents",
        {"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": 1767323045000, "message": "hi"}]},
    ),
    ("ssm", "SendCommand", {"DocumentName": "d", "Parameters": {"commands": ["echo 1"]}, "InstanceIds": ["i-1"]}),
    ("fis", "TagResource", {"resourceArn": "arn:aws:fis:us-east-1:1:experiment/EXP1", "tags": {"a": "b"}}),
    ("fis", "UntagResource", {"resourceArn": "arn:aws:fis:us-east-1:1:experiment/EXP1", "tagKeys": ["a", "b"]}),
    ("fis", "ListExperiments", {"maxResults": 5, "experimentTemplateId": "EXT1", "nextToken": "a b/c"}),
    (
        "fis",
        "StartExperiment",
        {
            "clientToken": "t",
            "experimentTemplateId": "EXT1",
            "tags": {"x": "y"},
            "experimentOptions": {"actionsMode": "run-all"},
        },
    ),
]


def wire_request(service: str, operation: str, params: dict[str, Any]) -> tuple[Any, WireRequest]:
    svc = models.service(service)
    op = svc.model.operation_model(operation)
    serialized = botocore.serialize.create_serializer(svc.model.resolved_protocol).serialize_to_request(params, op)
    body = serialized["body"]
    if isinstance(body, dict):
        body = urlencode(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    headers = CIMultiDict(serialized["headers"])
    if svc.model.resolved_protocol in ("query", "ec2"):
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    parts = urlsplit(serialized["url_path"])
    query = urlencode(serialized["query_string"], doseq=True) if serialized["query_string"] else parts.query
    return op, WireRequest(serialized["method"], parts.path, query, headers, body or b"")


@pytest.mark.parametrize(("service", "operation", "params"), INPUTS, ids=[f"{s}.{o}" for s, o, _ in INPUTS])
def test_input_roundtrip(service: str, operation: str, params: dict[str, Any]) -> None:
    svc = models.service(service)
    op, req = wire_request(service, operation, params)
    proto = protocol_for(svc, req)
    assert proto.name == svc.model.resolved_protocol
    found = proto.operation(svc, req)
    assert found is not None and found[0] == operation
    assert proto.parse(svc, op, req, found[1]) == params


OUTPUTS = [
    (
        "elbv2",
        "DescribeTargetHealth",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": "10.0.10.5", "Port": 8080},
                    "HealthCheckPort": "8080",
                    "TargetHealth": {
                        "State": "unhealthy",
                        "Reason": "Target.FailedHealthChecks",
                        "Description": "x < y",
                    },
                }
            ]
        },
    ),
    ("elbv2", "DescribeLoadBalancers", {"LoadBalancers": [], "NextMarker": "m"}),
    ("iam", "GetAccountSummary", {"SummaryMap": {"Users": 1, "Roles": 7}}),
    ("elbv2", "DescribeTags", {"TagDescriptions": [{"ResourceArn": "a", "Tags": [{"Key": "k", "Value": "v"}]}]}),
    (
        "cloudwatch",
        "GetMetricData",
        {"MetricDataResults": [{"Id": "m1", "Timestamps": [WHEN], "Values": [1.0, 2.5], "StatusCode": "Complete"}]},
    ),
    (
        "rds",
        "DescribeDBClusters",
        {
            "DBClusters": [
                {
                    "DBClusterIdentifier": "c",
                    "ClusterCreateTime": WHEN,
                    "DBClusterMembers": [{"DBInstanceIdentifier": "w", "IsClusterWriter": True}],
                }
            ]
        },
    ),
    (
        "sts",
        "AssumeRole",
        {
            "Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": WHEN},
            "AssumedRoleUser": {"AssumedRoleId": "r:s", "Arn": "arn"},
        },
    ),
    (
        "ec2",
        "DescribeInstances",
        {
            "Reservations": [
                {
                    "ReservationId": "r-1",
                    "Instances": [
                        {
                            "InstanceId": "i-1",
                            "LaunchTime": WHEN,
                            "State": {"Code": 16, "Name": "running"},
                            "Placement": {"AvailabilityZone": "us-east-1a"},
                            "Tags": [{"Key": "a", "Value": "b"}],
                        }
                    ],
                }
            ]
        },
    ),
    (
        "autoscaling",
        "DescribeAutoScalingGroups",
        {
            "AutoScalingGroups": [
                {
                    "AutoScalingGroupName": "g",
                    "MinSize": 1,
                    "MaxSize": 3,
                    "DesiredCapacity": 2,
                    "DefaultCooldown": 300,
                    "AvailabilityZones": ["us-east-1a"],
                    "HealthCheckType": "ELB",
                    "CreatedTime": WHEN,
                    "Instances": [
                        {
                            "InstanceId": "i-1",
                            "AvailabilityZone": "us-east-1a",
                            "LifecycleState": "InService",
                            "HealthStatus": "Healthy",
                            "ProtectedFromScaleIn": False,
                        }
                    ],
                }
            ]
        },
    ),
    (
        "ecs",
        "DescribeServices",
        {
            "services": [
                {
                    "serviceName": "s",
                    "desiredCount": 2,
                    "createdAt": WHEN,
                    "deployments": [{"id": "d", "rolloutState": "COMPLETED"}],
                }
            ]
        },
    ),
    ("ssm", "GetCommandInvocation", {"CommandId": "c", "Status": "Success", "ExecutionStartDateTime": "2026"}),
    (
        "fis",
        "GetExperiment",
        {
            "experiment": {
                "id": "EXP1",
                "state": {"status": "running"},
                "startTime": WHEN,
                "actions": {
                    "a": {"actionId": "aws:ecs:stop-task", "parameters": {"x": "1"}, "targets": {"Tasks": "t"}}
                },
            }
        },
    ),
]


@pytest.mark.parametrize(("service", "operation", "output"), OUTPUTS, ids=[f"{s}.{o}" for s, o, _ in OUTPUTS])
def test_output_roundtrip(service: str, operation: str, output: dict[str, Any]) -> None:
    svc = models.service(service)
    op = svc.model.operation_model(operation)
    proto = PROTOCOLS[svc.model.resolved_protocol]
    resp = proto.serialize(svc, op, output, "req-1")
    parser = botocore.parsers.create_parser(svc.model.resolved_protocol)
    headers = HeadersDict(resp.headers)
    parsed = parser.parse({"status_code": resp.status, "headers": headers, "body": resp.body}, op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert _epoch_to_dt(parsed) == _epoch_to_dt(output)


def _epoch_to_dt(value: Any) -> Any:
    """botocore hands timestamps back in the local zone; compare instants."""
    if isinstance(value, dict):
        return {k: _epoch_to_dt(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_to_dt(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


def test_json_output_drops_unmodeled_and_none_members() -> None:
    svc = models.service("ecs")
    op = svc.model.operation_model("ListClusters")
    resp = PROTOCOLS["json"].serialize(svc, op, {"clusterArns": ["a"], "nextToken": None, "extra": 1}, "r")
    assert json.loads(resp.body) == {"clusterArns": ["a"]}


def test_error_codes_and_status_per_protocol() -> None:
    from chaoslab.errors import AwsError

    cw = models.service("cloudwatch")
    resp = PROTOCOLS["json"].error(cw, AwsError("InvalidParameterValue", "bad"), "r")
    assert json.loads(resp.body)["__type"] == "InvalidParameterValueException"
    assert resp.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    resp = PROTOCOLS["query"].error(cw, AwsError("InvalidParameterValueException", "bad"), "r")
    assert b"<Code>InvalidParameterValue</Code>" in resp.body

    fis = models.service("fis")
    for code, status in [
        ("ValidationException", 400),
        ("ResourceNotFoundException", 404),
        ("ConflictException", 409),
        ("ServiceQuotaExceededException", 402),
    ]:
        resp = PROTOCOLS["rest-json"].error(fis, AwsError(code, "x"), "r")
        assert (resp.status, resp.headers["x-amzn-ErrorType"]) == (status, code)

    ec2 = models.service("ec2")
    resp = PROTOCOLS["ec2"].error(ec2, AwsError("InvalidInstanceID.NotFound", "gone"), "r")
    parsed = botocore.parsers.create_parser("ec2").parse(
        {"status_code": resp.status, "headers": resp.headers, "body": resp.body}, None
    )
    assert parsed["Error"]["Code"] == "InvalidInstanceID.NotFound"
