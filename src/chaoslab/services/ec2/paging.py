"""How EC2 pages its Describe calls, shared by the instance, VPC and launch template handlers.

Without MaxResults EC2 answers everything (up to 1000 items); with it, each call has its own
range. Where botocore's model states the range (DescribeVpcs and DescribeSubnets 5..1000,
DescribeLaunchTemplates 1..200) the gateway checks it; the ranges AWS documents but the model
leaves out are the paginators here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError


def _bad_size(low: int) -> Callable[[int, int], AwsError]:
    """EC2's wording for a page size outside low..maximum."""

    def error(size: int, maximum: int) -> AwsError:
        return AwsError(
            "InvalidParameterValue",
            f"Value ( {size} ) for parameter maxResults is invalid. Expecting a value between {low} and {maximum}.",
        )

    return error


PAGES = Paginator(
    token="NextToken",
    size="MaxResults",
    default=1000,
    bad_token=lambda token: AwsError("InvalidPaginationToken", f"Invalid pagination token: {token}"),
)
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html: 5..1000.
INSTANCE_PAGES = replace(PAGES, minimum=5, maximum=1000, bad_size=_bad_size(5))
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html: 5..500.
VOLUME_PAGES = replace(PAGES, minimum=5, maximum=500, bad_size=_bad_size(5))
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeLaunchTemplateVersions.html: 1..200.
VERSION_PAGES = replace(PAGES, maximum=200, bad_size=_bad_size(1))


def page(pages: Paginator, items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    """`items` answered one page at a time under `key`, with the next token if more follow."""
    chunk, more = pages.page(items, params)
    return {key: chunk, **more}
