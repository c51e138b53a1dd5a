"""The lab's clock: scenario time runs `scale` times faster than the wall clock.

A FIS scenario written for 30 minutes runs in 30 s at scale 60. Every lab-internal wait that
stands for an AWS duration (an action's duration, a health-check interval, an alarm's cadence,
a group's health-check grace) goes through `sleep`/`wall`/`cadence`, which divide by the scale; every
timestamp a user sees (CloudWatch datapoints, FIS start and end times, the run's journal) is
scenario time from `now`, so a report shows the template's own times. Scenario time equals wall
time at the lab's epoch and runs ahead of it afterwards; at scale 1 the two are the same.
docs/timing.md says what does not scale (process start-up, PostgreSQL promotion, TCP timeouts).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

MIN_SCALE = 1
MAX_SCALE = 600
MIN_CADENCE_S = 0.1
"""No periodic lab loop runs more often than this in wall seconds; past it, a loop checks less
often than its scenario interval asks (at scale 60 a 1 s interval is every 6 scenario s, at 600 every 60)."""
MIN_TIMEOUT_S = 2.0
"""A network wait (a health-check probe's timeout) never shrinks below this in wall seconds: a
real process answers in real milliseconds, injected latency is real, and TCP resends a lost SYN
after a real second, however fast the scenario runs."""


def check_scale(value: float) -> float:
    """The scale as given, or a ValueError that says what is allowed."""
    if not MIN_SCALE <= value <= MAX_SCALE:
        raise ValueError(f"time scale must be between {MIN_SCALE} and {MAX_SCALE}, not {value:g}")
    return value


@dataclass(frozen=True)
class LabClock:
    """Scenario time = epoch + (wall − epoch) × scale."""

    scale: float = 1.0
    epoch: float = field(default_factory=time.time)

    def now(self) -> float:
        """Scenario time now, as epoch seconds."""
        return self.scenario(time.time())

    def scenario(self, wall_time: float) -> float:
        """The scenario time of a wall-clock instant (for stamps taken with time.time())."""
        return self.epoch + (wall_time - self.epoch) * self.scale

    def wall(self, seconds: float) -> float:
        """How many wall seconds a scenario duration lasts."""
        return seconds / self.scale

    def cadence(self, seconds: float) -> float:
        """Wall seconds between two rounds of a periodic loop, never below MIN_CADENCE_S."""
        return max(MIN_CADENCE_S, seconds / self.scale)

    def timeout(self, seconds: float) -> float:
        """Wall seconds to wait for a real peer: the scaled duration, but at least MIN_TIMEOUT_S
        (or the whole duration, if that is shorter)."""
        return max(seconds / self.scale, min(seconds, MIN_TIMEOUT_S))

    async def sleep(self, seconds: float) -> None:
        """Wait a scenario duration."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)
