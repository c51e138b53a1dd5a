"""Stack files' launch templates: a group names exactly one of image and launch_template, and a
launch_template must be one the stack defines; each error names its path."""

from __future__ import annotations

from typing import Any

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.stack import validate_stack


def stack(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "s",
        "vpc": {"cidr": "10.9.0.0/16", "subnets": {"us-east-1a": "10.9.10.0/24"}},
        "launch_templates": [{"name": "web-lt", "image": "ami-0123456789abcdef0", "user_data": "#!/bin/sh\n"}],
        "auto_scaling_groups": [{"name": "g", "min": 1, "max": 1, **group}],
    }


@pytest.mark.parametrize(
    "group",
    [
        {"image": "chaoslab/static"},
        {"launch_template": "web-lt"},
        {"launch_template": {"name": "web-lt", "version": 2}},
    ],
)
def test_a_group_names_an_image_or_a_defined_template(group: dict[str, Any]) -> None:
    validate_stack(stack(group))


@pytest.mark.parametrize(
    "group, message",
    [
        ({}, "exactly one of image and launch_template"),
        ({"image": "chaoslab/static", "launch_template": "web-lt"}, "exactly one of image and launch_template"),
        ({"launch_template": "other-lt"}, "unknown launch template 'other-lt'"),
    ],
)
def test_a_group_without_exactly_one_known_source_is_refused_with_its_path(group: dict[str, Any], message: str) -> None:
    with pytest.raises(ChaoslabError, match=message) as err:
        validate_stack(stack(group))
    assert "$.auto_scaling_groups[0]" in str(err.value.path)
