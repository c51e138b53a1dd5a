"""An SSM Automation execution the lab runs for FIS's aws:ssm:start-automation-execution.

Reverting stops the execution (StopAutomationExecution, as FIS does when the action is stopped
or its experiment ends): the step that runs is cancelled and undoes what it started — a Run
Command it sent is cancelled, which reverts that command's faults. Steps that already finished
stay done: what an `aws:executeAwsApi` call changed or a script did is the runbook's business,
as on AWS."""

from __future__ import annotations

import uuid
from typing import Any

from chaoslab.faults.base import Fault


class SsmAutomation(Fault):
    """`document` started with `parameters` as `caller`; `execution` is the running execution."""

    name = "ssm.stop_automation_execution"

    def __init__(self, lab: Any, document: str, parameters: dict[str, list[str]], caller: str) -> None:
        self.lab, self.document, self.parameters, self.caller = lab, document, parameters, caller
        self.execution_id = str(uuid.uuid4())
        self.execution: Any = None

    async def arm(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "target": self.document}

    async def go(self) -> None:
        self.execution = self.lab.ssm.automation.start(
            self.document, self.parameters, self.caller, execution_id=self.execution_id
        )

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        ssm = getattr(lab, "ssm", None)
        if ssm is not None:  # a dead lab's executions died with it
            await ssm.automation.cancel(record["execution_id"])
