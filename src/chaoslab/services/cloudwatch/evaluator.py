"""The evaluation clock: an asyncio task that evaluates each metric alarm on CloudWatch's cadence.

AWS evaluates alarms with Period >= 60 s every minute and 10/20/30 s alarms every 10 s; as a
documented local extension, alarms with periods under 10 s are evaluated every second. Ticks
land a little after each second boundary so a batch put for the second that just ended is seen.
Which alarms are due at a tick (a new one only a full cadence after its creation) is the
backend's `evaluate_due`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

TICK_OFFSET = 0.2  # seconds after the boundary: lets producers' per-second batches land first


def cadence(period: int) -> int:
    """Seconds between evaluations of an alarm with this period."""
    if period >= 60:
        return 60
    if period >= 10:
        return 10
    return 1


class Evaluator:
    """Runs `backend.evaluate_due(now)` once a second of the backend's (scenario) clock until
    stopped; `wall` turns those scenario seconds into the wall seconds to sleep."""

    def __init__(self, backend: Any, wall: Callable[[float], float], offset: float = TICK_OFFSET) -> None:
        self.backend = backend
        self.wall = wall
        self.offset = offset
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="cloudwatch-evaluator")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            now = self.backend.clock()
            await asyncio.sleep(self.wall(math.floor(now) + 1 + self.offset - now))
            self.backend.evaluate_due(self.backend.clock())
