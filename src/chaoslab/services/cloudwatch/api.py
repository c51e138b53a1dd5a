"""CloudWatch operations (botocore names) over CloudWatchBackend: boto3-shaped dicts in and out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from chaoslab.aws import models
from chaoslab.aws.offload import LoopSlices
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.cloudwatch.models import CompositeAlarm, MetricAlarm, utc
from chaoslab.services.cloudwatch.queries import check_queries, run_queries
from chaoslab.services.cloudwatch.statistics import SIMPLE_STATISTICS, is_valid_statistic
from chaoslab.services.cloudwatch.validation import (
    check_value,
    combination,
    dimensions_dict,
    invalid,
    missing,
)
from chaoslab.types import ApiHandler

MAX_DATAPOINTS_PER_STATISTICS_CALL = 1440
MAX_VALUES_PER_DATUM = 150


def _cw(ctx: Any) -> CloudWatchBackend:
    return ctx.lab.cloudwatch


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


PAGES = Paginator(
    token="NextToken",
    size="MaxRecords",
    default=50,
    bad_token=lambda _: AwsError("InvalidNextToken", "The service returned an invalid NextToken.", 400),
    maximum=100,
    bad_size=lambda size, maximum: invalid(f"The parameter MaxRecords must be from 1 to {maximum}; got {size}."),
)


def _query_period(period: Any) -> int:
    """Queries accept any period under a minute (1 s data) or a multiple of 60."""
    if not isinstance(period, int) or period < 1 or (period > 60 and period % 60):
        raise invalid(
            f"The parameter Period must be a positive number of seconds, under 60 or a multiple of 60; got {period!r}."
        )
    return period


_ALARM_TYPES = ("CompositeAlarm", "MetricAlarm", "LogAlarm")
_STATE_VALUES = ("OK", "ALARM", "INSUFFICIENT_DATA")
_SCAN_BY = ("TimestampDescending", "TimestampAscending")


def _one_of(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> None:
    """Enum filters: a typo must not silently filter everything out."""
    values = params.get(name)
    if values is None:
        return
    for value in values if isinstance(values, list) else [values]:
        if value not in allowed:
            raise invalid(f"The parameter {name} must be one of {', '.join(allowed)}; got {value!r}.")


# -- metrics -----------------------------------------------------------------------------------


@cache
def _units() -> frozenset[str]:
    """CloudWatch's StandardUnit values, from the model the gateway parses with."""
    operation = models.service("cloudwatch").operation("PutMetricData")
    shape = operation.input_shape if operation is not None else None
    assert shape is not None  # PutMetricData has input in every model version
    datum = shape.members["MetricData"].member
    return frozenset(datum.members["Unit"].enum)


