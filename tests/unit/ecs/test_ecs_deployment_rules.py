"""The rolling deployment's arithmetic (minimumHealthyPercent rounded up, maximumPercent rounded
down) and the circuit breaker's failure threshold, as the ECS developer guide states them:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html"""

from __future__ import annotations

import pytest

from chaoslab.services.ecs.deployments import (
    Deployment,
    Limits,
    failure_threshold,
    limits,
    rollback_reason,
    step,
    trips,
)


def test_limits_round_min_up_and_max_down() -> None:
    assert limits(3, {}) == Limits(3, 6)  # defaults 100 / 200
    assert limits(3, {"minimumHealthyPercent": 50, "maximumPercent": 150}) == Limits(2, 4)
    assert limits(1, {"minimumHealthyPercent": 0, "maximumPercent": 100}) == Limits(0, 1)


def test_min_100_max_200_starts_all_new_first_then_stops_old_once_new_are_healthy() -> None:
    bounds = limits(2, {})
    assert step(2, new_live=0, old_live=2, healthy=2, old_unhealthy=0, bounds=bounds) == (2, 0)
    assert step(2, new_live=2, old_live=2, healthy=2, old_unhealthy=0, bounds=bounds) == (0, 0)  # new not healthy yet
    assert step(2, new_live=2, old_live=2, healthy=3, old_unhealthy=0, bounds=bounds) == (0, 1)
    assert step(2, new_live=2, old_live=2, healthy=4, old_unhealthy=0, bounds=bounds) == (0, 2)


def test_min_50_max_100_stops_before_it_starts() -> None:
    bounds = limits(4, {"minimumHealthyPercent": 50, "maximumPercent": 100})
    assert step(4, new_live=0, old_live=4, healthy=4, old_unhealthy=0, bounds=bounds) == (2, 2)
    assert step(4, new_live=2, old_live=2, healthy=2, old_unhealthy=0, bounds=bounds) == (0, 0)
    assert step(4, new_live=2, old_live=2, healthy=4, old_unhealthy=0, bounds=bounds) == (2, 2)


def test_unhealthy_old_tasks_may_always_go() -> None:
    bounds = limits(2, {})
    assert step(2, new_live=0, old_live=2, healthy=0, old_unhealthy=2, bounds=bounds) == (2, 2)


@pytest.mark.parametrize(("desired", "threshold"), [(0, 3), (1, 3), (6, 3), (7, 4), (10, 5), (399, 200), (1000, 200)])
def test_failure_threshold(desired: int, threshold: int) -> None:
    assert failure_threshold(desired) == threshold


def test_trips_only_when_enabled_and_in_progress() -> None:
    d = Deployment("ecs-svc/1", {}, 2, 0.0, 0.0, failed_tasks=3)
    assert trips(d, {"deploymentCircuitBreaker": {"enable": True, "rollback": False}})
    assert not trips(d, {"deploymentCircuitBreaker": {"enable": False, "rollback": True}})
    d.failed_tasks = 2
    assert not trips(d, {"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    d.failed_tasks, d.rollout_state = 5, "COMPLETED"
    assert not trips(d, {"deploymentCircuitBreaker": {"enable": True, "rollback": True}})


def test_reasons_read_as_ecs_writes_them() -> None:
    d = Deployment("ecs-svc/7", {}, 1, 0.0, 0.0)
    assert d.rollout_reason == "ECS deployment ecs-svc/7 in progress."
    assert rollback_reason("ecs-svc/6") == "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/6."
