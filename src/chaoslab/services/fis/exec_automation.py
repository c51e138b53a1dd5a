"""FIS's aws:ssm:start-automation-execution: the runbook runs as a real lab Automation execution
(`services/ssm/automation/`), started as the experiment's role.

Permissions are checked up front: ssm:StartAutomationExecution on the document,
ssm:GetAutomationExecution and ssm:StopAutomationExecution (an execution FIS could not stop must
not start), and iam:PassRole on the document's assumeRole when it has one. The action ends with
the execution: Success completes it, any other end fails it. At `maxDuration` the action fails
and, as when the experiment is stopped, the engine's revert stops the execution
(`faults.ssm_automation`)."""

from __future__ import annotations

import asyncio

from chaoslab.errors import AwsError
from chaoslab.faults.ssm_automation import SsmAutomation
from chaoslab.services.fis.durations import parse_duration
from chaoslab.services.fis.exec_stress import document_name, document_parameters
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets
from chaoslab.services.fis.selection import Resource


async def ssm_start_automation_execution(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
    ssm = getattr(ctx.lab, "ssm", None)
    if ssm is None:
        raise ActionFailure("ConfigurationFailure", "this lab has no SSM service")
    ctx.authorize("ssm:StartAutomationExecution", Resource(params["documentArn"], "aws:ssm:document", {}))
    ctx.authorize("ssm:GetAutomationExecution")
    ctx.authorize("ssm:StopAutomationExecution")
    try:
        parameters = document_parameters(params.get("documentParameters"))
    except (ValueError, AttributeError) as exc:
        raise ActionFailure("ConfigurationFailure", f"documentParameters is not a JSON object: {exc}") from None
    name = document_name(params["documentArn"])
    try:
        role = ssm.automation.assume_role(name, parameters)
        if role is not None:
            ctx.authorize("iam:PassRole", Resource(role, "aws:iam:role", {}))
        fault = SsmAutomation(ctx.lab, name, parameters, ctx.role_arn)
        await ctx.apply(fault)
    except AwsError as exc:  # the document or a parameter is wrong
        raise ActionFailure("ConfigurationFailure", f"{exc.code}: {exc.message}") from None
    ctx.applied("ssm.start_automation_execution", name)
    limit = parse_duration(params["maxDuration"]) * ctx.time_scale if params.get("maxDuration") else None
    try:
        await asyncio.wait_for(fault.execution.finished.wait(), limit)
    except TimeoutError:
        raise ActionFailure(
            "DependentServiceFailure",
            f"Automation execution {fault.execution_id} did not end within maxDuration {params['maxDuration']}.",
        ) from None
    if fault.execution.status != "Success":
        raise ActionFailure(
            "DependentServiceFailure",
            f"Automation execution {fault.execution_id} ended {fault.execution.status}: {fault.execution.failure}",
        )


EXECUTORS: dict[str, Executor] = {"ssm.start_automation_execution": ssm_start_automation_execution}
