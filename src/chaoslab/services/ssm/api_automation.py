"""SSM operations for documents and Automation: CreateDocument, DescribeDocument, GetDocument,
DeleteDocument, StartAutomationExecution, GetAutomationExecution, DescribeAutomationExecutions,
DescribeAutomationStepExecutions and StopAutomationExecution."""

from __future__ import annotations

import json
from typing import Any

from chaoslab.aws.context import RequestContext
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.ssm.documents import DOCUMENTS
from chaoslab.types import ApiHandler

PAGES = Paginator(
    token="NextToken",
    size="MaxResults",
    default=50,
    bad_token=lambda _: AwsError("InvalidNextToken", "The specified token isn't valid."),
)


def _automation(ctx: RequestContext) -> Any:
    ssm = getattr(ctx.lab, "ssm", None)
    if ssm is None:
        raise AwsError("InternalServerError", "This lab runs without SSM.", 500)
    return ssm.automation


def create_document(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    doc = _automation(ctx).create_document(
        params["Name"], params["Content"], params.get("DocumentType", "Command"), params.get("DocumentFormat", "JSON")
    )
    return {"DocumentDescription": doc.description()}


def _builtin(name: str) -> dict[str, Any] | None:
    """A built-in Run Command document as DescribeDocument shows it, or None."""
    doc = DOCUMENTS.get(name.rsplit("document/", 1)[-1])
    if doc is None:
        return None
    return {
        "Name": doc.name,
        "Owner": "Amazon",
        "Status": "Active",
        "DocumentVersion": "1",
        "DocumentType": "Command",
        "SchemaVersion": "2.2",
        "LatestVersion": "1",
        "DefaultVersion": "1",
        "DocumentFormat": "JSON",
        "PlatformTypes": ["Linux"],
        "Parameters": [
            {"Name": n, "Type": "String", **({"DefaultValue": d} if d is not None else {})}
            for n, d in doc.defaults.items()
        ],
    }


def describe_document(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    builtin = _builtin(params["Name"])
    return {"Document": builtin if builtin is not None else _automation(ctx).document(params["Name"]).description()}


def get_document(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """A user document's content as created; a built-in one's parameters (the lab runs its steps
    itself, so that is all its content says)."""
    builtin = _builtin(params["Name"])
    if builtin is not None:
        content = {
            "schemaVersion": "2.2",
            "parameters": {p["Name"]: {"type": "String", **p} for p in builtin["Parameters"]},
        }
        out = {k: builtin[k] for k in ("Name", "DocumentVersion", "Status", "DocumentType", "DocumentFormat")}
        return {**out, "Content": json.dumps(content)}
    doc = _automation(ctx).document(params["Name"])
    return {
        "Name": doc.name,
        "CreatedDate": doc.created,
        "DocumentVersion": "1",
        "Status": "Active",
        "Content": doc.content,
        "DocumentType": "Automation",
        "DocumentFormat": doc.format,
    }


def delete_document(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _automation(ctx).delete_document(params["Name"])
    return {}


def start_automation_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("Targets") or params.get("TargetMaps") or params.get("TargetLocations"):
        raise AwsError("InvalidAutomationExecutionParametersException", "The lab runs Automation without Targets.")
    if params.get("Mode", "Auto") != "Auto":
        raise AwsError("InvalidAutomationExecutionParametersException", "The lab runs Automation in Auto mode only.")
    execution = _automation(ctx).start(params["DocumentName"], dict(params.get("Parameters") or {}), ctx.principal_arn)
    return {"AutomationExecutionId": execution.execution_id}


def get_automation_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"AutomationExecution": _automation(ctx).get(params["AutomationExecutionId"]).to_api()}


def describe_automation_executions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    page, more = PAGES.page(_automation(ctx).describe(list(params.get("Filters") or [])), params)
    return {"AutomationExecutionMetadataList": [e.metadata() for e in page], **more}


def describe_automation_step_executions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    steps = list(_automation(ctx).get(params["AutomationExecutionId"]).steps)
    for f in params.get("Filters") or []:
        field = {"StepName": "name", "Action": "action", "StepExecutionStatus": "status", "StepExecutionId": "id"}.get(
            f["Key"]
        )
        if field is None:
            raise AwsError(
                "InvalidFilterKey",
                f"The lab filters steps by StepName, Action, StepExecutionStatus and StepExecutionId, not {f['Key']}.",
            )
        values = f["Values"]
        steps = [
            s
            for s in steps
            if {"name": s.step.name, "action": s.step.action, "status": s.status, "id": s.step_id}[field] in values
        ]
    if params.get("ReverseOrder"):
        steps.reverse()
    page, more = PAGES.page(steps, params)
    return {"StepExecutions": [s.to_api() for s in page], **more}


async def stop_automation_execution(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("Type", "Cancel") != "Cancel":
        raise AwsError("InvalidAutomationStatusUpdateException", "The lab stops executions with Type Cancel only.")
    await _automation(ctx).stop(params["AutomationExecutionId"])
    return {}


OPERATIONS: dict[str, ApiHandler] = {
    "CreateDocument": create_document,
    "DescribeDocument": describe_document,
    "GetDocument": get_document,
    "DeleteDocument": delete_document,
    "StartAutomationExecution": start_automation_execution,
    "GetAutomationExecution": get_automation_execution,
    "DescribeAutomationExecutions": describe_automation_executions,
    "DescribeAutomationStepExecutions": describe_automation_step_executions,
    "StopAutomationExecution": stop_automation_execution,
}