async def put_metric_data(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Up to 1,000 datums of up to 150 values each: validated, then stored, in slices of a few
    milliseconds so the loop (the ALB's too) keeps running (a whole call took 100-500 ms). The
    call's datapoints arrive together, after the PutMetricData availability delay."""
    namespace = params.get("Namespace")
    if not namespace:
        raise missing("Namespace")
    if namespace.startswith("AWS/"):
        raise invalid(f"The value {namespace} for parameter Namespace is invalid: the AWS/ prefix is reserved.")
    data = params.get("MetricData") or []
    if not data:
        raise missing("MetricData")
    cw = _cw(ctx)
    now = cw.clock()  # a datum without a Timestamp is stamped when put, not when it arrives
    staged: list[Callable[[], None]] = []  # validate every datum before storing any
    slices = LoopSlices()
    for i, d in enumerate(data, 1):
        await slices.pause()
        where = f"MetricData.member.{i}"
        name = d.get("MetricName")
        if not name:
            raise missing(f"{where}.MetricName")
        dims = dimensions_dict(d.get("Dimensions"), f"{where}.Dimensions")
        unit = d.get("Unit", "None")
        if unit not in _units():
            raise invalid(f"The parameter {where}.Unit must be one of {', '.join(sorted(_units()))}; got {unit!r}.")
        ts = _epoch(d["Timestamp"]) if d.get("Timestamp") is not None else now
        res = d.get("StorageResolution", 60)
        if res not in (1, 60):
            raise invalid(f"The parameter {where}.StorageResolution must be 1 or 60; got {res!r}.")
        given = [k for k in ("Value", "Values", "StatisticValues") if d.get(k) is not None]
        if len(given) != 1:
            raise combination(f"Exactly one of {where}.Value, Values and StatisticValues must be given.")
        if "StatisticValues" in given:
            sv = d["StatisticValues"]
            for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
                if sv.get(key) is None:
                    raise missing(f"{where}.StatisticValues.{key}")
                check_value(sv[key], f"{where}.StatisticValues.{key}")
            staged.append(
                partial(
                    cw.metrics.put_statistics,
                    namespace,
                    name,
                    dims,
                    sv["SampleCount"],
                    sv["Sum"],
                    sv["Minimum"],
                    sv["Maximum"],
                    unit,
                    ts,
                    res,
                )
            )
            continue
        values = [d["Value"]] if "Value" in given else list(d["Values"])
        if len(values) > MAX_VALUES_PER_DATUM:
            raise invalid(f"The collection {where}.Values must not have more than {MAX_VALUES_PER_DATUM} members.")
        values = [check_value(v, f"{where}.Values") for v in values]
        counts = d.get("Counts")
        if counts is not None:
            if "Value" in given or len(counts) != len(values):
                raise combination(f"{where}.Counts must have exactly one entry per {where}.Values entry.")
            counts = [check_value(c, f"{where}.Counts") for c in counts]
        staged.append(partial(cw.metrics.put, namespace, name, dims, values, unit, ts, res, counts))
    wait = cw.lab.config.timing.draw("cloudwatch_put_metric_data_delay_s")  # one draw: the call arrives whole
    for store in staged:
        await slices.pause()
        cw.deliver(wait, store)
    return {}


def _datapoint(t: float, agg: Any, stats: list[str], extended: list[str], unit: str | None) -> dict[str, Any]:
    point: dict[str, Any] = {"Timestamp": utc(t)}
    for s in stats:
        point[s] = agg.statistic(s)
    if extended:
        point["ExtendedStatistics"] = {e: v for e in extended if (v := agg.statistic(e)) is not None}
    point["Unit"] = unit or "None"
    return point


def get_metric_statistics(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    for key in ("Namespace", "MetricName", "StartTime", "EndTime", "Period"):
        if params.get(key) is None:
            raise missing(key)
    stats = list(params.get("Statistics") or [])
    extended = list(params.get("ExtendedStatistics") or [])
    if not stats and not extended:
        raise missing("Statistics or ExtendedStatistics")
    for s in stats:
        if s not in SIMPLE_STATISTICS:
            raise invalid(f"The parameter Statistics must contain only {', '.join(SIMPLE_STATISTICS)}; got {s!r}.")
    for e in extended:
        if not is_valid_statistic(e) or e in SIMPLE_STATISTICS:
            raise invalid(f"The parameter ExtendedStatistics must contain percentiles such as p99; got {e!r}.")
    period = _query_period(params["Period"])
    start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
    if end <= start:
        raise invalid("The parameter StartTime must be earlier than EndTime.")
    if (end - start) / period > MAX_DATAPOINTS_PER_STATISTICS_CALL:
        raise combination(
            f"You have requested up to {int((end - start) // period)} datapoints, which exceeds "
            f"the limit of {MAX_DATAPOINTS_PER_STATISTICS_CALL}."
        )
    unit = params.get("Unit")
    rows = _cw(ctx).statistics(
        params["Namespace"], params["MetricName"], dimensions_dict(params.get("Dimensions")), start, end, period, unit
    )
    return {
        "Label": params["MetricName"],
        "Datapoints": [_datapoint(t, agg, stats, extended, unit) for t, agg in rows],
    }


def get_metric_data(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    queries = params.get("MetricDataQueries") or []
    if not queries:
        raise missing("MetricDataQueries")
    if len(queries) > 500:
        raise invalid("The collection MetricDataQueries must not have more than 500 members.")
    check_queries(queries, _query_period)
    start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
    if end <= start:
        raise invalid("The parameter StartTime must be earlier than EndTime.")
    _one_of(params, "ScanBy", _SCAN_BY)
    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    series = run_queries(queries, start, end, _cw(ctx).statistics)
    results = []
    for q in queries:
        if not q.get("ReturnData", True):
            continue
        points = sorted(series[q["Id"]].items(), reverse=descending)
        default_label = q["MetricStat"]["Metric"]["MetricName"] if q.get("MetricStat") else q["Id"]
        results.append(
            {
                "Id": q["Id"],
                "Label": q.get("Label") or default_label,
                "Timestamps": [utc(t) for t, _ in points],
                "Values": [v for _, v in points],
                "StatusCode": "Complete",
                "Messages": [],
            }
        )
    return {"MetricDataResults": results, "Messages": []}


def list_metrics(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    found = _cw(ctx).list_metrics(params.get("Namespace"), params.get("MetricName"), params.get("Dimensions"))
    page, more = PAGES.page(found, params, default=500)  # ListMetrics: 500 a page, no size to ask for
    return {
        "Metrics": [
            {
                "Namespace": s.namespace,
                "MetricName": s.name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(s.dimensions.items())],
            }
            for s in page
        ],
        **more,
    }


# -- alarms ------------------------------------------------------------------------------------


def put_metric_alarm(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).put_metric_alarm(params)
    return {}


def put_composite_alarm(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).put_composite_alarm(params)
    return {}


def describe_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _one_of(params, "StateValue", _STATE_VALUES)
    _one_of(params, "AlarmTypes", _ALARM_TYPES)
    found = _cw(ctx).describe_alarms(
        names=params.get("AlarmNames"),
        prefix=params.get("AlarmNamePrefix"),
        state=params.get("StateValue"),
        types=params.get("AlarmTypes"),
        children_of=params.get("ChildrenOfAlarmName"),
        parents_of=params.get("ParentsOfAlarmName"),
        action_prefix=params.get("ActionPrefix"),
    )
    page, more = PAGES.page(found, params)
    return {
        "MetricAlarms": [a.describe() for a in page if isinstance(a, MetricAlarm)],
        "CompositeAlarms": [a.describe() for a in page if isinstance(a, CompositeAlarm)],
        **more,
    }


def describe_alarms_for_metric(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    for key in ("Namespace", "MetricName"):
        if not params.get(key):
            raise missing(key)
    dims = dimensions_dict(params["Dimensions"]) if params.get("Dimensions") is not None else None
    found = _cw(ctx).describe_alarms_for_metric(
        params["Namespace"],
        params["MetricName"],
        dims,
        params.get("Statistic") or params.get("ExtendedStatistic"),
        params.get("Period"),
        params.get("Unit"),
    )
    return {"MetricAlarms": [a.describe() for a in found]}


def describe_alarm_history(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _one_of(params, "AlarmTypes", _ALARM_TYPES)
    _one_of(
        params,
        "HistoryItemType",
        ("ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"),
    )
    _one_of(params, "ScanBy", _SCAN_BY)
    items = _cw(ctx).alarm_history(
        name=params.get("AlarmName"),
        types=params.get("AlarmTypes"),
        item_type=params.get("HistoryItemType"),
        start=_epoch(params["StartDate"]) if params.get("StartDate") else None,
        end=_epoch(params["EndDate"]) if params.get("EndDate") else None,
        newest_first=params.get("ScanBy", "TimestampDescending") == "TimestampDescending",
    )
    page, more = PAGES.page(items, params, default=100)
    return {"AlarmHistoryItems": [h.describe() for h in page], **more}


def set_alarm_state(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    for key in ("AlarmName", "StateValue", "StateReason"):
        if params.get(key) is None:
            raise missing(key)
    _cw(ctx).set_alarm_state(
        params["AlarmName"], params["StateValue"], params["StateReason"], params.get("StateReasonData")
    )
    return {}


def delete_alarms(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).delete_alarms(list(params.get("AlarmNames") or []))
    return {}


def enable_alarm_actions(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).set_actions_enabled(list(params.get("AlarmNames") or []), True)
    return {}


def disable_alarm_actions(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).set_actions_enabled(list(params.get("AlarmNames") or []), False)
    return {}


def tag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).tag_resource(params["ResourceARN"], list(params.get("Tags") or []))
    return {}


def untag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _cw(ctx).untag_resource(params["ResourceARN"], list(params.get("TagKeys") or []))
    return {}


def list_tags_for_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    tags = _cw(ctx).list_tags(params["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


OPERATIONS: dict[str, ApiHandler] = {
    "PutMetricData": put_metric_data,
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
    "PutMetricAlarm": put_metric_alarm,
    "PutCompositeAlarm": put_composite_alarm,
    "DescribeAlarms": describe_alarms,
    "DescribeAlarmsForMetric": describe_alarms_for_metric,
    "DescribeAlarmHistory": describe_alarm_history,
    "SetAlarmState": set_alarm_state,
    "DeleteAlarms": delete_alarms,
    "EnableAlarmActions": enable_alarm_actions,
    "DisableAlarmActions": disable_alarm_actions,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
