"""API handlers: boto3-shaped input, outputs that validate against botocore's output shapes."""

import asyncio
import datetime as dt
import inspect
import types

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chaoslab.errors import AwsError
from chaoslab.services.cloudwatch.api import OPERATIONS

MODEL = botocore.session.get_session().get_service_model("cloudwatch")


@pytest.fixture
def call(cw, lab):
    lab.cloudwatch = cw
    ctx = types.SimpleNamespace(lab=lab)

    def invoke(op, **params):
        out = OPERATIONS[op](ctx, params)
        if inspect.iscoroutine(out):  # handlers that yield to the loop while they work (PutMetricData)
            out = asyncio.run(out)
        shape = MODEL.operation_model(op).output_shape
        if shape is not None:
            report = ParamValidator().validate(out, shape)
            assert not report.has_errors(), report.generate_report()
        return out

    return invoke


def when(clock, offset=0.0):
    return dt.datetime.fromtimestamp(clock.t + offset, dt.UTC)


def test_every_operation_in_the_brief_is_served():
    wanted = {
        "PutMetricData",
        "GetMetricData",
        "GetMetricStatistics",
        "ListMetrics",
        "PutMetricAlarm",
        "PutCompositeAlarm",
        "DescribeAlarms",
        "DescribeAlarmsForMetric",
        "DescribeAlarmHistory",
        "SetAlarmState",
        "DeleteAlarms",
        "EnableAlarmActions",
        "DisableAlarmActions",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
    }
    assert wanted <= set(OPERATIONS) and set(OPERATIONS) <= set(MODEL.operation_names)


def test_put_and_read_back_all_input_forms(call, clock):
    t0 = when(clock, -30)
    call(
        "PutMetricData",
        Namespace="Shop",
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": [{"Name": "Api", "Value": "buy"}],
                "Timestamp": t0,
                "Values": [1.0, 2.0, 3.0, 400.0],
                "Counts": [10, 10, 10, 1],
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            },
            {
                "MetricName": "Latency",
                "Dimensions": [{"Name": "Api", "Value": "buy"}],
                "Timestamp": t0,
                "Value": 5.0,
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            },
            {
                "MetricName": "Orders",
                "Timestamp": t0,
                "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4},
            },
        ],
    )
    out = call(
        "GetMetricStatistics",
        Namespace="Shop",
        MetricName="Latency",
        Dimensions=[{"Name": "Api", "Value": "buy"}],
        StartTime=when(clock, -60),
        EndTime=when(clock),
        Period=60,
        Statistics=["SampleCount", "Sum", "Maximum"],
        ExtendedStatistics=["p50", "p95", "p99"],
    )
    [p] = out["Datapoints"]
    assert p["SampleCount"] == 32 and p["Sum"] == 465.0 and p["Maximum"] == 400.0
    assert p["ExtendedStatistics"] == {"p50": 2.0, "p95": 5.0, "p99": 400.0}
    orders = call(
        "GetMetricStatistics",
        Namespace="Shop",
        MetricName="Orders",
        StartTime=when(clock, -120),
        EndTime=when(clock),
        Period=60,
        Statistics=["Average"],
        ExtendedStatistics=["p90"],
    )
    assert orders["Datapoints"][0]["Average"] == 2.5 and orders["Datapoints"][0]["ExtendedStatistics"] == {}
    data = call(
        "GetMetricData",
        StartTime=when(clock, -60),
        EndTime=when(clock),
        MetricDataQueries=[
            {
                "Id": "lat",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "Shop",
                        "MetricName": "Latency",
                        "Dimensions": [{"Name": "Api", "Value": "buy"}],
                    },
                    "Period": 1,
                    "Stat": "p95",
                },
            },
        ],
    )
    assert data["MetricDataResults"][0]["Values"] == [5.0]
    assert data["MetricDataResults"][0]["Timestamps"] == [when(clock, -30)]
    listed = call("ListMetrics", Namespace="Shop", Dimensions=[{"Name": "Api"}])
    assert [m["MetricName"] for m in listed["Metrics"]] == ["Latency"]


