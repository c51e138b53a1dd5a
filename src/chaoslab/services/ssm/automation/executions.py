"""The Automation side of the lab's SSM: the documents users create (CreateDocument) and the
executions started from them, each an asyncio task running `runner.run`.

Executions live in memory: a lab restart forgets them (a Run Command one of their steps sent is
journaled by Run Command itself and undone at the next start)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.ssm.automation import aws_call, runner
from chaoslab.services.ssm.automation.actions import StepContext, act_for
from chaoslab.services.ssm.automation.interpolate import InterpolationError, resolve
from chaoslab.services.ssm.automation.models import TERMINAL, Execution
from chaoslab.services.ssm.automation.runbook import Runbook, RunbookError, load_content, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserDocument:
    """A document made with CreateDocument (Automation only): its content and what it parses to."""

    name: str
    content: str
    format: str
    created: float
    runbook: Runbook
    owner: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content.encode()).hexdigest()

    def description(self) -> dict[str, Any]:
        """CreateDocument's and DescribeDocument's DocumentDescription."""
        return {
            "Hash": self.sha256,
            "HashType": "Sha256",
            "Name": self.name,
            "Owner": self.owner,
            "CreatedDate": self.created,
            "Status": "Active",
            "DocumentVersion": "1",
            "Description": self.runbook.description,
            "Parameters": [
                {"Name": n, "Type": p.type, **({"DefaultValue": _text(p.default)} if not p.required else {})}
                for n, p in self.runbook.parameters.items()
            ],
            "PlatformTypes": ["Windows", "Linux", "MacOS"],
            "DocumentType": "Automation",
            "SchemaVersion": "0.3",
            "LatestVersion": "1",
            "DefaultVersion": "1",
            "DocumentFormat": self.format,
            "Tags": [],
        }


class Automation:
    """Documents and executions; knows nothing about HTTP."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.documents: dict[str, UserDocument] = {}
        self.executions: dict[str, Execution] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # documents ---------------------------------------------------------------------------------
    def create_document(
        self, name: str, content: str, document_type: str = "Command", fmt: str = "JSON"
    ) -> UserDocument:
        if document_type != "Automation":
            raise AwsError(
                "InvalidDocumentType",
                f"The lab creates Automation documents only, not {document_type} (its Run Command "
                "documents are the built-in AWSFIS-Run-* and AWS-RunShellScript).",
            )
        if name in self.documents or name.startswith(("AWS-", "AWSFIS-", "Amazon")):
            raise AwsError("DocumentAlreadyExists", "The specified document already exists.")
        try:
            book = parse(load_content(content, fmt))
        except RunbookError as exc:
            raise AwsError("InvalidDocumentContent", str(exc)) from None
        doc = UserDocument(name, content, fmt, self.lab.clock.now(), book, self.lab.config.account_id)
        self.documents[name] = doc
        return doc

    def document(self, name: str) -> UserDocument:
        short = name.rsplit("document/", 1)[-1]
        doc = self.documents.get(short)
        if doc is None:
            raise AwsError("InvalidDocument", f"Document with name {short} does not exist.")
        return doc

    def delete_document(self, name: str) -> None:
        self.document(name)
        del self.documents[name]

    # executions --------------------------------------------------------------------------------
    def start(
        self,
        document_name: str,
        parameters: dict[str, list[str]],
        caller_arn: str | None,
        execution_id: str | None = None,
    ) -> Execution:
        """Start an execution now; it runs as the document's assumeRole, else as the caller."""
        doc = self.document(document_name)
        execution_id = execution_id or str(uuid.uuid4())
        variables = self._variables(doc.runbook, parameters, execution_id)
        role = self._role(doc.runbook, variables, caller_arn)
        execution = Execution(
            execution_id,
            doc.name,
            "1",
            {k: v for k, v in parameters.items()},
            caller_arn or f"arn:aws:iam::{self.lab.config.account_id}:root",
            self.lab.clock.now(),
        )
        self.executions[execution_id] = execution
        ctx = StepContext(self.lab, execution_id, role)
        task = asyncio.get_running_loop().create_task(
            runner.run(
                execution, doc.runbook, variables, act_for(ctx), now=self.lab.clock.now, time_scale=self.lab.clock.scale
            )
        )
        self._tasks[execution_id] = task
        task.add_done_callback(lambda t: self._ended(execution, t))
        return execution

    def _ended(self, execution: Execution, task: asyncio.Task[None]) -> None:
        self._tasks.pop(execution.execution_id, None)
        if not task.cancelled() and task.exception() is not None:  # a lab bug still ends the execution
            log.error("automation %s failed", execution.execution_id, exc_info=task.exception())
            execution.end("Failed", self.lab.clock.now(), f"internal failure: {task.exception()}")

    def _variables(self, book: Runbook, given: dict[str, list[str]], execution_id: str) -> dict[str, Any]:
        unknown = sorted(set(given) - set(book.parameters))
        if unknown:
            raise _bad_parameters(f"Parameter(s) {', '.join(unknown)} are not defined in the document.")
        out: dict[str, Any] = {
            "automation:EXECUTION_ID": execution_id,
            "global:REGION": self.lab.config.region,
            "global:ACCOUNT_ID": self.lab.config.account_id,
            "global:AWS_PARTITION": "aws",
        }
        for name, param in book.parameters.items():
            if name in given:
                out[name] = _typed(name, param.type, given[name])
            elif param.required:
                raise _bad_parameters(f"Parameter {name} is required by the document.")
            else:
                out[name] = param.default
        return out

    def assume_role(self, document_name: str, parameters: dict[str, list[str]]) -> str | None:
        """The role an execution of the document with these parameters would assume, if it names one."""
        book = self.document(document_name).runbook
        return self._role(book, self._variables(book, parameters, ""), None) if book.assume_role else None

    def _role(self, book: Runbook, variables: dict[str, Any], caller_arn: str | None) -> str | None:
        if not book.assume_role:
            return aws_call.role_arn_of(self.lab, caller_arn)
        try:
            arn = str(resolve(book.assume_role, variables))
        except InterpolationError as exc:
            raise _bad_parameters(f"assumeRole: {exc}") from None
        if not arn:
            return aws_call.role_arn_of(self.lab, caller_arn)
        if self.lab.iam.role_by_arn(arn) is None:
            raise _bad_parameters(f"The assume role {arn} does not exist.")
        return arn

    def get(self, execution_id: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise AwsError(
                "AutomationExecutionNotFoundException", f"Automation execution {execution_id} does not exist."
            )
        return execution

    def describe(self, filters: list[dict[str, Any]]) -> list[Execution]:
        """Newest first, filtered by DocumentNamePrefix, ExecutionStatus and ExecutionId."""
        out = sorted(self.executions.values(), key=lambda e: e.started, reverse=True)
        for f in filters:
            key, values = f["Key"], f["Values"]
            if key == "DocumentNamePrefix":
                out = [e for e in out if any(e.document_name.startswith(v) for v in values)]
            elif key == "ExecutionStatus":
                out = [e for e in out if e.status in values]
            elif key == "ExecutionId":
                out = [e for e in out if e.execution_id in values]
            else:
                raise AwsError(
                    "InvalidFilterKey",
                    f"The lab filters executions by DocumentNamePrefix, ExecutionStatus and ExecutionId, not {key}.",
                )
        return out

    async def stop(self, execution_id: str) -> None:
        """StopAutomationExecution: Cancelling, then Cancelled once the running step has undone
        what it started. An execution that has ended is refused, as SSM does."""
        execution = self.get(execution_id)
        if execution.status in TERMINAL:
            raise AwsError(
                "InvalidAutomationStatusUpdateException",
                f"Automation execution {execution_id} has already ended ({execution.status}).",
            )
        await self.cancel(execution_id)

    async def cancel(self, execution_id: str) -> None:
        """Idempotent stop (FIS's revert, the lab stopping): nothing if it has ended or is unknown."""
        execution = self.executions.get(execution_id)
        task = self._tasks.get(execution_id)
        if execution is None or task is None or execution.status in TERMINAL:
            return
        execution.status = "Cancelling"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if execution.status not in TERMINAL:  # cancelled before its first step began
            execution.end("Cancelled", self.lab.clock.now())

    async def close(self) -> None:
        """Cancel every running execution (the lab is stopping)."""
        for execution_id in list(self._tasks):
            await self.cancel(execution_id)


def _typed(name: str, kind: str, values: list[str]) -> Any:
    """A parameter's value as its type (the API passes every value as a list of strings)."""
    try:
        if kind == "StringList":
            return list(values)
        if kind == "Integer":
            return int(values[0])
        if kind == "Boolean":
            return values[0].lower() == "true"
        if kind in ("StringMap", "MapList"):
            return json.loads(values[0])
    except (ValueError, IndexError):
        raise _bad_parameters(f"Parameter {name} is not a valid {kind}.") from None
    return ",".join(values)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _bad_parameters(message: str) -> AwsError:
    return AwsError("InvalidAutomationExecutionParametersException", message)
