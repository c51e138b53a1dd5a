"""`Scheduler`: runs scheduled scaling actions by the lab's clock, for either service.

Each action carries its `Schedule` and its next run; once a (scenario) second the scheduler
runs every action that is due through the service's `fire`, then moves it to its next run.
An action with no run left is forgotten when the service says so (EC2 Auto Scaling drops a
one-time action once it has run; Application Auto Scaling keeps it listed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chaoslab.clock import LabClock
from chaoslab.scaling.schedule import Schedule, first_run

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@dataclass
class ScheduledAction:
    """One action: when it runs (`next_run`, epoch seconds; None when it has no run left) and
    what the service keeps of its request (`request`, for Describe and for `fire`)."""

    name: str
    arn: str
    schedule: Schedule
    request: dict[str, Any]
    created: float
    next_run: float | None = None


class Scheduler(Generic[K]):
    def __init__(
        self, clock: Callable[[], LabClock], fire: Callable[[K, ScheduledAction], None], keep_done: bool
    ) -> None:
        self.actions: dict[K, ScheduledAction] = {}
        self._clock = clock
        self._fire = fire
        self._keep_done = keep_done
        self._task: asyncio.Task[None] | None = None

    def put(self, key: K, action: ScheduledAction) -> ScheduledAction:
        """Add or replace an action; its first run is counted from now."""
        action.next_run = first_run(action.schedule, self._clock().now())
        self.actions[key] = action
        return action

    def tick(self, now: float) -> None:
        """Run every action due at `now` (once, however many runs it missed) and move it on."""
        for key, action in list(self.actions.items()):
            if action.next_run is None or action.next_run > now:
                continue
            action.next_run = action.schedule.next_after(now)
            try:
                self._fire(key, action)
            except Exception:
                log.exception("scheduled action %s failed", action.name)
            if action.next_run is None and not self._keep_done and self.actions.get(key) is action:
                del self.actions[key]

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            clock = self._clock()
            await asyncio.sleep(clock.cadence(1.0))
            self.tick(clock.now())
