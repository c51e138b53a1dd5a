"""Capacity provider strategies: bases first, then the weights' shares.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html"""

from __future__ import annotations

from collections import Counter

import pytest

from chaoslab.errors import AwsError
from chaoslab.services.ecs.capacity import check_strategy, next_provider


def place(strategy: list[dict], tasks: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for _ in range(tasks):
        counts[next_provider(strategy, counts)] += 1
    return counts


def test_seed_004_strategy_base_two_on_fargate_then_one_to_three() -> None:
    strategy = check_strategy(
        [{"capacityProvider": "FARGATE", "base": 2, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 3}]
    )
    assert place(strategy, 2) == {"FARGATE": 2}
    assert place(strategy, 6) == {"FARGATE": 3, "FARGATE_SPOT": 3}  # 2 base + the other 4 split 1:3
    assert place(strategy, 10) == {"FARGATE": 4, "FARGATE_SPOT": 6}


def test_weights_alone_share_in_proportion_and_zero_weight_gets_only_its_base() -> None:
    only_spot = check_strategy(
        [{"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    )
    assert place(only_spot, 4) == {"FARGATE": 1, "FARGATE_SPOT": 3}
    even = check_strategy(
        [{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    )
    assert place(even, 4) == {"FARGATE": 2, "FARGATE_SPOT": 2}


@pytest.mark.parametrize(
    ("strategy", "words"),
    [
        ([{"capacityProvider": "EC2_ASG", "weight": 1}], "not associated with the cluster"),
        (
            [
                {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1},
            ],
            "Only one",
        ),
        ([{"capacityProvider": "FARGATE", "base": 2}], "weight greater than zero"),
        ([{"capacityProvider": "FARGATE", "weight": 1001}], "weight 0-1000"),
        (
            [{"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE", "weight": 1}],
            "more than once",
        ),
    ],
)
def test_strategies_ecs_refuses(strategy: list[dict], words: str) -> None:
    with pytest.raises(AwsError, match=words) as err:
        check_strategy(strategy)
    assert err.value.code == "InvalidParameterException"
