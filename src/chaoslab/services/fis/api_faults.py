"""`aws:fis:inject-api-{internal,throttle,unavailable}-error`: calls the target roles make to one
service's operations fail for the action's duration, with the error code and HTTP status that
service's protocol uses, through `chaoslab.faults.api_errors.ApiErrors` (a gateway request hook).
"""

from __future__ import annotations

from chaoslab.faults import api_errors
from chaoslab.services.fis.executors import ActionContext, ActionFailure, Executor, Targets

_PERMISSIONS = {
    "internal": "fis:InjectApiInternalError",
    "throttle": "fis:InjectApiThrottleError",
    "unavailable": "fis:InjectApiUnavailableError",
}


def inject_api_error(kind: str) -> Executor:
    async def run(ctx: ActionContext, targets: Targets, params: dict[str, str]) -> None:
        if getattr(ctx.lab, "gateway", None) is None:
            raise ActionFailure("ConfigurationFailure", "The lab has no API gateway to inject errors into.")
        roles = targets["Roles"]
        for role in roles:
            ctx.authorize(_PERMISSIONS[kind], role)
        operations = frozenset(o.strip() for o in params["operations"].split(",") if o.strip())
        rule = api_errors.ApiErrorRule(
            kind,
            params["service"],
            operations,
            float(params["percentage"]),
            frozenset(api_errors.role_name(r.arn) for r in roles),
            ctx.lab.config.account_id,
        )
        hook_id = f"{ctx.experiment_id}/{ctx.action_name}"
        await ctx.apply(api_errors.ApiErrors(ctx.lab, hook_id, rule, ",".join(r.arn for r in roles)))
        for role in roles:
            ctx.applied(f"fis.inject_api_{kind}_error", role.arn)
        await ctx.sleep(params["duration"])

    return run
