"""CloudWatch Logs: paging tokens, filters, errors, auto-create — through the API handlers, with
outputs validated against botocore's output shapes."""

import types

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.logs.api import OPERATIONS
from chaoslab.services.logs.backend import LogsBackend
from chaoslab.services.logs.pattern import PatternError, parse_pattern

MODEL = botocore.session.get_session().get_service_model("logs")
NOW = 1_795_306_200.0
T0 = int(NOW * 1000) - 60_000


@pytest.fixture
def logs(tmp_path):
    lab = types.SimpleNamespace(config=LabConfig(home=tmp_path))
    lab.logs = LogsBackend(lab, clock=lambda: NOW)
    return lab.logs


@pytest.fixture
def call(logs):
    ctx = types.SimpleNamespace(lab=logs.lab)

    def invoke(op, **params):
        out = OPERATIONS[op](ctx, params)
        shape = MODEL.operation_model(op).output_shape
        if shape is not None:
            report = ParamValidator().validate(out, shape)
            assert not report.has_errors(), report.generate_report()
        return out

    return invoke


def fill(call, n=25, group="/ecs/shop", stream="web/1"):
    call("CreateLogGroup", logGroupName=group)
    call("CreateLogStream", logGroupName=group, logStreamName=stream)
    call(
        "PutLogEvents",
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": T0 + i, "message": f"line {i}"} for i in range(n)],
    )


def messages(out):
    return [e["message"] for e in out["events"]]


def test_get_log_events_paging_from_head(call):
    fill(call)
    seen, token = [], None
    for _ in range(10):
        kw = {"nextToken": token} if token else {"startFromHead": True}
        out = call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", limit=10, **kw)
        if token == out["nextForwardToken"]:
            assert out["events"] == []
            break
        seen += messages(out)
        token = out["nextForwardToken"]
    assert seen == [f"line {i}" for i in range(25)]


def test_get_log_events_default_is_the_tail_and_backward_pages(call):
    fill(call)
    tail = call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", limit=10)
    assert messages(tail) == [f"line {i}" for i in range(15, 25)]
    back = call(
        "GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", limit=10, nextToken=tail["nextBackwardToken"]
    )
    assert messages(back) == [f"line {i}" for i in range(5, 15)]
    first = call(
        "GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", limit=10, nextToken=back["nextBackwardToken"]
    )
    assert messages(first) == [f"line {i}" for i in range(5)]
    end = call(
        "GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", limit=10, nextToken=first["nextBackwardToken"]
    )
    assert end["events"] == [] and end["nextBackwardToken"] == first["nextBackwardToken"]
    more = call(
        "PutLogEvents",
        logGroupName="/ecs/shop",
        logStreamName="web/1",
        logEvents=[{"timestamp": T0 + 100, "message": "late"}],
    )
    assert more["nextSequenceToken"]
    after = call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", nextToken=tail["nextForwardToken"])
    assert messages(after) == ["late"]


def test_time_window_and_out_of_order_puts_are_ordered(call):
    fill(call, n=0 + 1)
    call(
        "PutLogEvents",
        logGroupName="/ecs/shop",
        logStreamName="web/1",
        logEvents=[{"timestamp": T0 - 10, "message": "earlier"}],
    )
    out = call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", startFromHead=True)
    assert messages(out) == ["earlier", "line 0"]
    out = call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1", startTime=T0, endTime=T0 + 1)
    assert messages(out) == ["line 0"]


def test_filter_log_events_patterns_streams_and_paging(call, logs):
    call("CreateLogGroup", logGroupName="/ecs/shop")
    for i, (stream, msg) in enumerate(
        [
            ("web/1", "GET /buy 200"),
            ("web/2", "ERROR connection reset by peer"),
            ("web/1", "ERROR timeout"),
            ("worker/1", "WARN slow query"),
            ("web/2", "GET /buy 503"),
            ("web/1", "ERROR connection refused"),
        ]
    ):
        logs.append("/ecs/shop", stream, msg, (T0 + i * 1000) / 1000)
    f = lambda **kw: messages(call("FilterLogEvents", logGroupName="/ecs/shop", **kw))
    assert f(filterPattern="ERROR") == ["ERROR connection reset by peer", "ERROR timeout", "ERROR connection refused"]
    assert f(filterPattern='ERROR "connection re"') == ["ERROR connection reset by peer", "ERROR connection refused"]
    assert f(filterPattern="ERROR -timeout -refused") == ["ERROR connection reset by peer"]
    assert f(filterPattern="?503 ?WARN") == ["WARN slow query", "GET /buy 503"]
    assert f(logStreamNames=["web/2"]) == ["ERROR connection reset by peer", "GET /buy 503"]
    assert f(logStreamNamePrefix="worker") == ["WARN slow query"]
    assert f(startTime=T0 + 1000, endTime=T0 + 3000) == ["ERROR connection reset by peer", "ERROR timeout"]
    page1 = call("FilterLogEvents", logGroupName="/ecs/shop", limit=4)
    page2 = call("FilterLogEvents", logGroupName="/ecs/shop", limit=4, nextToken=page1["nextToken"])
    assert len(page1["events"]) == 4 and len(page2["events"]) == 2 and "nextToken" not in page2
    assert page1["events"][0]["logStreamName"] == "web/1"


