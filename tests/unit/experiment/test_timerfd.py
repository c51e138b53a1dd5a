"""The schedule's timerfd sleep: it returns at its deadline, never before, and at once for one
already past (a late schedule catches up instead of waiting)."""

import asyncio
import time

from chaoslab.experiment.timerfd import Waker


async def _slept(offsets):
    waker = Waker.create()
    assert waker is not None, "Linux has timerfd"
    woke = []
    try:
        for offset in offsets:
            deadline = time.monotonic() + offset
            await waker.until(deadline)
            woke.append(time.monotonic() - deadline)
    finally:
        waker.close()
    return woke


def test_wakes_at_the_deadline_not_before():
    woke = asyncio.run(_slept([0.003, 0.0004, 0.01]))
    assert all(0 <= w < 0.5 for w in woke), woke


def test_a_deadline_already_past_returns_at_once():
    (late,) = asyncio.run(_slept([-5.0]))
    assert 5.0 <= late < 5.1  # the call took under 0.1 s
