"""SSM Run Command resources: a command and its per-instance invocations, in AWS's shapes.

Statuses follow Run Command: Pending → InProgress → Success | Failed | Cancelled (TimedOut is
not produced: the lab's documents end on their own at DurationSeconds).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COMMAND_KIND = "ssm.command"
TERMINAL = ("Success", "Failed", "Cancelled", "TimedOut")
PLUGIN = "aws:runShellScript"  # the step name AWS's AWSFIS-Run-* documents use


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


@dataclass
class Invocation:
    instance_id: str
    status: str = "Pending"
    response_code: int = -1
    started: float | None = None
    ended: float | None = None
    stdout: str = ""
    stderr: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Command:
    command_id: str
    document_name: str
    parameters: dict[str, list[str]]
    instance_ids: list[str]
    comment: str
    requested: float
    timeout_seconds: int = 3600
    status: str = "Pending"
    invocations: dict[str, Invocation] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def owner(self) -> str:
        """The undo-journal owner of the faults this command's documents applied."""
        return f"ssm:{self.command_id}"

    def settle(self) -> None:
        """Derive the command's status from its invocations (Failed wins over Cancelled)."""
        states = [i.status for i in self.invocations.values()]
        if not all(s in TERMINAL for s in states):
            self.status = "InProgress" if any(s != "Pending" for s in states) else "Pending"
            return
        for status in ("Failed", "TimedOut", "Cancelled"):
            if status in states:
                self.status = status
                break
        else:
            self.status = "Success"
        self.finished.set()

    def failure_reason(self) -> str:
        failed = [i for i in self.invocations.values() if i.status != "Success"]
        return "; ".join(f"{i.instance_id}: {i.stderr.strip() or i.status}" for i in failed)

    # persistence -------------------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "document_name": self.document_name,
            "parameters": self.parameters,
            "instance_ids": self.instance_ids,
            "comment": self.comment,
            "requested": self.requested,
            "timeout_seconds": self.timeout_seconds,
            "status": self.status,
            "invocations": [i.to_dict() for i in self.invocations.values()],
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Command:
        invocations = {i["instance_id"]: Invocation(**i) for i in doc.pop("invocations")}
        cmd = cls(**doc, invocations=invocations)
        if cmd.status in TERMINAL:
            cmd.finished.set()
        return cmd

    # API shapes ---------------------------------------------------------------------------------
    def to_api(self) -> dict[str, Any]:
        states = [i.status for i in self.invocations.values()]
        return {
            "CommandId": self.command_id,
            "DocumentName": self.document_name,
            "DocumentVersion": "$DEFAULT",
            "Comment": self.comment,
            "ExpiresAfter": self.requested + self.timeout_seconds,
            "Parameters": self.parameters,
            "InstanceIds": self.instance_ids,
            "Targets": [],
            "RequestedDateTime": self.requested,
            "Status": self.status,
            "StatusDetails": self.status,
            "MaxConcurrency": "50",
            "MaxErrors": "0",
            "TargetCount": len(states),
            "CompletedCount": sum(s in TERMINAL for s in states),
            "ErrorCount": sum(s in ("Failed", "TimedOut") for s in states),
            "DeliveryTimedOutCount": 0,
            "TimeoutSeconds": self.timeout_seconds,
            "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
        }

    def invocation_to_api(self, inv: Invocation, details: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "CommandId": self.command_id,
            "InstanceId": inv.instance_id,
            "InstanceName": "",
            "Comment": self.comment,
            "DocumentName": self.document_name,
            "DocumentVersion": "$DEFAULT",
            "RequestedDateTime": self.requested,
            "Status": inv.status,
            "StatusDetails": inv.status,
            "StandardOutputUrl": "",
            "StandardErrorUrl": "",
            "CommandPlugins": [],
        }
        if details:
            plugin: dict[str, Any] = {
                "Name": PLUGIN,
                "Status": inv.status,
                "StatusDetails": inv.status,
                "ResponseCode": inv.response_code,
                "Output": (inv.stdout + inv.stderr)[:2500],
            }
            if inv.started:
                plugin["ResponseStartDateTime"] = inv.started
            if inv.ended:
                plugin["ResponseFinishDateTime"] = inv.ended
            out["CommandPlugins"] = [plugin]
        return out

    def get_invocation_api(self, inv: Invocation) -> dict[str, Any]:
        elapsed = (inv.ended or 0) - (inv.started or 0) if inv.started and inv.ended else 0.0
        return {
            "CommandId": self.command_id,
            "InstanceId": inv.instance_id,
            "Comment": self.comment,
            "DocumentName": self.document_name,
            "DocumentVersion": "$DEFAULT",
            "PluginName": PLUGIN,
            "ResponseCode": inv.response_code,
            "ExecutionStartDateTime": _iso(inv.started),
            "ExecutionElapsedTime": f"PT{elapsed:.3f}S",
            "ExecutionEndDateTime": _iso(inv.ended),
            "Status": inv.status,
            "StatusDetails": inv.status,
            "StandardOutputContent": inv.stdout[:24000],
            "StandardOutputUrl": "",
            "StandardErrorContent": inv.stderr[:8000],
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
        }
