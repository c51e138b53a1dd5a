"""aws:executeScript in a real subprocess: the handler's return value is the Payload, its prints
are the log, an exception fails the step, and a step past its limit leaves no process behind
(https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-executeScript.html)."""

from __future__ import annotations

import asyncio

import psutil
import pytest

from chaoslab.services.ssm.automation.runner import StepFailure
from chaoslab.services.ssm.automation.script import run_script

SCRIPT = """
import os
def handler(events, context):
    print("working in", os.getcwd())
    return {"sum": sum(events["numbers"]), "home": os.environ["HOME"]}
"""


def test_the_handler_result_is_the_payload_and_its_prints_the_log() -> None:
    out = asyncio.run(run_script("python3.11", "handler", SCRIPT, {"numbers": [1, 2, 3]}, {}))
    assert out["Payload"]["sum"] == 6
    assert "chaoslab-script-" in out["Payload"]["home"] and "working in" in out["Logs"]


def test_a_raising_script_fails_the_step_with_its_error() -> None:
    with pytest.raises(StepFailure, match="ZeroDivisionError"):
        asyncio.run(run_script("python3.11", "h", "def h(e, c):\n    return 1 / 0\n", {}, {}))
    with pytest.raises(StepFailure, match="Runtime nodejs20.x is not supported"):
        asyncio.run(run_script("nodejs20.x", "h", "", {}, {}))


def test_a_script_past_its_limit_is_killed() -> None:
    hang = "import os, time\ndef h(e, c):\n    print(os.getpid(), flush=True)\n    time.sleep(60)\n"

    async def scenario() -> set[int]:
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        with pytest.raises(TimeoutError):
            await run_script("python3.11", "h", hang, {}, {}, limit=0.5)
        return {p.pid for p in psutil.Process().children(recursive=True)} - before

    assert asyncio.run(scenario()) == set()
