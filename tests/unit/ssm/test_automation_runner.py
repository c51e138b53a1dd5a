"""The execution flow of SSM Automation: attempts, timeouts, onFailure (Abort, Continue,
step:<name>), isEnd, isCritical, outputs feeding later steps, and cancellation
(https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html#failProperties).
The steps' actions are replaced by a scripted `Act`: the flow is what is under test here, the
actions run for real in tests/integration/faults/test_ssm_automation.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from chaoslab.services.ssm.automation.models import Execution
from chaoslab.services.ssm.automation.runbook import Step, parse
from chaoslab.services.ssm.automation.runner import StepFailure, run


def runbook(*steps: dict[str, Any], outputs: list[str] | None = None) -> Any:
    return parse({"schemaVersion": "0.3", "mainSteps": list(steps), "outputs": outputs or []})


def step(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "action": "aws:sleep", "inputs": {"Duration": "PT0S", **extra.pop("inputs", {})}, **extra}


class Script:
    """An Act whose steps fail a given number of times, or hang; it records every call."""

    def __init__(self, failures: dict[str, int] | None = None, hang: frozenset[str] = frozenset()) -> None:
        self.failures, self.hang = dict(failures or {}), hang
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, s: Step, inputs: dict[str, Any]) -> Any:
        self.calls.append((s.name, inputs))
        if s.name in self.hang:
            await asyncio.sleep(60)
        if self.failures.get(s.name, 0) > 0:
            self.failures[s.name] -= 1
            raise StepFailure(f"{s.name} broke")
        return {"Value": f"{s.name}-out", "Items": [1, 2]}


def execute(book: Any, act: Script, variables: dict[str, Any] | None = None) -> Execution:
    execution = Execution("e-1", "Doc", "1", {}, "root", time.time())
    asyncio.run(run(execution, book, dict(variables or {}), act, now=time.time))
    return execution


def statuses(execution: Execution) -> list[tuple[str, str]]:
    return [(s.step.name, s.status) for s in execution.steps]


def test_outputs_of_a_step_feed_later_steps_and_the_document_outputs() -> None:
    book = runbook(
        step(
            "a",
            outputs=[{"Name": "V", "Selector": "$.Value"}, {"Name": "N", "Selector": "$.Items", "Type": "StringList"}],
        ),
        step("b", inputs={"From": "{{ a.V }} and {{ Name }}", "List": "{{ a.N }}"}),
        outputs=["a.V"],
    )
    act = Script()
    execution = execute(book, act, {"Name": "x"})
    assert execution.status == "Success" and statuses(execution) == [("a", "Success"), ("b", "Success")]
    assert act.calls[1][1] == {"Duration": "PT0S", "From": "a-out and x", "List": ["1", "2"]}
    assert execution.steps[0].outputs == {"V": ["a-out"], "N": ["1", "2"]}
    assert execution.outputs == {"a.V": ["a-out"]}


def test_abort_is_the_default_and_ends_the_execution_failed() -> None:
    execution = execute(runbook(step("a"), step("b"), step("c")), Script({"b": 1}))
    assert statuses(execution) == [("a", "Success"), ("b", "Failed")]
    assert execution.status == "Failed" and "b broke" in execution.failure


def test_continue_goes_on_but_a_critical_failure_still_fails_the_execution() -> None:
    execution = execute(runbook(step("a", onFailure="Continue"), step("b")), Script({"a": 1}))
    assert statuses(execution) == [("a", "Failed"), ("b", "Success")] and execution.status == "Failed"
    lenient = runbook(step("a", onFailure="Continue", isCritical=False), step("b"))
    assert execute(lenient, Script({"a": 1})).status == "Success"


def test_on_failure_step_jumps_and_is_end_stops() -> None:
    book = runbook(step("a", onFailure="step:recover"), step("skipped"), step("recover", isEnd=True), step("never"))
    execution = execute(book, Script({"a": 1}))
    assert statuses(execution) == [("a", "Failed"), ("recover", "Success")]
    assert execution.status == "Failed"  # a, critical, failed


def test_next_step_branches_on_success() -> None:
    execution = execute(runbook(step("a", nextStep="c"), step("b"), step("c")), Script())
    assert statuses(execution) == [("a", "Success"), ("c", "Success")]


def test_max_attempts_retries_until_success() -> None:
    act = Script({"a": 2})
    execution = execute(runbook(step("a", maxAttempts=3)), act)
    assert execution.status == "Success" and execution.steps[0].attempts == 3 and len(act.calls) == 3
    assert execute(runbook(step("a", maxAttempts=2)), Script({"a": 2})).status == "Failed"


def test_a_step_past_its_timeout_times_out_the_execution() -> None:
    execution = execute(runbook(step("a", timeoutSeconds=0.2)), Script(hang=frozenset({"a"})))
    assert statuses(execution) == [("a", "TimedOut")] and execution.status == "TimedOut"
    assert "timed out after 0.2 seconds" in execution.steps[0].failure


def test_a_reference_to_a_missing_output_fails_the_step() -> None:
    execution = execute(runbook(step("a", inputs={"X": "{{ nope.Out }}"})), Script())
    assert statuses(execution) == [("a", "Failed")] and "nope.Out" in execution.failure


def test_cancelling_ends_the_running_step_and_the_execution_cancelled() -> None:
    async def scenario() -> Execution:
        execution = Execution("e-1", "Doc", "1", {}, "root", time.time())
        task = asyncio.create_task(
            run(execution, runbook(step("a"), step("b")), {}, Script(hang=frozenset({"b"})), now=time.time)
        )
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return execution

    execution = asyncio.run(scenario())
    assert statuses(execution) == [("a", "Success"), ("b", "Cancelled")] and execution.status == "Cancelled"
    assert execution.finished.is_set()
