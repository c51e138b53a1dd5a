"""SSM Run Command (with Parameter Store, `parameters.py`, and Automation, `automation/`) for
the lab's EC2 instances: every running instance is a managed instance (the lab is its agent),
and SendCommand runs an AWSFIS-Run-* document or AWS-RunShellScript against the instance's
process unit for real.

Each fault a document applies is journaled (owner `ssm:<CommandId>`) before it takes effect
and undone when the run ends, is cancelled, or — after a crash — when the next lab starts.
Commands are kept in the store so ListCommands still shows them after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults.base import FaultError
from chaoslab.faults.replay import Entry, revert_entries
from chaoslab.services.ssm.automation.executions import Automation
from chaoslab.services.ssm.documents import DocumentRun, document
from chaoslab.services.ssm.models import COMMAND_KIND, TERMINAL, Command, Invocation
from chaoslab.services.ssm.parameters import Parameters

log = logging.getLogger(__name__)
OWNER_PREFIX = "ssm:"


class SsmBackend:
    """Run Command state and execution; knows nothing about HTTP."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.commands: dict[str, Command] = {}
        self.parameters = Parameters(lab.config.region, lab.config.account_id)
        self.automation = Automation(lab)
        self._runs: dict[tuple[str, str], asyncio.Task[None]] = {}

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load past commands; undo faults of commands a crashed lab left running."""
        for doc in self.lab.store.list(COMMAND_KIND):
            cmd = Command.from_document(doc)
            self.commands[cmd.command_id] = cmd
        for cmd in list(self.commands.values()):
            if cmd.status not in TERMINAL:
                await self.cancel_and_revert(cmd.command_id, "the lab stopped while the command ran")
        await self._revert([e for e in self.lab.store.journal_pending() if e["owner"].startswith(OWNER_PREFIX)])

    async def stop(self) -> None:
        """Cancel what still runs, so its faults are undone before the units go."""
        await self.automation.close()
        for cmd in list(self.commands.values()):
            if cmd.status not in TERMINAL:
                await self.cancel_and_revert(cmd.command_id, "the lab is stopping")

    # commands --------------------------------------------------------------------------------
    async def send_command(
        self,
        document_name: str,
        instance_ids: list[str],
        parameters: dict[str, list[str]],
        *,
        comment: str = "",
        timeout_seconds: int = 3600,
        command_id: str | None = None,
    ) -> Command:
        doc = document(document_name)
        params = doc.parameters(parameters)
        if not instance_ids:
            raise AwsError("InvalidInstanceId", "InstanceIds must name at least one instance.")
        if len(set(instance_ids)) != len(instance_ids):
            raise AwsError("DuplicateInstanceId", "Instance IDs must be unique.")
        targets = [(iid, self._managed(iid)) for iid in instance_ids]
        cmd = Command(
            command_id or str(uuid.uuid4()),
            doc.name,
            {k: [v] for k, v in params.items()},
            list(instance_ids),
            comment,
            time.time(),
            timeout_seconds,
        )
        cmd.invocations = {iid: Invocation(iid) for iid in instance_ids}
        self.commands[cmd.command_id] = cmd
        self._save(cmd)
        for iid, inst in targets:
            task = asyncio.get_running_loop().create_task(self._invoke(cmd, cmd.invocations[iid], doc, inst, params))
            self._runs[(cmd.command_id, iid)] = task
        return cmd

    def _managed(self, instance_id: str) -> Any:
        """The instance if SSM could reach it: running (its app may have died; the agent has not)."""
        inst = self.lab.ec2.instances.get(instance_id)
        if inst is None or inst.state != "running" or inst.unit is None or inst.unit.sandbox is None:
            raise AwsError(
                "InvalidInstanceId",
                f"Instances [[{instance_id}]] not in a valid state for account {self.lab.config.account_id}",
            )
        return inst

    async def _invoke(self, cmd: Command, inv: Invocation, doc: Any, inst: Any, params: dict[str, str]) -> None:
        """Run the document on one instance; whatever happens, undo what it journaled."""
        entries: list[Entry] = []

        def journal(fault: str, record: dict[str, Any]) -> None:
            entries.append(
                {"id": self.lab.store.journal_add(cmd.owner, fault, record), "fault": fault, "record": record}
            )

        run = DocumentRun(self.lab, inst, inst.unit, params, journal)
        inv.status, inv.started = "InProgress", time.time()
        self._changed(cmd)
        try:
            await doc.run(run)
            inv.status, inv.response_code = "Success", 0
        except asyncio.CancelledError:
            inv.status, inv.stderr = "Cancelled", inv.stderr or "Command was cancelled."
        except (FaultError, ValueError, KeyError) as exc:
            inv.status, inv.response_code, inv.stderr = "Failed", 1, f"{exc}\n"
        except Exception as exc:  # a lab bug still ends the invocation, never leaves it running
            log.exception("SSM document %s failed on %s", doc.name, inv.instance_id)
            inv.status, inv.response_code, inv.stderr = "Failed", 1, f"internal failure: {exc}\n"
        finally:
            await asyncio.shield(self._revert(entries[::-1]))
            inv.stdout = "".join(f"{line}\n" for line in run.lines)
            inv.ended = time.time()
            self._runs.pop((cmd.command_id, inv.instance_id), None)
            self._changed(cmd)

    async def _revert(self, entries: list[Entry]) -> None:
        """Undo journaled faults, newest first; one that fails stays pending for the next start."""
        for failure in await revert_entries(self.lab, self.lab.store, entries, self._reverted):
            log.error("could not revert %s; its journal entry stays pending", failure)

    def _reverted(self, entry: Entry) -> None:
        self.lab.events.emit(
            "fault.reverted", fault=entry["fault"], target=entry["record"].get("target"), experiment=None
        )

    def _changed(self, cmd: Command) -> None:
        cmd.settle()
        self._save(cmd)

    def _save(self, cmd: Command) -> None:
        self.lab.store.put(COMMAND_KIND, cmd.command_id, cmd.to_document())

    def get(self, command_id: str) -> Command:
        cmd = self.commands.get(command_id)
        if cmd is None:
            raise AwsError("InvalidCommandId", f"Command {command_id} does not exist.")
        return cmd

    async def cancel_command(self, command_id: str, instance_ids: list[str] | None = None) -> None:
        """Cancel the command's runs (all, or on the given instances); their faults are undone."""
        cmd = self.get(command_id)
        for iid in instance_ids or cmd.instance_ids:
            if iid not in cmd.invocations:
                raise AwsError("InvalidInstanceId", f"Instance {iid} is not a target of command {command_id}.")
        tasks = [
            t
            for (cid, iid), t in list(self._runs.items())
            if cid == command_id and (not instance_ids or iid in instance_ids)
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for iid in instance_ids or cmd.instance_ids:  # runs cancelled before they began
            inv = cmd.invocations[iid]
            if inv.status not in TERMINAL:
                inv.status, inv.stderr, inv.ended = "Cancelled", "Command was cancelled.", time.time()
        self._changed(cmd)

    async def cancel_and_revert(self, command_id: str, reason: str = "Command was cancelled.") -> None:
        """Idempotent stop for FIS and recovery: cancel if running, then undo any fault the
        command's journal still holds (after a crash there is no run left to do it)."""
        cmd = self.commands.get(command_id)
        if cmd is not None:
            for inv in cmd.invocations.values():
                if inv.status not in TERMINAL and (command_id, inv.instance_id) not in self._runs:
                    inv.status, inv.stderr, inv.ended = "Cancelled", reason, time.time()  # lost in a crash
            await self.cancel_command(command_id)
        await self._revert(self.lab.store.journal_pending(f"{OWNER_PREFIX}{command_id}"))

    def list_commands(
        self, command_id: str | None = None, instance_id: str | None = None, filters: list[dict[str, str]] | None = None
    ) -> list[Command]:
        if command_id is not None:
            self.get(command_id)
        out = []
        for cmd in sorted(self.commands.values(), key=lambda c: c.requested, reverse=True):
            if command_id and cmd.command_id != command_id:
                continue
            if instance_id and instance_id not in cmd.invocations:
                continue
            if all(_matches(cmd, f["key"], f["value"]) for f in filters or []):
                out.append(cmd)
        return out

    def invocation(self, command_id: str, instance_id: str) -> tuple[Command, Invocation]:
        cmd = self.commands.get(command_id)
        inv = cmd.invocations.get(instance_id) if cmd else None
        if cmd is None or inv is None:
            raise AwsError(
                "InvocationDoesNotExist",
                "An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation",
            )
        return cmd, inv

    # managed instances ------------------------------------------------------------------------
    def instance_information(self) -> list[dict[str, Any]]:
        """Every lab instance that is not terminated, as SSM's managed-instance view of it."""
        out = []
        for inst in self.lab.ec2.instances.values():
            if inst.state in ("terminated", "shutting-down"):
                continue
            online = inst.state == "running" and inst.unit is not None
            out.append(
                {
                    "InstanceId": inst.instance_id,
                    "PingStatus": "Online" if online else "ConnectionLost",
                    "LastPingDateTime": time.time(),
                    "AgentVersion": "3.3.0.0-chaoslab",
                    "IsLatestVersion": True,
                    "PlatformType": "Linux",
                    "PlatformName": "Amazon Linux",
                    "PlatformVersion": "2023",
                    "ResourceType": "EC2Instance",
                    "IPAddress": inst.private_ip or "",
                    "ComputerName": f"ip-{(inst.private_ip or '0.0.0.0').replace('.', '-')}.ec2.internal",
                }
            )
        return out


def _matches(cmd: Command, key: str, value: str) -> bool:
    if key == "Status":
        return cmd.status == value
    if key == "DocumentName":
        return cmd.document_name == value
    if key in ("InvokedAfter", "InvokedBefore"):
        ts = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return cmd.requested >= ts if key == "InvokedAfter" else cmd.requested <= ts
    if key == "ExecutionStage":
        return (cmd.status in TERMINAL) == (value == "Complete")
    raise AwsError("InvalidFilterKey", f"The filter key {key} is not valid.")
