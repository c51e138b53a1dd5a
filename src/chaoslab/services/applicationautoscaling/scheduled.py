"""`lab.applicationautoscaling.schedules`: scheduled actions on a scalable target (an ECS
service). At each run an action sets the target's MinCapacity and/or MaxCapacity; a desiredCount
outside the new range is moved into it, each change recorded as its own scaling activity, as
AWS records them. A target with ScheduledScalingSuspended skips its runs (docs/autoscaling.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.scaling.schedule import ScheduleError, target_schedule
from chaoslab.scaling.scheduled import ScheduledAction, Scheduler
from chaoslab.services.applicationautoscaling.metrics import invalid
from chaoslab.services.applicationautoscaling.models import ScalableTarget, TargetKey, utc
from chaoslab.types import LabLike

Key = tuple[TargetKey, str]  # (target, action name)
MAX_ACTIONS = 200  # per target, as AWS's quota has it


class Targets(Protocol):
    """What scheduled actions need of the backend (which imports this module)."""

    lab: LabLike
    targets: dict[TargetKey, ScalableTarget]

    def target(self, key: TargetKey) -> ScalableTarget: ...

    def set_capacity(self, target: ScalableTarget, capacity: int, cause: str) -> None: ...

    def record_activity(
        self, target: ScalableTarget, description: str, cause: str, message: str, status: str = "Successful"
    ) -> None: ...

    def current_capacity(self, target: ScalableTarget) -> int: ...


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


class TargetSchedules:
    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self.scheduler: Scheduler[Key] = Scheduler(lambda: targets.lab.clock, self._fire, keep_done=True)

    def put(self, key: TargetKey, name: str, request: dict[str, Any]) -> ScheduledAction:
        """Create or update an action (an update keeps what it does not restate)."""
        self.targets.target(key)
        old = self.scheduler.actions.get((key, name))
        merged = {**(old.request if old else {}), **{k: v for k, v in request.items() if v is not None}}
        if not merged.get("Schedule"):
            raise invalid("Schedule is required when creating a scheduled action.")
        bounds = merged.get("ScalableTargetAction") or {}
        low, high = bounds.get("MinCapacity"), bounds.get("MaxCapacity")
        if low is None and high is None:
            raise invalid("ScalableTargetAction must have MinCapacity, MaxCapacity or both.")
        if (low is not None and low < 0) or (high is not None and high < 0):
            raise invalid("MinCapacity and MaxCapacity must be non-negative.")
        if low is not None and high is not None and low > high:
            raise invalid("Minimum capacity cannot be greater than maximum capacity.")
        now = self.targets.lab.clock.now()
        created = old.created if old else now
        try:
            schedule = target_schedule(
                merged["Schedule"],
                _epoch(merged.get("StartTime")),
                _epoch(merged.get("EndTime")),
                merged.get("Timezone"),
                created,
            )
        except ScheduleError as exc:
            raise invalid(str(exc)) from None
        if old is None and sum(1 for k, _ in self.scheduler.actions if k == key) >= MAX_ACTIONS:
            raise AwsError("LimitExceededException", f"Maximum number of scheduled actions ({MAX_ACTIONS}) reached.")
        arn = old.arn if old else self._arn(key, name)
        return self.scheduler.put((key, name), ScheduledAction(name, arn, schedule, merged, created))

    def delete(self, key: TargetKey, name: str) -> None:
        if self.scheduler.actions.pop((key, name), None) is None:
            raise AwsError("ObjectNotFoundException", f"No scheduled action found for {key.words()}, name: {name}")

    def drop_target(self, key: TargetKey) -> None:
        for action_key in [k for k in self.scheduler.actions if k[0] == key]:
            del self.scheduler.actions[action_key]

    def describe(
        self, namespace: str, names: list[str] | None, resource_id: str | None, dimension: str | None
    ) -> list[dict[str, Any]]:
        out = []
        for (key, name), action in self.scheduler.actions.items():
            if key.namespace != namespace or (names and name not in names):
                continue
            if (resource_id is not None and key.resource_id != resource_id) or (
                dimension is not None and key.dimension != dimension
            ):
                continue
            out.append(self._describe(key, action))
        return out

    def _describe(self, key: TargetKey, action: ScheduledAction) -> dict[str, Any]:
        request = action.request
        out: dict[str, Any] = {
            "ScheduledActionName": action.name,
            "ScheduledActionARN": action.arn,
            "ServiceNamespace": key.namespace,
            "Schedule": request["Schedule"],
            "Timezone": request.get("Timezone"),
            "ResourceId": key.resource_id,
            "ScalableDimension": key.dimension,
            "StartTime": request.get("StartTime"),
            "EndTime": request.get("EndTime"),
            "ScalableTargetAction": dict(request.get("ScalableTargetAction") or {}),
            "CreationTime": utc(action.created),
        }
        return {k: v for k, v in out.items() if v is not None}

    def _fire(self, key: Key, action: ScheduledAction) -> None:
        target = self.targets.targets.get(key[0])
        if target is None or target.suspended.get("ScheduledScalingSuspended"):
            return
        bounds = action.request.get("ScalableTargetAction") or {}
        low = bounds.get("MinCapacity", target.min_capacity)
        high = bounds.get("MaxCapacity", target.max_capacity)
        if low > high:  # the action's one bound against the target's other
            self.targets.record_activity(
                target,
                f"Setting min capacity to {low} and max capacity to {high}",
                f"scheduled action name {action.name} was triggered",
                "Failed to set min capacity and max capacity: minimum capacity cannot be greater than maximum.",
                "Failed",
            )
            return
        target.min_capacity, target.max_capacity = low, high
        self.targets.record_activity(
            target,
            f"Setting min capacity to {low} and max capacity to {high}",
            f"scheduled action name {action.name} was triggered",
            f"Successfully set min capacity to {low} and max capacity to {high}",
        )
        current = self.targets.current_capacity(target)
        if current < low:
            self.targets.set_capacity(target, low, f"minimum capacity was set to {low}")
        elif current > high:
            self.targets.set_capacity(target, high, f"maximum capacity was set to {high}")

    def _arn(self, key: TargetKey, name: str) -> str:
        config = self.targets.lab.config
        return make_arn(
            "autoscaling",
            config.region,
            config.account_id,
            f"scheduledAction:{uuid.uuid4()}:resource/{key.namespace}/{key.resource_id}:scheduledActionName/{name}",
        )
