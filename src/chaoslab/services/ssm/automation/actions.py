"""What each step action does in the lab, given its resolved inputs; each returns the result its
outputs select from. A step that is cancelled (StopAutomationExecution, its timeout) undoes what
it started: a Run Command it sent is cancelled, a script's process killed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import isodate

from chaoslab.errors import AwsError
from chaoslab.services.ssm.automation import aws_call
from chaoslab.services.ssm.automation.runbook import Step
from chaoslab.services.ssm.automation.runner import StepFailure
from chaoslab.services.ssm.automation.script import run_script


@dataclass(frozen=True)
class StepContext:
    """What the actions of one execution may use."""

    lab: Any
    execution_id: str
    role_arn: str | None  # whose permissions the steps have; None: the root caller's


async def sleep(ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
    """Duration (ISO 8601) or Timestamp (ISO 8601 instant), on the lab clock."""
    if "Duration" in inputs:
        try:
            seconds = isodate.parse_duration(str(inputs["Duration"])).total_seconds()
        except (isodate.ISO8601Error, ValueError):
            raise StepFailure(f"Duration {inputs['Duration']!r} is not an ISO 8601 duration.") from None
    elif "Timestamp" in inputs:
        try:
            at = datetime.fromisoformat(str(inputs["Timestamp"]).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise StepFailure(f"Timestamp {inputs['Timestamp']!r} is not an ISO 8601 time.") from None
        seconds = at - ctx.lab.clock.now()
    else:
        raise StepFailure("aws:sleep needs Duration or Timestamp.")
    await ctx.lab.clock.sleep(seconds)
    return {}


async def execute_aws_api(ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
    params = {k: v for k, v in inputs.items() if k not in ("Service", "Api")}
    if "Service" not in inputs or "Api" not in inputs:
        raise StepFailure("aws:executeAwsApi needs Service and Api.")
    return await aws_call.call(ctx.lab, ctx.role_arn, str(inputs["Service"]), str(inputs["Api"]), params)


async def run_command(ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
    """SendCommand through the lab's Run Command, then wait for it; cancelled with the step."""
    if inputs.get("Targets"):
        raise StepFailure("The lab runs aws:runCommand on InstanceIds, not Targets.")
    ids = [str(i) for i in inputs.get("InstanceIds") or []]
    name = str(inputs.get("DocumentName", ""))
    region, account = ctx.lab.config.region, ctx.lab.config.account_id
    aws_call.authorize(ctx.lab, ctx.role_arn, "ssm:SendCommand", f"arn:aws:ssm:{region}::document/{name}")
    for iid in ids:
        aws_call.authorize(ctx.lab, ctx.role_arn, "ssm:SendCommand", f"arn:aws:ec2:{region}:{account}:instance/{iid}")
    raw = inputs.get("Parameters") or {}
    params = {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in raw.items()}
    try:
        cmd = await ctx.lab.ssm.send_command(
            name,
            ids,
            params,
            comment=f"Automation execution {ctx.execution_id}",
            timeout_seconds=int(inputs.get("TimeoutSeconds") or 3600),
        )
    except AwsError as exc:
        raise StepFailure(f"SendCommand: {exc.code}: {exc.message}") from None
    try:
        await cmd.finished.wait()
    except asyncio.CancelledError:
        await asyncio.shield(ctx.lab.ssm.cancel_and_revert(cmd.command_id))
        raise
    first = cmd.invocations[ids[0]]
    result = {"CommandId": cmd.command_id, "Status": cmd.status, "ResponseCode": first.response_code}
    if cmd.status != "Success":
        raise StepFailure(f"Command {cmd.command_id} ended {cmd.status}: {cmd.failure_reason()}")
    return {**result, "Output": first.stdout}


async def execute_script(ctx: StepContext, inputs: dict[str, Any]) -> dict[str, Any]:
    for key in ("Runtime", "Handler", "Script"):
        if key not in inputs:
            raise StepFailure(f"aws:executeScript needs {key}.")
    env = {**aws_call.session_environment(ctx.lab, ctx.role_arn), "AUTOMATION_EXECUTION_ID": ctx.execution_id}
    return await run_script(
        str(inputs["Runtime"]), str(inputs["Handler"]), str(inputs["Script"]), inputs.get("InputPayload") or {}, env
    )


ACTIONS: dict[str, Callable[[StepContext, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "aws:sleep": sleep,
    "aws:executeAwsApi": execute_aws_api,
    "aws:runCommand": run_command,
    "aws:executeScript": execute_script,
}


def act_for(ctx: StepContext) -> Callable[[Step, dict[str, Any]], Awaitable[dict[str, Any]]]:
    """The runner's `Act` for one execution."""

    async def act(step: Step, inputs: dict[str, Any]) -> dict[str, Any]:
        return await ACTIONS[step.action](ctx, inputs)

    return act
