"""Stack files' security groups: every group a rule or a resource names is defined, a rule has
exactly one peer, and a group launching from a launch template takes the template's groups;
each error names its path. The bundled stacks carry their seeds' groups."""

from __future__ import annotations

from typing import Any

import pytest

from chaoslab.errors import ChaoslabError
from chaoslab.stack import load_stack, validate_stack


def stack(**extra: Any) -> dict[str, Any]:
    return {
        "name": "s",
        "vpc": {"cidr": "10.9.0.0/16", "subnets": {"us-east-1a": "10.9.10.0/24"}},
        "security_groups": [
            {"name": "alb-sg", "ingress": [{"port": 80, "cidr": "0.0.0.0/0"}]},
            {"name": "app-sg", "ingress": [{"port": 80, "group": "alb-sg"}]},
        ],
        **extra,
    }


def test_groups_and_references_validate() -> None:
    validate_stack(
        stack(auto_scaling_groups=[{"name": "g", "min": 1, "max": 1, "image": "x", "security_groups": ["app-sg"]}])
    )


@pytest.mark.parametrize(
    "extra, path, message",
    [
        (
            {"security_groups": [{"name": "a", "ingress": [{"port": 80, "group": "nope"}]}]},
            "$.security_groups[0].ingress[0].group",
            "unknown security group 'nope'",
        ),
        (
            {"security_groups": [{"name": "a", "ingress": [{"port": 80, "group": "a", "cidr": "10.0.0.0/8"}]}]},
            "$.security_groups[0].ingress[0]",
            "exactly one of cidr and group",
        ),
        (
            {"auto_scaling_groups": [{"name": "g", "min": 1, "max": 1, "image": "x", "security_groups": ["db-sg"]}]},
            "$.auto_scaling_groups[0].security_groups",
            "unknown security group 'db-sg'",
        ),
        (
            {
                "launch_templates": [{"name": "web-lt", "image": "ami-0123456789abcdef0"}],
                "auto_scaling_groups": [
                    {"name": "g", "min": 1, "max": 1, "launch_template": "web-lt", "security_groups": ["app-sg"]}
                ],
            },
            "$.auto_scaling_groups[0].security_groups",
            "takes the template's security groups",
        ),
    ],
)
def test_each_error_names_its_path(extra: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ChaoslabError) as err:
        validate_stack(stack(**extra))
    assert path in str(err.value.path) and message in str(err.value)


def test_bundled_stacks_carry_their_seeds_groups() -> None:
    doc = load_stack("default")
    rules = {g["name"]: g["ingress"] for g in doc["security_groups"]}
    assert rules["chaos-lab-app-sg"] == [{"port": 80, "group": "chaos-lab-alb-sg"}]
    assert rules["chaos-lab-db-sg"] == [{"port": 5432, "group": "chaos-lab-app-sg"}]
    assert doc["database"]["security_groups"] == ["chaos-lab-db-sg"]
    assert doc["auto_scaling_groups"][0]["security_groups"] == ["chaos-lab-app-sg"]
    pets = load_stack("pet-payment")
    assert pets["ecs"]["services"][0]["security_groups"] == ["pet-payment-sg"]
