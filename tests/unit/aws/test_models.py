"""Routing and validation facts derived from botocore's models."""

from __future__ import annotations

import pytest

from chaoslab.aws import models
from chaoslab.aws.catalog import Catalog
from chaoslab.aws.protocols.base import MissingMember, check_required, missing_member_error, to_iso, unknown_operation
from chaoslab.services import SERVICES


@pytest.mark.parametrize(
    ("method", "path", "operation", "labels"),
    [
        ("GET", "/experimentTemplates", "ListExperimentTemplates", {}),
        ("GET", "/experimentTemplates/EXT1", "GetExperimentTemplate", {"id": "EXT1"}),
        ("PATCH", "/experimentTemplates/EXT1", "UpdateExperimentTemplate", {"id": "EXT1"}),
        ("DELETE", "/experiments/EXP1", "StopExperiment", {"id": "EXP1"}),
        ("GET", "/experiments/EXP1/resolvedTargets", "ListExperimentResolvedTargets", {"id": "EXP1"}),
        (
            "GET",
            "/tags/arn%3Aaws%3Afis%3Aus-east-1%3A1%3Aexperiment%2FEXP1",
            "ListTagsForResource",
            {"resourceArn": "arn%3Aaws%3Afis%3Aus-east-1%3A1%3Aexperiment%2FEXP1"},
        ),
        ("PATCH", "/safetyLevers/default/state", "UpdateSafetyLeverState", {"id": "default"}),
    ],
)
def test_fis_routes_on_raw_path(method: str, path: str, operation: str, labels: dict[str, str]) -> None:
    assert models.service("fis").route(method, path, {}) == (operation, labels)


def test_fis_unknown_route() -> None:
    assert models.service("fis").route("PUT", "/experimentTemplates", {}) is None
    assert models.service("fis").route("GET", "/nothing/here", {}) is None


def test_unsigned_routing_tables() -> None:
    catalog = Catalog(SERVICES)
    assert catalog.json_targets["AmazonEC2ContainerServiceV20141113"] == "ecs"
    assert catalog.json_targets["GraniteServiceVersion20100801"] == "cloudwatch"
    assert catalog.query_versions["2015-12-01"] == "elbv2"
    assert catalog.query_versions["2016-11-15"] == "ec2"
    assert catalog.rest_json == ["fis"]


@pytest.mark.parametrize(
    ("service", "protocol", "code"),
    [
        ("ecs", "json", "InvalidParameterException"),
        ("logs", "json", "ValidationException"),
        ("fis", "rest-json", "ValidationException"),
        ("cloudwatch", "json", "MissingRequiredParameterException"),
        ("elbv2", "query", "ValidationError"),
        ("rds", "query", "ValidationError"),
        ("ec2", "ec2", "MissingParameter"),
    ],
)
def test_missing_member_codes_per_service(service: str, protocol: str, code: str) -> None:
    err = missing_member_error(models.service(service), protocol, MissingMember("Filters.1.member.Name"))
    assert err.code == code and err.status == 400
    assert "Value null at 'filters.1.member.name'" in err.message and "Member must not be null" in err.message


def test_nested_required_members_are_checked() -> None:
    shape = models.service("elbv2").model.operation_model("AddTags").input_shape
    with pytest.raises(MissingMember) as missing:
        check_required(shape, {"ResourceArns": ["a"], "Tags": [{"Value": "v"}]})
    assert missing.value.path == "Tags.1.member.Key"


def test_unknown_operation_codes_and_iso_timestamps() -> None:
    assert unknown_operation("query", "X", "rds").code == "InvalidAction"
    assert unknown_operation("rest-json", "X", "fis").code == "UnknownOperationException"
    assert to_iso(1767323045.5) == "2026-01-02T03:04:05.500Z"
