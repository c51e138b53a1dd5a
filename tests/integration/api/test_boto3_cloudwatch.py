"""CloudWatch with unmodified boto3 against a real lab: custom metrics in and statistics out,
metric alarms and composite alarms really evaluated, state changes and history, and AWS's error
codes."""

from __future__ import annotations

import datetime as dt

import pytest
from api_lab import LabHandle, wait_for
from botocore.exceptions import ClientError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cw(lab: LabHandle):
    return lab.client("cloudwatch")


def test_metric_data_statistics_and_list(cw) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    dims = [{"Name": "Service", "Value": "checkout"}]
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": now - dt.timedelta(seconds=s),
                "Value": v,
                "Unit": "Milliseconds",
            }
            for s, v in ((5, 100.0), (4, 200.0), (3, 300.0))
        ],
    )
    stats = cw.get_metric_statistics(
        Namespace="Shop",
        MetricName="Latency",
        Dimensions=dims,
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
        Period=60,
        Statistics=["Sum", "Maximum", "SampleCount", "Average"],
    )
    total = {k: sum(p[k] for p in stats["Datapoints"]) for k in ("Sum", "SampleCount")}
    assert total == {"Sum": 600.0, "SampleCount": 3.0}
    assert max(p["Maximum"] for p in stats["Datapoints"]) == 300.0

    data = cw.get_metric_data(
        StartTime=now - dt.timedelta(minutes=5),
        EndTime=now + dt.timedelta(minutes=1),
        MetricDataQueries=[
            {
                "Id": "lat",
                "MetricStat": {
                    "Metric": {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": dims},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "secs", "Expression": "lat / 1000", "Label": "seconds"},
        ],
    )
    result = {r["Id"]: r for r in data["MetricDataResults"]}
    assert set(result) == {"secs"} and sum(result["secs"]["Values"]) == pytest.approx(0.6)
    listed = cw.list_metrics(Namespace="Shop")["Metrics"]
    assert listed == [{"Namespace": "Shop", "MetricName": "Latency", "Dimensions": dims}]


def test_alarms_composites_state_and_history(cw) -> None:
    cw.put_metric_alarm(
        AlarmName="errors-high",
        Namespace="Shop",
        MetricName="Errors",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        Tags=[{"Key": "team", "Value": "sre"}],
    )
    cw.put_metric_alarm(
        AlarmName="latency-high",
        Namespace="Shop",
        MetricName="Latency",
        Statistic="Average",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1000,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.put_composite_alarm(AlarmName="shop-broken", AlarmRule='ALARM("errors-high") OR ALARM("latency-high")')
    described = cw.describe_alarms(
        AlarmNames=["errors-high", "shop-broken"], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    assert [a["AlarmName"] for a in described["MetricAlarms"]] == ["errors-high"]
    assert [a["AlarmName"] for a in described["CompositeAlarms"]] == ["shop-broken"]
    arn = described["MetricAlarms"][0]["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "sre"}]

    cw.set_alarm_state(AlarmName="errors-high", StateValue="ALARM", StateReason="pytest forced it")

    def composite_alarmed() -> bool:
        """The forced ALARM lasts only until errors-high's next evaluation (and the composite's with
        it), so look for the composite's transition, not its state at the moment of asking."""
        items = cw.describe_alarm_history(
            AlarmName="shop-broken", AlarmTypes=["CompositeAlarm"], HistoryItemType="StateUpdate"
        )["AlarmHistoryItems"]
        return any(h["HistorySummary"].endswith("to ALARM") for h in items)

    wait_for(composite_alarmed, 30, "the composite to follow its child into ALARM")
    history = cw.describe_alarm_history(AlarmName="errors-high", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert any(
        "pytest forced it" in h["HistorySummary"] or "pytest forced it" in h.get("HistoryData", "") for h in history
    ), history
    by_metric = cw.describe_alarms_for_metric(Namespace="Shop", MetricName="Errors")["MetricAlarms"]
    assert [a["AlarmName"] for a in by_metric] == ["errors-high"]

    cw.delete_alarms(AlarmNames=["shop-broken"])
    cw.delete_alarms(AlarmNames=["errors-high", "latency-high"])
    assert cw.describe_alarms(AlarmNamePrefix="errors")["MetricAlarms"] == []


def test_errors_carry_cloudwatch_codes(cw) -> None:
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName="no-such-alarm", StateValue="OK", StateReason="x")
    with pytest.raises(ClientError) as err:
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
    assert err.value.response["Error"]["Code"] in ("InvalidParameterValue", "InvalidParameterCombination")
    with pytest.raises(ClientError) as err:
        cw.put_composite_alarm(AlarmName="cycle", AlarmRule='ALARM("cycle")')
    assert err.value.response["Error"]["Code"] in ("InvalidParameterValue", "ValidationError")


def test_large_put_metric_data_arrives_gzipped_and_whole(cw) -> None:
    """botocore gzips PutMetricData bodies over 10 KiB; every value must still land."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    values = [float(i % 7) for i in range(150)]  # the per-datum maximum; six datums per batch
    sent = []
    cw.meta.events.register(
        "before-send.cloudwatch.PutMetricData",
        lambda request, **_: sent.append(request.headers.get("Content-Encoding")),
    )
    cw.put_metric_data(
        Namespace="Bulk",
        MetricData=[
            {
                "MetricName": "Items",
                "Timestamp": now - dt.timedelta(seconds=2),
                "Values": values,
                "Counts": [1.0] * len(values),
                "Dimensions": [{"Name": "Batch", "Value": f"b{i % 3}"}],
            }
            for i in range(18)
        ],
    )
    assert sent == [b"gzip"] or sent == ["gzip"], sent
    for i in range(3):
        stats = cw.get_metric_statistics(
            Namespace="Bulk",
            MetricName="Items",
            Dimensions=[{"Name": "Batch", "Value": f"b{i}"}],
            StartTime=now - dt.timedelta(minutes=2),
            EndTime=now + dt.timedelta(minutes=1),
            Period=60,
            Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        assert sum(p["SampleCount"] for p in stats) == 900 and sum(p["Sum"] for p in stats) == 6 * sum(values)
