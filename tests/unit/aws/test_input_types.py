"""Input of the wrong type is refused with the member's path, never dropped or passed through:
a dropped `startAfter` silently changed an experiment's order, a string `limit` was a 500."""

from __future__ import annotations

import pytest

from chaoslab.aws import models
from chaoslab.aws.protocols.base import scalar_from_text, validation_error
from chaoslab.aws.protocols.json import from_json


def _input(service: str, operation: str):
    return models.service(service).operation(operation).input_shape


def test_well_typed_json_input_passes() -> None:
    shape = _input("fis", "CreateExperimentTemplate")
    body = {
        "description": "d",
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "stopConditions": [{"source": "none"}],
        "actions": {"a": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "startAfter": ["b"]}},
    }
    assert from_json(shape, body)["actions"]["a"]["startAfter"] == ["b"]
    assert from_json(_input("logs", "DescribeLogGroups"), {"limit": 5}) == {"limit": 5}


@pytest.mark.parametrize(
    "service,operation,body,path",
    [
        (
            "fis",
            "CreateExperimentTemplate",
            {"actions": {"a": {"actionId": "x", "startAfter": "b"}}},
            "actions.a.startAfter",
        ),
        ("fis", "CreateExperimentTemplate", {"actions": {"a": "x"}}, "actions.a"),
        ("fis", "CreateExperimentTemplate", {"description": 5}, "description"),
        ("fis", "StartExperiment", {"tags": ["a"]}, "tags"),
        ("logs", "DescribeLogGroups", {"limit": "abc"}, "limit"),
        ("logs", "DescribeLogGroups", {"limit": True}, "limit"),
        ("logs", "PutLogEvents", {"logEvents": [{"timestamp": "x", "message": "m"}]}, r"logEvents\[0\].timestamp"),
        ("ssm", "SendCommand", {"Parameters": {"a": "not a list"}}, "Parameters.a"),
    ],
)
def test_wrong_json_types_name_the_member(service: str, operation: str, body: dict, path: str) -> None:
    with pytest.raises(TypeError, match=f"^{path} must be a JSON"):
        from_json(_input(service, operation), body)


def test_query_booleans_are_true_or_false() -> None:
    shape = _input("rds", "RebootDBInstance").members["ForceFailover"]
    assert scalar_from_text("True", shape) is True and scalar_from_text("false", shape) is False
    with pytest.raises(ValueError):
        scalar_from_text("maybe", shape)  # was silently False


@pytest.mark.parametrize(
    ("service", "protocol", "code"),
    [
        ("cloudwatch", "query", "ValidationException"),  # was MissingRequiredParameterException (MissingParameter)
        ("logs", "json", "ValidationException"),
        ("ecs", "json", "InvalidParameterException"),
        ("fis", "rest-json", "ValidationException"),
        ("rds", "query", "ValidationError"),
    ],
)
def test_a_malformed_member_is_not_reported_as_missing(service: str, protocol: str, code: str) -> None:
    err = validation_error(models.service(service), protocol, "could not parse")
    assert err.code == code and err.status == 400
