"""`aws:fis:inject-api-{internal,throttle,unavailable}-error`: calls the target roles make to one
service's API get errors for the action's duration.

The fault is a gateway request hook: it lives only in the lab process, so a crash removes it
with nothing to journal; a stop or the end of the duration removes it explicitly.
"""

from __future__ import annotations

import random
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets

# (code, HTTP status) each kind answers with, per service, as those APIs spell them.
_ERRORS: dict[str, dict[str, tuple[str, int]]] = {
    "internal": {"ec2": ("InternalError", 500), "kinesis": ("InternalFailure", 500)},
    "throttle": {"ec2": ("RequestLimitExceeded", 503), "kinesis": ("LimitExceededException", 400)},
    "unavailable": {"ec2": ("Unavailable", 503), "kinesis": ("ServiceUnavailable", 503)},
}
_PERMISSIONS = {"internal": "fis:InjectApiInternalError", "throttle": "fis:InjectApiThrottleError",
                "unavailable": "fis:InjectApiUnavailableError"}


def role_of(principal_arn: str) -> str | None:
    """The role name behind an assumed-role session or a role ARN; None for users."""
    if ":assumed-role/" in principal_arn:
        return principal_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    if ":role/" in principal_arn:
        return principal_arn.rsplit("/", 1)[-1]
    return None


def make_hook(kind: str, service: str, operations: set[str] | None, roles: set[str], percentage: int,
              rng: random.Random) -> Any:
    """The gateway hook: an AwsError for matching calls, None (let it through) otherwise."""
    code, status = _ERRORS[kind][service]

    def hook(ctx: Any, svc: str, operation: str) -> AwsError | None:
        if svc != service or (operations and operation not in operations) or role_of(ctx.principal_arn) not in roles:
            return None
        if rng.random() * 100 >= percentage:
            return None
        return AwsError(code, f"{operation} failed: fault injected by AWS FIS ({kind} error).", status, sender=False)

    return hook


def inject_api_error(kind: str) -> Executor:
    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        gateway = getattr(ctx.lab, "gateway", None)
        if gateway is None:
            raise ActionFailure("ConfigurationFailure", "The lab has no API gateway to inject errors into.")
        roles = targets["Roles"]
        for role in roles:
            ctx.authorize(_PERMISSIONS[kind], role)
        names = {r.arn.rsplit("/", 1)[-1] for r in roles}
        operations = {o for o in params["operations"].split(",") if o} or None
        hook = make_hook(kind, params["service"], operations, names, int(params["percentage"]), random.Random())
        remove = gateway.add_request_hook(hook)
        for name in sorted(names):
            ctx.applied(f"fis.inject_api_{kind}_error", name)
        try:
            await ctx.sleep(params["duration"])
        finally:
            remove()
            for name in sorted(names):
                ctx.lab.events.emit("fault.reverted", fault=f"fis.inject_api_{kind}_error", target=name,
                                    experiment=ctx.experiment_id, action=ctx.action_name)

    return run
