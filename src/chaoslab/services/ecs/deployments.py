"""ECS rolling deployments as pure rules: what a deployment records, how many tasks the
scheduler may start and stop in one step (minimumHealthyPercent / maximumPercent), and when the
deployment circuit breaker trips. The backend applies them to real tasks; kept apart so the
arithmetic is tested without any task running."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
CIRCUIT_BREAKER_FAILED = "ECS deployment circuit breaker: tasks failed to start."


def in_progress_reason(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} in progress."


def completed_reason(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} completed."


def rollback_reason(target_id: str) -> str:
    return f"ECS deployment circuit breaker: rolling back to deploymentId {target_id}."


@dataclass
class Deployment:
    """One entry of a service's `deployments[]`: the PRIMARY one the scheduler converges on, or
    an ACTIVE one whose tasks are still being replaced."""

    id: str
    task_definition: dict[str, Any]
    desired_count: int
    created_at: float
    updated_at: float
    status: str = "PRIMARY"
    rollout_state: str = IN_PROGRESS
    rollout_reason: str = ""
    failed_tasks: int = 0

    def __post_init__(self) -> None:
        self.rollout_reason = self.rollout_reason or in_progress_reason(self.id)


class Limits(NamedTuple):
    """The bounds of a rolling deployment, in tasks."""

    min_healthy: int  # never fewer healthy tasks than this while replacing
    max_total: int  # never more live tasks (old and new) than this


class Step(NamedTuple):
    start: int  # new tasks to launch now
    stop: int  # old tasks to stop now


def limits(desired: int, config: dict[str, Any]) -> Limits:
    """AWS rounds minimumHealthyPercent of desiredCount up and maximumPercent down
    (defaults 100 and 200)."""
    min_pct = int(config.get("minimumHealthyPercent", 100))
    max_pct = int(config.get("maximumPercent", 200))
    return Limits(math.ceil(desired * min_pct / 100), math.floor(desired * max_pct / 100))


def step(desired: int, new_live: int, old_live: int, healthy: int, old_unhealthy: int, bounds: Limits) -> Step:
    """One scheduler step of a rolling replacement. `healthy` counts healthy tasks of every
    revision; an unhealthy old task may always go, a healthy one only while `min_healthy` stays
    met; new tasks fill what `max_total` leaves once those stops are counted."""
    stop = min(old_live, old_unhealthy + max(0, healthy - bounds.min_healthy))
    start = max(0, min(desired - new_live, bounds.max_total - (new_live + old_live - stop)))
    return Step(start, stop)


def failure_threshold(desired: int) -> int:
    """The circuit breaker's failure threshold: max(3, min(200, ceil(0.5 × desiredCount)))."""
    return max(3, min(200, math.ceil(0.5 * desired)))


def breaker(config: dict[str, Any]) -> tuple[bool, bool]:
    """(enable, rollback) of the service's deploymentCircuitBreaker."""
    cb = config.get("deploymentCircuitBreaker") or {}
    return bool(cb.get("enable")), bool(cb.get("rollback"))


def trips(deployment: Deployment, config: dict[str, Any]) -> bool:
    """Whether this deployment's failed tasks fail it now (breaker on, still in progress)."""
    enabled, _ = breaker(config)
    return (
        enabled
        and deployment.rollout_state == IN_PROGRESS
        and deployment.failed_tasks >= failure_threshold(deployment.desired_count)
    )
