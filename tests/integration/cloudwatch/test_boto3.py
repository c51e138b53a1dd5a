"""CloudWatch and Logs through the real gateway with unmodified boto3 (JSON 1.0 + query-compat
errors for CloudWatch, JSON 1.1 for Logs), and the alarm evaluator running in the lab's loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.logs.backend import LogsBackend

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def endpoint(tmp_path):
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path, api_port=0), events=EventLog())
    lab.cloudwatch = CloudWatchBackend(lab)
    lab.logs = LogsBackend(lab)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    gateway = Gateway(lab)
    run = lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(10)
    run(gateway.start())
    run(lab.cloudwatch.start())
    try:
        yield gateway.endpoint_url, lab
    finally:
        run(lab.cloudwatch.stop())
        run(gateway.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert not thread.is_alive()


def assert_fresh(alarm):
    """What AWS guarantees right after PutMetricAlarm: the alarm starts INSUFFICIENT_DATA, unchecked.
    When its first evaluation comes is not promised, so an alarm with no data treated as not
    breaching may already be OK."""
    if alarm["StateValue"] != "OK":
        assert (alarm["StateValue"], alarm["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")


def client(url, service):
    return boto3.session.Session().client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def test_boto3_alarm_trips_on_put_metric_data(endpoint):
    url, lab = endpoint
    cw = client(url, "cloudwatch")
    cw.put_metric_alarm(
        AlarmName="errors-high",
        Namespace="Shop",
        MetricName="Errors",
        Statistic="Sum",
        Period=1,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        Tags=[{"Key": "team", "Value": "shop"}],
    )
    assert_fresh(cw.describe_alarms(AlarmNames=["errors-high"])["MetricAlarms"][0])
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[{"MetricName": "Errors", "Values": [1.0, 2.0], "Counts": [2, 3], "StorageResolution": 1}],
    )
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        alarm = cw.describe_alarms(AlarmNames=["errors-high"])["MetricAlarms"][0]
        if alarm["StateValue"] == "ALARM":
            break
        time.sleep(0.1)
    assert alarm["StateValue"] == "ALARM", alarm
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [8.0 (")
    now = dt.datetime.now(dt.UTC)
    stats = cw.get_metric_statistics(
        Namespace="Shop",
        MetricName="Errors",
        StartTime=now - dt.timedelta(minutes=2),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum", "SampleCount"],
        ExtendedStatistics=["p50"],
    )
    point = stats["Datapoints"][0]
    assert point["Sum"] == 8.0 and point["SampleCount"] == 5.0 and point["ExtendedStatistics"]["p50"] == 2.0
    history = cw.describe_alarm_history(AlarmName="errors-high", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert history[0]["HistorySummary"].endswith("to ALARM")
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName="ghost", StateValue="OK", StateReason="x")
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as e:
        cw.put_metric_alarm(
            AlarmName="bad",
            Namespace="Shop",
            MetricName="Errors",
            Statistic="Sum",
            Period=45,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    assert "Period" in str(e.value)
    assert [e["new"] for e in lab.events.since(0, {"alarm.state"})][-1] == "ALARM"


def test_boto3_logs_paging(endpoint):
    url, lab = endpoint
    logs = client(url, "logs")
    logs.create_log_group(logGroupName="/ecs/shop")
    logs.create_log_stream(logGroupName="/ecs/shop", logStreamName="web/1")
    base = int(time.time() * 1000) - 10_000
    logs.put_log_events(
        logGroupName="/ecs/shop",
        logStreamName="web/1",
        logEvents=[{"timestamp": base + i, "message": f"{'ERROR' if i % 3 == 0 else 'INFO'} {i}"} for i in range(30)],
    )
    lab.logs.append("/ecs/shop", "web/2", "ERROR from the runtime")
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName="/ecs/shop", filterPattern="ERROR", PaginationConfig={"PageSize": 4}
    )
    found = [e["message"] for page in pages for e in page["events"]]
    assert found == [f"ERROR {i}" for i in range(0, 30, 3)] + ["ERROR from the runtime"]
    head = logs.get_log_events(logGroupName="/ecs/shop", logStreamName="web/1", startFromHead=True, limit=5)
    assert [e["message"] for e in head["events"]] == ["ERROR 0", "INFO 1", "INFO 2", "ERROR 3", "INFO 4"]
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/ecs/shop")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName="/ecs/none", logStreamName="x")


def test_aws_cli_seed_002_alarm_command(endpoint, tmp_path):
    """The seed's `aws cloudwatch put-metric-alarm` command, verbatim, against the lab."""
    import json
    import os
    import subprocess
    import sys

    url, lab = endpoint
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    seed = [
        "cloudwatch",
        "put-metric-alarm",
        "--alarm-name",
        "AutomatedAppResilienceStopCondition",
        "--alarm-description",
        "Triggers an immediate rollback of the active FIS chaos experiment if system error rates spike.",
        "--metric-name",
        "HTTPCode_Target_5XX_Count",
        "--namespace",
        "AWS/ApplicationELB",
        "--statistic",
        "Sum",
        "--period",
        "60",
        "--threshold",
        "5",
        "--comparison-operator",
        "GreaterThanThreshold",
        "--evaluation-periods",
        "1",
        "--dimensions",
        "Name=TargetGroup,Value=targetgroup/prod-payment-tg/a1b2c3d4e5f6",
        "--treat-missing-data",
        "notBreaching",
    ]
    run = lambda args: subprocess.run(
        [aws, "--endpoint-url", url, *args], env=env, capture_output=True, text=True, timeout=30
    )
    done = run(seed)
    assert done.returncode == 0, done.stderr
    described = run(["cloudwatch", "describe-alarms", "--alarm-names", "AutomatedAppResilienceStopCondition"])
    assert described.returncode == 0, described.stderr
    alarm = json.loads(described.stdout)["MetricAlarms"][0]
    assert_fresh(alarm)
    assert alarm["Threshold"] == 5.0
    history = run(["cloudwatch", "describe-alarm-history", "--alarm-name", "AutomatedAppResilienceStopCondition"])
    items = json.loads(history.stdout)["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in items if h["HistoryItemType"] == "StateUpdate"] in (
        [],
        ["Alarm updated from INSUFFICIENT_DATA to OK"],
    )
    assert alarm["Dimensions"] == [{"Name": "TargetGroup", "Value": "targetgroup/prod-payment-tg/a1b2c3d4e5f6"}]
    bad = run(["cloudwatch", "set-alarm-state", "--alarm-name", "ghost", "--state-value", "OK", "--state-reason", "x"])
    assert bad.returncode != 0 and "ResourceNotFound" in bad.stderr
