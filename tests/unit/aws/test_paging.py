"""The one paginator: each service's paging keeps its member names, sizes and error wording
(these were five separate implementations, and callers match on what they answered)."""

from __future__ import annotations

from typing import Any

import pytest

from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.autoscaling import api as autoscaling
from chaoslab.services.cloudwatch import api as cloudwatch
from chaoslab.services.ec2 import paging as ec2
from chaoslab.services.ecs import api as ecs
from chaoslab.services.elbv2 import api as elbv2
from chaoslab.services.fis import models as fis
from chaoslab.services.iam import api as iam
from chaoslab.services.logs import api as logs
from chaoslab.services.rds import api as rds
from chaoslab.services.ssm import api as ssm

ITEMS = list(range(7))


@pytest.mark.parametrize(
    ("pages", "token", "code", "message"),
    [
        (cloudwatch.PAGES, "x", "InvalidNextToken", "The service returned an invalid NextToken."),
        (logs.PAGES, "x", "InvalidParameterException", "The specified nextToken is invalid: 'x'."),
        (ssm.PAGES, "x", "InvalidNextToken", "The specified token isn't valid."),
        (fis.PAGES, "x", "ValidationException", "The nextToken is not valid."),
        (iam.PAGES, "x", "ValidationError", "Invalid Marker."),
        (ecs.PAGES, "x", "InvalidParameterException", "Invalid nextToken."),
        (ec2.PAGES, "x", "InvalidPaginationToken", "Invalid pagination token: x"),
        (elbv2.PAGES, "x", "ValidationError", "The marker 'x' is not valid"),
        (rds.PAGES, "x", "InvalidParameterValue", "The marker 'x' is not valid."),
        (autoscaling.PAGES, "x", "InvalidNextToken", "The token provided is not valid."),
    ],
)
def test_a_bad_token_is_each_services_own_error(pages: Paginator, token: str, code: str, message: str) -> None:
    with pytest.raises(AwsError) as err:
        pages.page(ITEMS, {pages.token: token})
    assert (err.value.code, err.value.message, err.value.status) == (code, message, 400)


@pytest.mark.parametrize(
    ("pages", "size", "code", "message"),
    [
        (cloudwatch.PAGES, 101, "InvalidParameterValue", "The parameter MaxRecords must be from 1 to 100; got 101."),
        (cloudwatch.PAGES, 0, "InvalidParameterValue", "The parameter MaxRecords must be from 1 to 100; got 0."),
        (logs.PAGES, 51, "InvalidParameterException", "limit must be from 1 to 50."),
        (fis.PAGES, 101, "ValidationException", "maxResults must be between 1 and 100."),
        (iam.PAGES, 1001, "ValidationError", "MaxItems must be between 1 and 1000."),
        (ecs.PAGES, 101, "InvalidParameterException", "maxResults must be between 1 and 100."),
        (rds.PAGES, 19, "InvalidParameterValue", "Invalid value 19 for MaxRecords. Must be between 20 and 100"),
        (autoscaling.PAGES, 101, "ValidationError", "MaxRecords must be between 1 and 100; got 101."),
        (autoscaling.INSTANCE_PAGES, 51, "ValidationError", "MaxRecords must be between 1 and 50; got 51."),
    ],
)
def test_a_page_size_out_of_range_is_each_services_own_error(
    pages: Paginator, size: int, code: str, message: str
) -> None:
    assert pages.size is not None
    with pytest.raises(AwsError) as err:
        pages.page(ITEMS, {pages.size: size})
    assert (err.value.code, err.value.message, err.value.status) == (code, message, 400)


def test_pages_walk_the_whole_list_and_the_last_has_no_token() -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        chunk, more = logs.PAGES.page(ITEMS, params)
        seen += chunk
        if "nextToken" not in more:
            break
        params["nextToken"] = more["nextToken"]
    assert seen == ITEMS


def test_iam_says_whether_the_list_is_truncated() -> None:
    assert iam._page(ITEMS, {"MaxItems": 5}, "Roles") == {"Roles": [0, 1, 2, 3, 4], "IsTruncated": True, "Marker": "5"}
    assert iam._page(ITEMS, {"MaxItems": 5, "Marker": "5"}, "Roles") == {"Roles": [5, 6], "IsTruncated": False}


def test_sizes_default_per_service_and_per_operation() -> None:
    many = list(range(600))
    assert len(fis.PAGES.slice(many, None)[0]) == 100
    assert len(ssm.PAGES.page(many, {})[0]) == 50
    assert len(cloudwatch.PAGES.page(many, {})[0]) == 50  # DescribeAlarms
    assert len(cloudwatch.PAGES.page(many, {}, default=500)[0]) == 500  # ListMetrics: above the askable maximum


def test_the_next_token_may_come_back_under_another_name() -> None:
    """ELBv2 takes `Marker` and answers `NextMarker`."""
    assert elbv2.PAGES.page(ITEMS, {"PageSize": 3}) == ([0, 1, 2], {"NextMarker": "3"})
    assert elbv2.PAGES.page(ITEMS, {"PageSize": 3, "Marker": "6"}) == ([6], {})


def test_a_maximum_needs_its_error() -> None:
    with pytest.raises(ValueError, match="maximum"):
        Paginator(token="t", size="s", default=1, bad_token=lambda _: AwsError("X", "x"), maximum=5)