def test_append_auto_creates_and_describe(call, logs):
    logs.append("/ecs/auto", "task/abc", "hello")
    groups = call("DescribeLogGroups", logGroupNamePrefix="/ecs/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/ecs/auto"]
    assert groups[0]["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/auto:*"
    streams = call("DescribeLogStreams", logGroupName="/ecs/auto")["logStreams"]
    assert streams[0]["logStreamName"] == "task/abc" and streams[0]["lastEventTimestamp"] == int(NOW * 1000)


@pytest.mark.parametrize(
    "op,params,code",
    [
        ("CreateLogStream", {"logGroupName": "/nope", "logStreamName": "s"}, "ResourceNotFoundException"),
        ("CreateLogGroup", {"logGroupName": "/ecs/shop"}, "ResourceAlreadyExistsException"),
        ("CreateLogStream", {"logGroupName": "/ecs/shop", "logStreamName": "web/1"}, "ResourceAlreadyExistsException"),
        ("GetLogEvents", {"logGroupName": "/ecs/shop", "logStreamName": "ghost"}, "ResourceNotFoundException"),
        (
            "PutLogEvents",
            {
                "logGroupName": "/ecs/shop",
                "logStreamName": "web/1",
                "logEvents": [{"timestamp": T0 + 5, "message": "b"}, {"timestamp": T0, "message": "a"}],
            },
            "InvalidParameterException",
        ),
        ("PutRetentionPolicy", {"logGroupName": "/ecs/shop", "retentionInDays": 2}, "InvalidParameterException"),
        (
            "FilterLogEvents",
            {"logGroupName": "/ecs/shop", "filterPattern": "{ $.level = 1 }"},
            "InvalidParameterException",
        ),
        (
            "FilterLogEvents",
            {"logGroupName": "/ecs/shop", "logStreamNames": ["a"], "logStreamNamePrefix": "a"},
            "InvalidParameterException",
        ),
        (
            "GetLogEvents",
            {"logGroupName": "/ecs/shop", "logStreamName": "web/1", "nextToken": "garbage"},
            "InvalidParameterException",
        ),
        ("CreateLogGroup", {"logGroupName": "bad name!"}, "InvalidParameterException"),
    ],
)
def test_error_codes(call, op, params, code):
    fill(call, n=1)
    with pytest.raises(AwsError) as e:
        call(op, **params)
    assert e.value.code == code


def test_too_old_and_too_new_events_are_rejected_not_stored(call):
    fill(call, n=0 + 1)
    out = call(
        "PutLogEvents",
        logGroupName="/ecs/shop",
        logStreamName="web/1",
        logEvents=[
            {"timestamp": T0 - 15 * 86_400_000, "message": "ancient"},
            {"timestamp": T0 - 15 * 86_400_000 + 1, "message": "ancient2"},
        ],
    )
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}


def test_retention_expires_events(call, logs):
    fill(call, n=1)
    logs.append("/ecs/shop", "web/1", "old", NOW - 2 * 86400)
    assert len(call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1")["events"]) == 2
    call("PutRetentionPolicy", logGroupName="/ecs/shop", retentionInDays=1)
    assert messages(call("GetLogEvents", logGroupName="/ecs/shop", logStreamName="web/1")) == ["line 0"]
    assert call("DescribeLogGroups")["logGroups"][0]["retentionInDays"] == 1


def test_pattern_parser():
    p = parse_pattern('ERROR "a \\"quoted\\" phrase" -noise ?x ?y')
    assert p.required == ["ERROR", 'a "quoted" phrase'] and p.excluded == ["noise"] and p.any_of == ["x", "y"]
    with pytest.raises(PatternError):
        parse_pattern('"unbalanced')
    for unsupported in ("{ $.level = ERROR }", "[ip, user]", "%hel+o%"):
        with pytest.raises(PatternError, match="not supported"):  # a literal "%hel+o%" would match nothing
            parse_pattern(unsupported)
    assert parse_pattern("").matches("anything")


def test_tags_and_delete(call):
    fill(call, n=1)
    arn = call("DescribeLogGroups")["logGroups"][0]["logGroupArn"]
    call("TagResource", resourceArn=arn, tags={"team": "shop"})
    assert call("ListTagsForResource", resourceArn=arn)["tags"] == {"team": "shop"}
    call("DeleteLogStream", logGroupName="/ecs/shop", logStreamName="web/1")
    call("DeleteLogGroup", logGroupName="/ecs/shop")
    assert call("DescribeLogGroups")["logGroups"] == []
