"""CloudWatch Logs with unmodified boto3 against a real lab: groups, streams, events in and out
(get and filter with a pattern), retention, tags, and Logs' modeled exceptions."""

from __future__ import annotations

import time

import pytest
from api_lab import LabHandle

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def logs(lab: LabHandle):
    return lab.client("logs")


def test_groups_streams_and_events(logs) -> None:
    logs.create_log_group(logGroupName="/app/orders", tags={"team": "sre"})
    logs.create_log_stream(logGroupName="/app/orders", logStreamName="web/1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName="/app/orders",
        logStreamName="web/1",
        logEvents=[
            {"timestamp": now - 3, "message": "GET /orders 200"},
            {"timestamp": now - 2, "message": "POST /orders 500 ERROR db timeout"},
            {"timestamp": now - 1, "message": "GET /health 200"},
        ],
    )
    events = logs.get_log_events(logGroupName="/app/orders", logStreamName="web/1", startFromHead=True)["events"]
    assert [e["message"] for e in events] == ["GET /orders 200", "POST /orders 500 ERROR db timeout", "GET /health 200"]
    matched = logs.filter_log_events(logGroupName="/app/orders", filterPattern="ERROR")["events"]
    assert [e["message"] for e in matched] == ["POST /orders 500 ERROR db timeout"]
    assert matched[0]["logStreamName"] == "web/1"

    logs.put_retention_policy(logGroupName="/app/orders", retentionInDays=7)
    group = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0]
    assert group["logGroupName"] == "/app/orders" and group["retentionInDays"] == 7
    streams = logs.describe_log_streams(logGroupName="/app/orders")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["web/1"]
    arn = group["arn"].removesuffix(":*")
    logs.tag_resource(resourceArn=arn, tags={"tier": "1"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sre", "tier": "1"}
    logs.delete_log_stream(logGroupName="/app/orders", logStreamName="web/1")
    logs.delete_log_group(logGroupName="/app/orders")
    assert logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []


def test_errors_are_modeled_exceptions(logs) -> None:
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/no/such/group", logStreamName="x")
    logs.create_log_group(logGroupName="/dup")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/dup")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_log_events(
            logGroupName="/dup",
            logStreamName="missing",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}],
        )
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.put_retention_policy(logGroupName="/dup", retentionInDays=2)
