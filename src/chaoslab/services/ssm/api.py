"""SSM operations (json 1.1): Run Command, the managed-instance listing and Parameter Store;
documents and Automation are in `api_automation.py`."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.ssm import api_automation as automation_api
from chaoslab.types import ApiHandler


def _backend(ctx: RequestContext) -> Any:
    ssm = getattr(ctx.lab, "ssm", None)
    if ssm is None:
        raise AwsError("InternalServerError", "This lab runs without SSM.", 500)
    return ssm


PAGES = Paginator(
    token="NextToken",
    size="MaxResults",
    default=50,
    bad_token=lambda _: AwsError("InvalidNextToken", "The specified token isn't valid."),
)


async def send_command(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("Targets") and not params.get("InstanceIds"):
        raise AwsError("InvalidParameters", "chaoslab runs commands on InstanceIds only, not on Targets.")
    cmd = await _backend(ctx).send_command(
        params["DocumentName"],
        list(params.get("InstanceIds") or []),
        dict(params.get("Parameters") or {}),
        comment=params.get("Comment", ""),
        timeout_seconds=int(params.get("TimeoutSeconds") or 3600),
    )
    return {"Command": cmd.to_api()}


def list_commands(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = _backend(ctx).list_commands(params.get("CommandId"), params.get("InstanceId"), params.get("Filters"))
    page, more = PAGES.page(found, params)
    return {"Commands": [c.to_api() for c in page], **more}


def list_command_invocations(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    ssm = _backend(ctx)
    commands = ssm.list_commands(params.get("CommandId"), params.get("InstanceId"), params.get("Filters"))
    rows = [
        (c, inv)
        for c in commands
        for inv in c.invocations.values()
        if not params.get("InstanceId") or inv.instance_id == params["InstanceId"]
    ]
    page, more = PAGES.page(rows, params)
    details = bool(params.get("Details"))
    return {"CommandInvocations": [c.invocation_to_api(inv, details) for c, inv in page], **more}


def get_command_invocation(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    cmd, inv = _backend(ctx).invocation(params["CommandId"], params["InstanceId"])
    if params.get("PluginName") not in (None, "", "aws:runShellScript"):
        raise AwsError("InvalidPluginName", f"Plugin {params['PluginName']} is not a step of {cmd.document_name}.")
    return cmd.get_invocation_api(inv)


async def cancel_command(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _backend(ctx).cancel_command(params["CommandId"], list(params.get("InstanceIds") or []) or None)
    return {}


def describe_instance_information(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    wanted: set[str] = set()
    for f in params.get("InstanceInformationFilterList") or []:
        if f["key"] != "InstanceIds":
            raise AwsError("InvalidInstanceInformationFilterValue", f"Filter key {f['key']} is not supported.")
        wanted.update(f["valueSet"])
    for f in params.get("Filters") or []:
        if f["Key"] not in ("InstanceIds", "PingStatus"):
            raise AwsError("InvalidFilterKey", f"Filter key {f['Key']} is not supported.")
    rows = [r for r in _backend(ctx).instance_information() if not wanted or r["InstanceId"] in wanted]
    for f in params.get("Filters") or []:
        field = "InstanceId" if f["Key"] == "InstanceIds" else "PingStatus"
        rows = [r for r in rows if r[field] in f["Values"]]
    page, more = PAGES.page(rows, params)
    return {"InstanceInformationList": page, **more}


def put_parameter(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    version = _backend(ctx).parameters.put(
        params["Name"], params["Value"], params.get("Type"), bool(params.get("Overwrite")), params.get("Description")
    )
    return {"Version": version, "Tier": "Standard"}


def get_parameter(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    store = _backend(ctx).parameters
    return {"Parameter": store.record(store.get(params["Name"]))}


def get_parameters(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """Found ones in Parameters, the rest named in InvalidParameters (no error), as SSM answers."""
    store = _backend(ctx).parameters
    found, missing = [], []
    for name in params["Names"]:
        try:
            found.append(store.record(store.get(name)))
        except AwsError:
            missing.append(name)
    return {"Parameters": found, "InvalidParameters": missing}


def delete_parameter(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    _backend(ctx).parameters.delete(params["Name"])
    return {}


OPERATIONS: dict[str, ApiHandler] = {
    "PutParameter": put_parameter,
    "GetParameter": get_parameter,
    "GetParameters": get_parameters,
    "DeleteParameter": delete_parameter,
    "SendCommand": send_command,
    "ListCommands": list_commands,
    "ListCommandInvocations": list_command_invocations,
    "GetCommandInvocation": get_command_invocation,
    "CancelCommand": cancel_command,
    "DescribeInstanceInformation": describe_instance_information,
    **automation_api.OPERATIONS,
}
