"""Heavy, self-contained request work (hashing, inflating and parsing big bodies, serialising big
responses) runs on a small worker pool instead of the event loop the ALB data plane shares.

Small work stays inline: a thread hand-off costs more than parsing a 2 KB request. Big work is
bounded by the input limits (aws/limits.py); on a worker it yields the GIL to the loop every
switch interval, so the loop keeps serving while it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from chaoslab.aws import limits

T = TypeVar("T")


class Offloader:
    """A bounded pool: at most `workers` jobs run, the rest wait their turn (no unbounded queue of threads)."""

    def __init__(self, workers: int = limits.WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aws-heavy")

    async def run(self, heavy: bool, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` inline when light, on a worker when `heavy`."""
        if not heavy:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def is_heavy_output(value: Any, budget: int = limits.HEAVY_OUTPUT) -> bool:
    """True when a handler's output holds more than `budget` values; it stops counting there, so
    the check itself costs at most `budget` steps."""
    stack = [value]
    pushed = 1
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            pushed += len(item)
            if pushed > budget:
                return True
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


class LoopSlices:
    """For handlers whose work grows with a (bounded) input but must stay on the loop, because it
    changes backend state: `await slices.pause()` between items yields to the loop once `budget`
    seconds of work have passed, so the ALB is never held up longer than that."""

    def __init__(self, budget: float = 0.005) -> None:
        self.budget = budget
        self._since = time.perf_counter()

    async def pause(self) -> None:
        if time.perf_counter() - self._since >= self.budget:
            await asyncio.sleep(0)
            self._since = time.perf_counter()
