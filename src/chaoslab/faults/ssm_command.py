"""An SSM Run Command the lab runs for FIS's aws:ssm:send-command. Reverting cancels the command,
which undoes whatever its documents did (their own faults are journaled under the command)."""

from __future__ import annotations

import uuid
from typing import Any

from chaoslab.faults.base import Fault


class SsmCommand(Fault):
    """`document` on `instance_ids` through the lab's SSM; `command` is the running command."""

    name = "ssm.cancel_command"

    def __init__(
        self, lab: Any, document: str, instance_ids: list[str], parameters: dict[str, list[str]], comment: str
    ) -> None:
        self.lab, self.document, self.instance_ids = lab, document, instance_ids
        self.parameters, self.comment = parameters, comment
        self.command_id = str(uuid.uuid4())
        self.command: Any = None

    async def arm(self) -> dict[str, Any]:
        return {"command_id": self.command_id, "target": ",".join(self.instance_ids)}

    async def go(self) -> None:
        self.command = await self.lab.ssm.send_command(
            self.document, self.instance_ids, self.parameters, comment=self.comment, command_id=self.command_id
        )

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        ssm = getattr(lab, "ssm", None)
        if ssm is not None:  # a dead lab's commands are cancelled at its next start
            await ssm.cancel_and_revert(record["command_id"])
