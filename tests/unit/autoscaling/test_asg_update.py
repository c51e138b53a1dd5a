"""UpdateAutoScalingGroup: invalid sizes are rejected whole; a new min/max alone pulls desired into range."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.autoscaling.backend import AutoScalingBackend, Group, GroupTemplate


@pytest.fixture
def asg(tmp_path: Path) -> AutoScalingBackend:
    backend = AutoScalingBackend(SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path)))
    backend.groups["g"] = Group("g", GroupTemplate("t"), [], min_size=1, max_size=3, desired=2, target_group_arns=[])
    backend._kick["g"] = asyncio.Event()
    return backend


def sizes(asg: AutoScalingBackend) -> tuple[int, int, int, str]:
    g = asg.groups["g"]
    return g.min_size, g.max_size, g.desired, g.health_check_type


@pytest.mark.parametrize(
    "change",
    [
        {"min_size": 4},  # min above the max
        {"max_size": 0},  # max below the min
        {"desired": 5},  # an explicit desired outside min..max
        {"min_size": 2, "desired": 1},
        {"health_check_type": "ELBX"},
        {"grace": -1},  # AWS: the grace period is 0 or more seconds
        {"min_size": -1},
    ],
)
def test_invalid_update_is_rejected_and_changes_nothing(asg: AutoScalingBackend, change: dict) -> None:
    with pytest.raises(AwsError) as err:
        asg.update_group("g", **change)
    assert err.value.code == "ValidationError"
    assert sizes(asg) == (1, 3, 2, "EC2")


def test_new_bounds_pull_desired_into_range(asg: AutoScalingBackend) -> None:
    asg.update_group("g", min_size=3, max_size=5)
    assert sizes(asg) == (3, 5, 3, "EC2")
    asg.update_group("g", min_size=0, max_size=1, health_check_type="ELB")
    assert sizes(asg) == (0, 1, 1, "ELB")
