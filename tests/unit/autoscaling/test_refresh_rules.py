"""Instance refresh's batch arithmetic and preference checks (pure)."""

from __future__ import annotations

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.autoscaling.refresh import Preferences, Step, healthy_floor, percentage, preferences, step


def test_defaults_are_aws_defaults_and_warmup_follows_the_group() -> None:
    assert preferences({}, 30) == Preferences(90, 100, 30, False)
    assert preferences({"InstanceWarmup": 5, "SkipMatching": True}, 30) == Preferences(90, 100, 5, True)


@pytest.mark.parametrize(
    "prefs",
    [
        {"MinHealthyPercentage": 101},
        {"MinHealthyPercentage": -1},
        {"MaxHealthyPercentage": 99},
        {"MaxHealthyPercentage": 201},
        {"MinHealthyPercentage": 50, "MaxHealthyPercentage": 160},
        {"InstanceWarmup": -1},
        {"CheckpointPercentages": [50]},
        {"AutoRollback": True},
    ],
)
def test_bad_or_unemulated_preferences_are_validation_errors(prefs: dict[str, object]) -> None:
    with pytest.raises(AwsError) as err:
        preferences(prefs, 0)
    assert err.value.code == "ValidationError"


def test_terminate_first_when_there_is_no_room_above_desired() -> None:
    half = Preferences(50, 100)
    assert step(2, healthy=2, old=2, prefs=half) == Step(terminate=1, surge=0)
    assert step(2, healthy=1, old=1, prefs=half) == Step(terminate=0, surge=0)  # the new one warms up
    assert step(2, healthy=2, old=1, prefs=half) == Step(terminate=1, surge=0)
    assert step(10, healthy=10, old=10, prefs=Preferences(90, 100)) == Step(terminate=1, surge=0)


def test_a_percentage_that_rounds_to_the_whole_group_still_replaces_one_at_a_time() -> None:
    assert healthy_floor(2, Preferences(90, 100)) == 1
    assert healthy_floor(1, Preferences(90, 100)) == 0
    assert step(1, healthy=1, old=1, prefs=Preferences(90, 100)) == Step(terminate=1, surge=0)
    assert step(4, healthy=4, old=4, prefs=Preferences(100, 100)) == Step(terminate=1, surge=0)


def test_launch_first_when_max_healthy_leaves_room() -> None:
    prefs = Preferences(100, 200)
    assert step(2, healthy=2, old=2, prefs=prefs) == Step(terminate=0, surge=2)
    assert step(2, healthy=4, old=2, prefs=prefs) == Step(terminate=2, surge=0)
    mixed = Preferences(90, 110)
    assert step(10, healthy=10, old=10, prefs=mixed) == Step(terminate=1, surge=1)
    assert step(10, healthy=9, old=9, prefs=mixed) == Step(terminate=0, surge=1)
    assert step(10, healthy=10, old=1, prefs=mixed) == Step(terminate=1, surge=0)


def test_percentage_complete() -> None:
    assert percentage(0, 0) == 100
    assert percentage(3, 1) == 33
    assert percentage(2, 2) == 100
