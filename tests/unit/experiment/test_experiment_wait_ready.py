"""Before the baseline the runner waits for the steady state's alarms to be evaluated once: a new
alarm reads INSUFFICIENT_DATA for up to a cadence after creation, on AWS and in the lab."""

import asyncio
import io

from chaoslab.experiment.runner import Run
from chaoslab.report import LiveView

STEADY = [
    {"type": "healthy_hosts", "min": 1},
    {"type": "alarm", "name": "5xx", "state": "OK"},
    {"type": "alarm", "name": "never", "state": "ALARM", "mode": "never_was"},
]


def _run():
    run = Run({"title": "t", "steady_state": STEADY}, lab=None, view=LiveView(io.StringIO(), tty=False), stack="s")
    run.targets = {"10.0.10.5": "healthy"}
    return run


def test_waits_while_a_steady_state_alarm_is_unevaluated():
    run = _run()
    run.alarms = {"5xx": "INSUFFICIENT_DATA", "never": "INSUFFICIENT_DATA"}

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        loop.call_later(0.4, run.alarms.update, {"5xx": "OK"})
        await run._wait_ready(5)
        return loop.time() - start

    assert 0.4 <= asyncio.run(scenario()) < 2  # `never` (never_was ALARM) is not waited for


def test_gives_up_at_the_timeout():
    run = _run()
    run.alarms = {"5xx": "INSUFFICIENT_DATA"}
    asyncio.run(run._wait_ready(0.3))  # returns; the baseline then reports the check as not met
