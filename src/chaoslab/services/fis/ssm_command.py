"""`aws:ssm:send-command`: run an SSM document on the target instances through `lab.ssm`.

As in FIS, the action lasts until the command ends or its `duration` elapses, whichever comes
first; a failed command fails the action; at the end (or on stop) the command is cancelled and
its faults undone — `lab.ssm.cancel_and_revert` is idempotent, so the undo record only names it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Targets

POLL_SECONDS = 0.1


def document_parameters(text: str | None) -> dict[str, list[str]]:
    """FIS's `documentParameters` JSON (string or string-list values) as SSM's parameter map."""
    parsed = json.loads(text or "{}")
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in parsed.items()}


async def send_command(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    ssm = getattr(ctx.lab, "ssm", None)
    if ssm is None:
        raise ActionFailure("ConfigurationFailure", "The lab has no SSM service to run documents with.")
    instances = targets["Instances"]
    for r in instances:
        ctx.authorize("ssm:SendCommand", r)
    ids = [str(r.record.get("InstanceId") or r.arn.rsplit("/", 1)[-1]) for r in instances]
    command_id = str(uuid.uuid4())
    ctx.undo("ssm.command", {"command_id": command_id, "target": ",".join(ids)})
    try:
        command = await ssm.send_command(params["documentArn"], ids, document_parameters(params.get("documentParameters")),
                                         comment=f"AWS FIS experiment {ctx.experiment_id}", command_id=command_id)
    except AwsError as exc:
        raise ActionFailure("ConfigurationFailure", f"{exc.code}: {exc.message}") from exc
    for i in ids:
        ctx.applied("ssm.send_command", i)
    deadline = time.monotonic() + parse_duration(params["duration"]) * ctx.time_scale
    while time.monotonic() < deadline and command.status not in ("Success", "Failed", "Cancelled", "TimedOut"):
        await asyncio.sleep(POLL_SECONDS)
    if command.status in ("Failed", "TimedOut"):
        raise ActionFailure("DependentServiceFailure",
                            f"SSM command {command_id} {command.status.lower()}: {command.failure_reason()}")


async def revert(lab: Any, record: dict[str, Any]) -> None:
    await lab.ssm.cancel_and_revert(record["command_id"], "Command was cancelled by AWS FIS.")


REVERTERS = {"ssm.command": revert}
