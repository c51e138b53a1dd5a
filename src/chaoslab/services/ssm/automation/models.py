"""An Automation execution and its step executions, in the API's shapes.

Execution statuses: Pending → InProgress → Success | Failed | TimedOut, or Cancelling →
Cancelled when StopAutomationExecution (FIS's stop) cancels it. A step is Pending, InProgress,
then Success, Failed, TimedOut or Cancelled.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from chaoslab.services.ssm.automation.runbook import Step

TERMINAL = ("Success", "Failed", "TimedOut", "Cancelled")


@dataclass
class StepRecord:
    """One step as it ran (or runs): what GetAutomationExecution shows of it."""

    step: Step
    step_id: str
    status: str = "Pending"
    started: float | None = None
    ended: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    outputs_raw: dict[str, Any] = field(default_factory=dict)  # typed, for later steps' references
    failure: str = ""
    attempts: int = 0

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "StepName": self.step.name,
            "Action": self.step.action,
            "OnFailure": self.step.on_failure,
            "MaxAttempts": self.step.max_attempts,
            "StepStatus": self.status,
            "StepExecutionId": self.step_id,
            "Inputs": {k: v if isinstance(v, str) else _json(v) for k, v in self.inputs.items()},
            "Outputs": self.outputs,
            "IsEnd": self.step.is_end,
            "IsCritical": self.step.is_critical,
        }
        if self.step.timeout_seconds is not None:
            out["TimeoutSeconds"] = int(self.step.timeout_seconds)
        if self.step.next_step:
            out["NextStep"] = self.step.next_step
        if self.started is not None:
            out["ExecutionStartTime"] = self.started
        if self.ended is not None:
            out["ExecutionEndTime"] = self.ended
        if self.failure:
            out["FailureMessage"] = self.failure
        return out


@dataclass
class Execution:
    execution_id: str
    document_name: str
    document_version: str
    parameters: dict[str, list[str]]
    executed_by: str
    started: float
    status: str = "Pending"
    ended: float | None = None
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    failure: str = ""
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def current(self) -> StepRecord | None:
        running = [s for s in self.steps if s.status == "InProgress"]
        return running[-1] if running else None

    def end(self, status: str, at: float, failure: str = "") -> None:
        self.status, self.ended = status, at
        self.failure = self.failure or failure
        self.finished.set()

    def metadata(self) -> dict[str, Any]:
        """DescribeAutomationExecutions' row."""
        out: dict[str, Any] = {
            "AutomationExecutionId": self.execution_id,
            "DocumentName": self.document_name,
            "DocumentVersion": self.document_version,
            "AutomationExecutionStatus": self.status,
            "ExecutionStartTime": self.started,
            "ExecutedBy": self.executed_by,
            "Outputs": self.outputs,
            "Mode": "Auto",
            "AutomationType": "Local",
        }
        current = self.current
        if current is not None:
            out["CurrentStepName"], out["CurrentAction"] = current.step.name, current.step.action
        if self.ended is not None:
            out["ExecutionEndTime"] = self.ended
        if self.failure:
            out["FailureMessage"] = self.failure
        return out

    def to_api(self) -> dict[str, Any]:
        """GetAutomationExecution's AutomationExecution."""
        out = self.metadata()
        del out["AutomationType"]  # a metadata-only member
        out.update(
            {
                "Parameters": self.parameters,
                "StepExecutions": [s.to_api() for s in self.steps],
                "StepExecutionsTruncated": False,
            }
        )
        return out


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
