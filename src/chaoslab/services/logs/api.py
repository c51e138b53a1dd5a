"""CloudWatch Logs operations (botocore names) over LogsBackend."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.logs.backend import LogsBackend, bad
from chaoslab.types import ApiHandler


def _logs(ctx: Any) -> LogsBackend:
    return ctx.lab.logs


def _required(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise bad(
                f"1 validation error detected: Value null at '{name}' failed to satisfy constraint: "
                "Member must not be null"
            )


def _group_name(params: dict[str, Any]) -> str:
    """logGroupName, or logGroupIdentifier (a name or an ARN)."""
    ident = params.get("logGroupIdentifier")
    if ident and params.get("logGroupName"):
        raise bad("logGroupName and logGroupIdentifier cannot both be specified.")
    if ident:
        return ident.split(":log-group:", 1)[-1].removesuffix(":*") if ident.startswith("arn:") else ident
    _required(params, "logGroupName")
    return params["logGroupName"]


PAGES = Paginator(
    token="nextToken",
    size="limit",
    default=50,
    bad_token=lambda token: bad(f"The specified nextToken is invalid: {token!r}."),
    maximum=50,
    bad_size=lambda _, maximum: bad(f"limit must be from 1 to {maximum}."),
)


def create_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName")
    _logs(ctx).create_log_group(params["logGroupName"], params.get("tags"), params.get("logGroupClass", "STANDARD"))
    return {}


def delete_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName")
    _logs(ctx).delete_log_group(params["logGroupName"])
    return {}


def describe_log_groups(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    groups = _logs(ctx).describe_log_groups(params.get("logGroupNamePrefix"), params.get("logGroupNamePattern"))
    page, more = PAGES.page(groups, params)
    return {"logGroups": [g.describe() for g in page], **more}


def put_retention_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName", "retentionInDays")
    _logs(ctx).put_retention_policy(params["logGroupName"], params["retentionInDays"])
    return {}


def delete_retention_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName")
    _logs(ctx).put_retention_policy(params["logGroupName"], None)
    return {}


def create_log_stream(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName", "logStreamName")
    _logs(ctx).create_log_stream(params["logGroupName"], params["logStreamName"])
    return {}


def delete_log_stream(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName", "logStreamName")
    _logs(ctx).delete_log_stream(params["logGroupName"], params["logStreamName"])
    return {}


def describe_log_streams(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    streams = _logs(ctx).describe_log_streams(
        _group_name(params),
        params.get("logStreamNamePrefix"),
        params.get("orderBy", "LogStreamName"),
        bool(params.get("descending", False)),
    )
    page, more = PAGES.page(streams, params)
    return {"logStreams": [s.describe() for s in page], **more}


def put_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logGroupName", "logStreamName", "logEvents")
    # sequenceToken is accepted and ignored, as AWS has done since 2023.
    return _logs(ctx).put_log_events(params["logGroupName"], params["logStreamName"], params["logEvents"])


def get_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "logStreamName")
    return _logs(ctx).get_log_events(
        _group_name(params),
        params["logStreamName"],
        params.get("startTime"),
        params.get("endTime"),
        params.get("nextToken"),
        params.get("limit"),
        bool(params.get("startFromHead", False)),
    )


def filter_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return _logs(ctx).filter_log_events(
        _group_name(params),
        params.get("logStreamNames"),
        params.get("logStreamNamePrefix"),
        params.get("startTime"),
        params.get("endTime"),
        params.get("filterPattern"),
        params.get("nextToken"),
        params.get("limit"),
    )


def tag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "resourceArn")
    _group_by_arn(ctx, params["resourceArn"]).tags.update(params.get("tags") or {})
    return {}


def untag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "resourceArn")
    group = _group_by_arn(ctx, params["resourceArn"])
    for key in params.get("tagKeys") or []:
        group.tags.pop(key, None)
    return {}


def list_tags_for_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _required(params, "resourceArn")
    return {"tags": dict(_group_by_arn(ctx, params["resourceArn"]).tags)}


def _group_by_arn(ctx: Any, resource_arn: str):
    name = resource_arn.split(":log-group:", 1)[-1].removesuffix(":*")
    group = _logs(ctx).groups.get(name)
    if group is None or not resource_arn.startswith("arn:"):
        raise AwsError("ResourceNotFoundException", "The specified resource does not exist.", 400)
    return group


OPERATIONS: dict[str, ApiHandler] = {
    "CreateLogGroup": create_log_group,
    "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups,
    "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy,
    "CreateLogStream": create_log_stream,
    "DeleteLogStream": delete_log_stream,
    "DescribeLogStreams": describe_log_streams,
    "PutLogEvents": put_log_events,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
