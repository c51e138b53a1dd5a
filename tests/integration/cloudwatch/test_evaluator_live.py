"""The evaluator on a real asyncio loop and the wall clock, with 1-second periods."""

import asyncio
import time
import types

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend

pytestmark = pytest.mark.timeout(30)
DIMS = {"TargetGroup": "targetgroup/prod-payment-tg/a1b2c3d4e5f6"}


async def wait_for_state(cw, name, state, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cw.get_alarm_state(name) == state:
            return time.monotonic()
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} did not reach {state} within {timeout}s (is {cw.get_alarm_state(name)})")


def test_seed_002_style_alarm_trips_and_clears_within_a_period(tmp_path):
    async def scenario():
        lab = types.SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
        cw = CloudWatchBackend(lab)
        changes = []
        cw.add_alarm_listener(lambda arn, old, new, reason: changes.append((time.monotonic(), old, new)))
        await cw.start()
        try:
            cw.put_metric_alarm(
                {
                    "AlarmName": "stop",
                    "Namespace": "AWS/ApplicationELB",
                    "MetricName": "HTTPCode_Target_5XX_Count",
                    "Dimensions": [{"Name": k, "Value": v} for k, v in DIMS.items()],
                    "Statistic": "Sum",
                    "Period": 1,
                    "EvaluationPeriods": 1,
                    "Threshold": 5,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                }
            )
            assert cw.get_alarm_state("stop") == "INSUFFICIENT_DATA"  # nothing ran between: same loop, no await
            await wait_for_state(cw, "stop", "OK", 3.5)  # first evaluated 1-2 s after creation
            put_at = time.monotonic()
            cw.put_metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", DIMS, [1.0] * 6, "Count")
            alarmed_at = await wait_for_state(cw, "stop", "ALARM", 2.5)
            cleared_at = await wait_for_state(cw, "stop", "OK", 6)
            return put_at, alarmed_at, cleared_at, changes, lab
        finally:
            await cw.stop()

    put_at, alarmed_at, cleared_at, changes, lab = asyncio.run(scenario())
    assert alarmed_at - put_at <= 2.0  # its period closes within 1 s and is evaluated 0.2 s later (+ load slack)
    assert cleared_at > alarmed_at
    assert [(o, n) for _, o, n in changes] == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM"), ("ALARM", "OK")]
    assert [e["new"] for e in lab.events.since(0, {"alarm.state"})] == ["OK", "ALARM", "OK"]


def test_five_breaches_do_not_trip_and_stop_cancels_the_task(tmp_path):
    async def scenario():
        lab = types.SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
        cw = CloudWatchBackend(lab)
        await cw.start()
        cw.put_metric_alarm(
            {
                "AlarmName": "s",
                "Namespace": "N",
                "MetricName": "errors",
                "Statistic": "Sum",
                "Period": 1,
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            }
        )
        cw.put_metric("N", "errors", {}, [1.0] * 5, "Count")
        await asyncio.sleep(3.3)  # the first evaluation comes 1-2 s after creation
        state = cw.get_alarm_state("s")
        await cw.stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return state, tasks

    state, leftover = asyncio.run(scenario())
    assert state == "OK"
    assert leftover == []