@pytest.mark.parametrize(
    "datum,code",
    [
        ({"MetricName": "m", "Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination"),
        ({"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1]}, "InvalidParameterCombination"),
        ({"MetricName": "m", "Value": float("nan")}, "InvalidParameterValue"),
        ({"MetricName": "m", "Value": 1.0, "StorageResolution": 5}, "InvalidParameterValue"),
        ({"MetricName": "m", "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1}}, "MissingParameter"),
        (
            {"MetricName": "m", "Value": 1.0, "Unit": "ms"},
            "InvalidParameterValue",
        ),  # stored as a unit no query asks for
    ],
)
def test_put_metric_data_errors(call, datum, code):
    with pytest.raises(AwsError) as e:
        call("PutMetricData", Namespace="Shop", MetricData=[datum])
    assert e.value.code == code


def test_reserved_namespace_and_metric_math(call, clock):
    with pytest.raises(AwsError) as e:
        call("PutMetricData", Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert e.value.code == "InvalidParameterValue"
    with pytest.raises(AwsError) as e:
        call(
            "GetMetricData",
            StartTime=when(clock, -60),
            EndTime=when(clock),
            MetricDataQueries=[{"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"}],
        )
    assert e.value.code == "ValidationError" and "not supported" in e.value.message


def test_get_metric_data_error_rate_expression(call, clock):
    dims = [{"Name": "Api", "Value": "buy"}]
    for sec, (req, err) in enumerate([(10, 0), (10, 5), (0, 0), (20, 2)]):
        call(
            "PutMetricData",
            Namespace="Shop",
            MetricData=[
                {
                    "MetricName": "Requests",
                    "Dimensions": dims,
                    "Timestamp": when(clock, -10 + sec),
                    "Value": float(req),
                    "StorageResolution": 1,
                },
                {
                    "MetricName": "Errors",
                    "Dimensions": dims,
                    "Timestamp": when(clock, -10 + sec),
                    "Value": float(err),
                    "StorageResolution": 1,
                },
            ],
        )
    stat = lambda name: {
        "Metric": {"Namespace": "Shop", "MetricName": name, "Dimensions": dims},
        "Period": 1,
        "Stat": "Sum",
    }
    out = call(
        "GetMetricData",
        StartTime=when(clock, -10),
        EndTime=when(clock),
        ScanBy="TimestampAscending",
        MetricDataQueries=[
            {"Id": "errors", "MetricStat": stat("Errors"), "ReturnData": False},
            {"Id": "requests", "MetricStat": stat("Requests"), "ReturnData": False},
            {"Id": "rate", "Expression": "100 * errors / requests", "Label": "Error rate"},
            {"Id": "total", "Expression": "SUM(METRICS())"},
        ],
    )
    rate, total = out["MetricDataResults"]
    assert rate["Label"] == "Error rate" and rate["Values"] == [0.0, 50.0, 10.0]  # 0/0 gives no point
    assert total["Values"] == [10.0, 15.0, 0.0, 22.0]


def test_alarm_round_trip_through_handlers(call, cw, clock):
    call(
        "PutMetricAlarm",
        AlarmName="hi-latency",
        Namespace="Shop",
        MetricName="Latency",
        ExtendedStatistic="p99",
        Period=10,
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        Threshold=100.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=[{"Key": "team", "Value": "shop"}],
    )
    call(
        "PutMetricAlarm",
        AlarmName="metrics-form",
        Threshold=1.0,
        EvaluationPeriods=1,
        ComparisonOperator="LessThanThreshold",
        Metrics=[
            {
                "Id": "m1",
                "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders"}, "Period": 60, "Stat": "Sum"},
                "ReturnData": True,
            }
        ],
    )
    call("PutCompositeAlarm", AlarmName="any", AlarmRule='ALARM(hi-latency) OR ALARM("metrics-form")')
    out = call("DescribeAlarms", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert [a["AlarmName"] for a in out["MetricAlarms"]] == ["hi-latency", "metrics-form"]
    assert out["CompositeAlarms"][0]["StateValue"] == "OK"
    page = call("DescribeAlarms", MaxRecords=1)
    assert len(page["MetricAlarms"]) == 1 and page["NextToken"]
    rest = call("DescribeAlarms", MaxRecords=1, NextToken=page["NextToken"])
    assert rest["MetricAlarms"][0]["AlarmName"] == "metrics-form" and "NextToken" not in rest
    call("SetAlarmState", AlarmName="hi-latency", StateValue="ALARM", StateReason="drill")
    assert call("DescribeAlarms", AlarmTypes=["CompositeAlarm"], StateValue="ALARM")["CompositeAlarms"]
    hist = call("DescribeAlarmHistory", AlarmName="hi-latency", HistoryItemType="StateUpdate")
    assert hist["AlarmHistoryItems"][0]["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert (
        call("DescribeAlarmsForMetric", Namespace="Shop", MetricName="Orders")["MetricAlarms"][0]["AlarmName"]
        == "metrics-form"
    )
    call("DisableAlarmActions", AlarmNames=["hi-latency"])
    assert call("DescribeAlarms", AlarmNames=["hi-latency"])["MetricAlarms"][0]["ActionsEnabled"] is False
    arn = cw.alarm_arn("hi-latency")
    call("TagResource", ResourceARN=arn, Tags=[{"Key": "tier", "Value": "1"}])
    call("UntagResource", ResourceARN=arn, TagKeys=["team"])
    assert call("ListTagsForResource", ResourceARN=arn)["Tags"] == [{"Key": "tier", "Value": "1"}]
    call("DeleteAlarms", AlarmNames=["any"])
    with pytest.raises(AwsError) as e:
        call("SetAlarmState", AlarmName="any", StateValue="OK", StateReason="x")
    assert e.value.code == "ResourceNotFound"


def test_statistics_limits(call, clock):
    with pytest.raises(AwsError) as e:
        call(
            "GetMetricStatistics",
            Namespace="Shop",
            MetricName="m",
            StartTime=when(clock, -7200),
            EndTime=when(clock),
            Period=1,
            Statistics=["Sum"],
        )
    assert e.value.code == "InvalidParameterCombination"
    with pytest.raises(AwsError) as e:
        call(
            "GetMetricStatistics",
            Namespace="Shop",
            MetricName="m",
            StartTime=when(clock, -60),
            EndTime=when(clock),
            Period=60,
        )
    assert e.value.code == "MissingParameter"


_QUERY = {
    "MetricDataQueries": [
        {"Id": "m", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}
    ],
    "StartTime": 0,
    "EndTime": 60,
}


@pytest.mark.parametrize(
    "op,params",
    [
        ("DescribeAlarms", {"StateValue": "Alarm"}),
        ("DescribeAlarms", {"AlarmTypes": ["MetricAlarm", "Composite"]}),
        ("DescribeAlarmHistory", {"HistoryItemType": "StateUpdates"}),
        ("DescribeAlarmHistory", {"ScanBy": "Ascending"}),
        ("GetMetricData", {"ScanBy": "Ascending"}),
    ],
)
def test_enum_filters_refuse_a_typo_instead_of_matching_nothing(call, op, params):
    name = next(iter(params))
    if op == "GetMetricData":
        params = {**_QUERY, **params}
    with pytest.raises(AwsError) as e:
        call(op, **params)
    assert e.value.code == "InvalidParameterValue" and f"parameter {name} must be one of" in e.value.message
    call(
        op,
        **{
            "DescribeAlarms": {"StateValue": "ALARM", "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
            "DescribeAlarmHistory": {"HistoryItemType": "StateUpdate", "ScanBy": "TimestampAscending"},
            "GetMetricData": {**_QUERY, "ScanBy": "TimestampAscending"},
        }[op],
    )
