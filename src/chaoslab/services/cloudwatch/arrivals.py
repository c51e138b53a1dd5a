"""Datapoints on their way: CloudWatch lets GetMetricData, GetMetricStatistics and alarm
evaluation see a datapoint only some time after it was put (the metric availability delay,
docs/timing.md). A put that must wait is held here, with the scenario time it arrives, and
stored when a reader comes by at or after that time; a put with no delay is stored at once.

Each put waits its own delay, so datapoints of one metric may arrive out of order and a period
may be read while part of it is still on its way, as it can be on AWS.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

Store = Callable[[], None]


class Arrivals:
    """Puts held until their arrival time, released in arrival order."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Store]] = []
        self._order = itertools.count()  # equal times arrive in put order; stores never compare

    def __len__(self) -> int:
        return len(self._due)

    def hold(self, arrives: float, store: Store) -> None:
        """Run `store` once a reader comes by at or after `arrives` (scenario seconds)."""
        heapq.heappush(self._due, (arrives, next(self._order), store))

    def release(self, now: float) -> int:
        """Store every put that has arrived by `now`; returns how many."""
        released = 0
        while self._due and self._due[0][0] <= now:
            _, _, store = heapq.heappop(self._due)
            store()
            released += 1
        return released
