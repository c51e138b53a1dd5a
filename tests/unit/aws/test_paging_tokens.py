"""A paging token is an offset the service handed out, never negative: "-2" used to return the
list's last two items (a slice from the end) instead of the service's invalid-token error."""

from __future__ import annotations

import pytest

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

ITEMS = list(range(5))
PAGERS = {
    "cloudwatch": (lambda token: cloudwatch.PAGES.slice(ITEMS, token, 2), "InvalidNextToken"),
    "logs": (lambda token: logs.PAGES.slice(ITEMS, token, 2), "InvalidParameterException"),
    "ssm": (lambda token: ssm.PAGES.page(ITEMS, {"NextToken": token, "MaxResults": 2}), "InvalidNextToken"),
    "fis": (lambda token: fis.PAGES.slice(ITEMS, token, 2), "ValidationException"),
    "iam": (lambda token: iam._page(ITEMS, {"Marker": token, "MaxItems": 2}, "Items"), "ValidationError"),
    "ecs": (lambda token: ecs.PAGES.slice(ITEMS, token, 2), "InvalidParameterException"),
    "ec2": (lambda token: ec2.PAGES.slice(ITEMS, token, 2), "InvalidPaginationToken"),
    "elbv2": (lambda token: elbv2.PAGES.page(ITEMS, {"Marker": token, "PageSize": 2}), "ValidationError"),
    "rds": (lambda token: rds.PAGES.slice(ITEMS, token, None, default=2), "InvalidParameterValue"),
    "autoscaling": (lambda token: autoscaling.PAGES.slice(ITEMS, token, 2), "InvalidNextToken"),
}


@pytest.mark.parametrize("service", sorted(PAGERS))
def test_tokens_page_forward_and_bad_ones_are_refused(service: str) -> None:
    page, code = PAGERS[service]
    first = page(None)
    second = page("2")
    assert (first[0] if isinstance(first, tuple) else first["Items"]) == [0, 1]
    assert (second[0] if isinstance(second, tuple) else second["Items"]) == [2, 3]
    for bad in ("-2", "x"):
        with pytest.raises(AwsError) as err:
            page(bad)
        assert err.value.code == code and err.value.status == 400
