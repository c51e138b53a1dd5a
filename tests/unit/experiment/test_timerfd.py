"""The schedule's timerfd sleep: it returns at its deadline, never before, and at once for one
already past (a late schedule catches up instead of waiting); the lead it learns is bounded."""

import asyncio
import time

from chaoslab.experiment.timerfd import LEAD_MAX_S, Waker


async def _slept(offsets, leads=None):
    waker = Waker.create()
    assert waker is not None, "Linux has timerfd"
    woke = []
    try:
        for offset in offsets:
            deadline = time.monotonic() + offset
            await waker.until(deadline)
            woke.append(time.monotonic() - deadline)
            if leads is not None:
                leads.append(waker.lead)
    finally:
        waker.close()
    return woke


def test_wakes_at_the_deadline_not_before():
    woke = asyncio.run(_slept([0.003, 0.0004, 0.01]))
    assert all(0 <= w < 0.5 for w in woke), woke


def test_a_deadline_already_past_returns_at_once():
    (late,) = asyncio.run(_slept([-5.0]))
    assert 5.0 <= late < 5.1  # the call took under 0.1 s


def test_the_learned_lead_stays_within_its_bound():
    """The timer is set early by what recent wake-ups took, never by more than LEAD_MAX_S."""
    leads = []
    woke = asyncio.run(_slept([0.002] * 50, leads))
    assert all(0 <= w < 0.5 for w in woke), woke
    assert all(0 <= lead <= LEAD_MAX_S for lead in leads), leads
