"""`lab.autoscaling.schedules`: EC2 Auto Scaling's scheduled actions. At each run an action
sets the group's MinSize, MaxSize and DesiredCapacity (those it names); the group's launches and
terminations that follow carry the action as their cause, as AWS chains it. A one-time action
is gone once it has run, a recurring one once past its EndTime (docs/autoscaling.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from chaoslab.errors import AwsError
from chaoslab.scaling.schedule import ScheduleError, group_schedule
from chaoslab.scaling.scheduled import ScheduledAction, Scheduler
from chaoslab.types import LabLike

MAX_ACTIONS = 125  # per group, as AWS's quota has it
BATCH_MAX = 50  # actions per BatchPut/BatchDelete call

Key = tuple[str, str]  # (group, action)


class Groups(Protocol):
    """What scheduled actions need of the Auto Scaling backend (which imports this module)."""

    lab: LabLike

    def get(self, name: str) -> Any: ...

    def update_group(
        self, name: str, *, min_size: int | None = None, max_size: int | None = None, desired: int | None = None
    ) -> None: ...

    def record_failure(self, group: Any, description: str, cause: str, message: str) -> None: ...


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class GroupSchedules:
    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self.scheduler: Scheduler[Key] = Scheduler(lambda: groups.lab.clock, self._fire, keep_done=False)

    def put(self, group_name: str, request: dict[str, Any]) -> ScheduledAction:
        """Create or replace one action; ValidationError as AWS words it."""
        self.groups.get(group_name)
        name = request["ScheduledActionName"]
        if all(request.get(k) is None for k in ("MinSize", "MaxSize", "DesiredCapacity")):
            raise AwsError("ValidationError", "You must specify at least one of MinSize, MaxSize or DesiredCapacity.")
        low, high, desired = request.get("MinSize"), request.get("MaxSize"), request.get("DesiredCapacity")
        if low is not None and high is not None and low > high:
            raise AwsError(
                "ValidationError", f"The max size:{high} must be greater than or equal to the min size:{low}"
            )
        if desired is not None and not (low or 0) <= desired <= (desired if high is None else high):
            raise AwsError(
                "ValidationError",
                f"Desired capacity:{desired} must be between the specified min size:{low} and max size:{high}",
            )
        now = self.groups.lab.clock.now()
        start = _epoch(request.get("StartTime") or request.get("Time"))
        try:
            schedule = group_schedule(
                request.get("Recurrence"), start, _epoch(request.get("EndTime")), request.get("TimeZone"), now
            )
        except ScheduleError as exc:
            raise AwsError("ValidationError", str(exc)) from None
        key = (group_name, name)
        old = self.scheduler.actions.get(key)
        if old is None and sum(1 for g, _ in self.scheduler.actions if g == group_name) >= MAX_ACTIONS:
            raise AwsError("LimitExceeded", f"Maximum number of scheduled actions ({MAX_ACTIONS}) reached.")
        arn = old.arn if old else self._arn(group_name, name)
        return self.scheduler.put(key, ScheduledAction(name, arn, schedule, dict(request), now))

    def batch_put(self, group_name: str, requests: list[dict[str, Any]]) -> list[dict[str, str]]:
        """Each action on its own; the ones refused are listed with their error."""
        self.groups.get(group_name)
        if len(requests) > BATCH_MAX:
            raise AwsError("ValidationError", f"The number of scheduled actions must not exceed {BATCH_MAX}.")
        failed = []
        for request in requests:
            try:
                self.put(group_name, request)
            except AwsError as exc:
                failed.append(
                    {
                        "ScheduledActionName": request["ScheduledActionName"],
                        "ErrorCode": exc.code,
                        "ErrorMessage": exc.message,
                    }
                )
        return failed

    def delete(self, group_name: str, name: str) -> None:
        self.groups.get(group_name)
        if self.scheduler.actions.pop((group_name, name), None) is None:
            raise AwsError("ValidationError", "Scheduled Update Group Action name not found")

    def batch_delete(self, group_name: str, names: list[str]) -> list[dict[str, str]]:
        self.groups.get(group_name)
        if len(names) > BATCH_MAX:
            raise AwsError("ValidationError", f"The number of scheduled actions must not exceed {BATCH_MAX}.")
        failed = []
        for name in names:
            try:
                self.delete(group_name, name)
            except AwsError as exc:
                failed.append({"ScheduledActionName": name, "ErrorCode": exc.code, "ErrorMessage": exc.message})
        return failed

    def delete_group(self, group_name: str) -> None:
        for key in [k for k in self.scheduler.actions if k[0] == group_name]:
            del self.scheduler.actions[key]

    def describe(
        self, group_name: str | None, names: list[str] | None, start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        """Actions yet to run, by next run; StartTime/EndTime filter on it unless names are given."""
        if group_name is not None:
            self.groups.get(group_name)
        low, high = _epoch(start), _epoch(end)
        out = []
        for (group, name), action in sorted(self.scheduler.actions.items(), key=lambda kv: kv[1].next_run or 0):
            if (group_name is not None and group != group_name) or (names and name not in names):
                continue
            when = action.next_run
            if (
                not names
                and when is not None
                and ((low is not None and when < low) or (high is not None and when > high))
            ):
                continue
            out.append(self._describe(group, action))
        return out

    def _describe(self, group: str, action: ScheduledAction) -> dict[str, Any]:
        request = action.request
        out: dict[str, Any] = {
            "AutoScalingGroupName": group,
            "ScheduledActionName": action.name,
            "ScheduledActionARN": action.arn,
            "Time": _utc(action.next_run),
            "StartTime": _utc(action.next_run),
            "EndTime": request.get("EndTime"),
            "Recurrence": request.get("Recurrence"),
            "MinSize": request.get("MinSize"),
            "MaxSize": request.get("MaxSize"),
            "DesiredCapacity": request.get("DesiredCapacity"),
            "TimeZone": request.get("TimeZone") if request.get("Recurrence") else None,
        }
        return {k: v for k, v in out.items() if v is not None}

    def _fire(self, key: Key, action: ScheduledAction) -> None:
        """Apply the action's sizes; a group they no longer fit records a failed activity."""
        request = action.request
        group = self.groups.get(key[0])
        low = request.get("MinSize")
        high = request.get("MaxSize")
        desired = request.get("DesiredCapacity")
        old = group.desired
        new_low = group.min_size if low is None else low
        new_high = group.max_size if high is None else high
        new_desired = max(new_low, min(new_high, old if desired is None else desired))
        words = f"a scheduled action update of AutoScalingGroup constraints to min: {new_low}, max: {new_high}, desired: {new_desired}"
        try:
            if new_desired != old:
                group.desired_cause = f"{words} changing the desired capacity from {old} to {new_desired}"
            self.groups.update_group(key[0], min_size=low, max_size=high, desired=desired)
        except AwsError as exc:
            group.desired_cause = None
            self.groups.record_failure(
                group, f"Scheduled action {action.name} could not update the group", words, exc.message
            )

    def _arn(self, group: str, name: str) -> str:
        config = self.groups.lab.config
        return (
            f"arn:aws:autoscaling:{config.region}:{config.account_id}:scheduledUpdateGroupAction:{uuid.uuid4()}"
            f":autoScalingGroupName/{group}:scheduledActionName/{name}"
        )
