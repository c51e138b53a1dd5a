"""Instance refresh's batch arithmetic and preference checks (pure)."""

from __future__ import annotations

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.autoscaling.refresh import (
    Preferences,
    Step,
    checkpoint_quota,
    healthy_floor,
    percentage,
    preferences,
    step,
)


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
        {"CheckpointPercentages": [50, 30, 100]},
        {"CheckpointPercentages": [50, 50, 100]},
        {"CheckpointPercentages": [0, 100]},
        {"CheckpointDelay": 60},
        {"CheckpointPercentages": [100], "CheckpointDelay": -1},
        {"AutoRollback": True},
        {"StandbyInstances": "Terminate"},
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


def test_checkpoints_default_to_an_hours_delay_and_auto_rollback_needs_a_desired_configuration() -> None:
    """https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_RefreshPreferences.html"""
    prefs = preferences({"CheckpointPercentages": [20, 50, 100]}, 0)
    assert (prefs.checkpoints, prefs.checkpoint_delay) == ((20, 50, 100), 3600)
    assert preferences({"CheckpointPercentages": [100], "CheckpointDelay": 0}, 0).checkpoint_delay == 0
    assert preferences({"AutoRollback": True}, 0, has_desired_config=True).auto_rollback
    described = preferences({"CheckpointPercentages": [50, 100], "AutoRollback": True}, 0, True).describe()
    assert (described["CheckpointPercentages"], described["CheckpointDelay"], described["AutoRollback"]) == (
        [50, 100],
        3600,
        True,
    )


def test_a_checkpoint_counts_the_instances_to_replace_rounded_up() -> None:
    assert [checkpoint_quota(2, p) for p in (1, 50, 51, 100)] == [1, 1, 2, 2]
    assert checkpoint_quota(10, 25) == 3 and checkpoint_quota(0, 50) == 0
