"""Walks a runbook's steps for one execution: inputs resolved, each step tried up to
`maxAttempts` times within `timeoutSeconds`, outputs selected, then the next step by
`nextStep`, `isEnd` and `onFailure` (Abort, the default, ends the execution Failed — TimedOut if
the step timed out; Continue goes on to the next step; step:<name> jumps there). A failed
critical step still fails the execution when it goes on. Cancelling the task cancels the step
that runs (its action undoes what it started) and ends the execution Cancelled."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from chaoslab.services.ssm.automation.interpolate import InterpolationError, resolve
from chaoslab.services.ssm.automation.models import Execution, StepRecord
from chaoslab.services.ssm.automation.runbook import Runbook, Step
from chaoslab.services.ssm.automation.selector import SelectorError, as_strings, convert, select

Act = Callable[[Step, dict[str, Any]], Awaitable[Any]]
"""Runs one step's action with its resolved inputs; returns the result its outputs select from."""


class StepFailure(Exception):
    """A step's action failed; the message is the step's FailureMessage."""


async def run(
    execution: Execution,
    runbook: Runbook,
    variables: dict[str, Any],
    act: Act,
    *,
    now: Callable[[], float],
    time_scale: float = 1.0,
) -> None:
    """Run the steps until the execution ends; `variables` are the parameters and built-ins,
    step outputs are added as they come. `time_scale` divides timeoutSeconds (the lab clock's N)."""
    execution.status = "InProgress"
    failed: StepRecord | None = None
    index: int | None = 0
    try:
        while index is not None:
            step = runbook.steps[index]
            record = StepRecord(step, str(uuid.uuid4()), "InProgress", now())
            execution.steps.append(record)
            ok = await _attempts(record, variables, act, time_scale)
            record.ended = now()
            if ok:
                variables.update({f"{step.name}.{k}": v for k, v in record.outputs_raw.items()})
                index = None if step.is_end else _after(runbook, index, step.next_step)
                continue
            if step.is_critical:
                failed = record
            if step.is_end or step.on_failure == "Abort":
                break
            target = step.on_failure.removeprefix("step:") if step.on_failure.startswith("step:") else None
            index = _after(runbook, index, target)
    except asyncio.CancelledError:
        for record in execution.steps:
            if record.status == "InProgress":
                record.status, record.ended, record.failure = "Cancelled", now(), "Step cancelled."
        execution.end("Cancelled", now())
        raise
    execution.outputs = _outputs(runbook, variables)
    if failed is None:
        execution.end("Success", now())
    else:
        status = "TimedOut" if failed.status == "TimedOut" else "Failed"
        execution.end(status, now(), f"Step {failed.step.name} {_verb(failed)}: {failed.failure}")


def _after(runbook: Runbook, index: int, target: str | None) -> int | None:
    if target is not None:
        return runbook.step_index(target)
    return index + 1 if index + 1 < len(runbook.steps) else None


async def _attempts(record: StepRecord, variables: dict[str, Any], act: Act, time_scale: float) -> bool:
    """Try the step up to maxAttempts times; the record says how it ended."""
    step = record.step
    try:
        record.inputs = resolve(step.inputs, variables)
    except InterpolationError as exc:
        record.status, record.failure = "Failed", str(exc)
        return False
    for attempt in range(1, step.max_attempts + 1):
        record.attempts, record.status = attempt, "InProgress"
        try:
            timeout = step.timeout_seconds / time_scale if step.timeout_seconds is not None else None
            result = await asyncio.wait_for(act(step, record.inputs), timeout)
            record.outputs_raw = {o.name: convert(select(result, o.selector), o.type) for o in step.outputs}
        except TimeoutError:
            record.status, record.failure = "TimedOut", f"Step timed out after {step.timeout_seconds:g} seconds."
            continue
        except (StepFailure, SelectorError, ValueError, TypeError) as exc:
            record.status, record.failure = "Failed", str(exc)
            continue
        record.outputs = {k: as_strings(v) for k, v in record.outputs_raw.items()}
        record.status, record.failure = "Success", ""
        return True
    return False


def _verb(record: StepRecord) -> str:
    return "timed out" if record.status == "TimedOut" else "failed"


def _outputs(runbook: Runbook, variables: dict[str, Any]) -> dict[str, list[str]]:
    """The document's `outputs` that the steps produced."""
    return {name: as_strings(variables[name]) for name in runbook.outputs if name in variables}
