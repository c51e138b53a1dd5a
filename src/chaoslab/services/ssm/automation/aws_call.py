"""`aws:executeAwsApi`: one call to the lab's own API, made in-process through the gateway
(its request hooks included, so injected API faults hit it) as the execution's role.

The IAM check is the lab's policy evaluation of `<service>:<Api>` for the role on resource `*`
(the call's own resource ARNs are not derived); botocore validates the parameters as a client
would before the call. Without a role (the root caller) every call is allowed."""

from __future__ import annotations

import uuid
from typing import Any

from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from chaoslab.aws.context import RequestContext
from chaoslab.errors import AwsError
from chaoslab.services.ssm.automation.runner import StepFailure

_IAM_PREFIX = {"elbv2": "elasticloadbalancing"}  # where IAM's action prefix is not the package's name


def role_arn_of(lab: Any, principal_arn: str | None) -> str | None:
    """The IAM role ARN behind a principal (a role ARN, or an STS assumed-role session); None
    for the account's root and other non-role callers."""
    if not principal_arn:
        return None
    if ":role/" in principal_arn:
        return principal_arn
    if ":assumed-role/" in principal_arn:
        name = principal_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        role = lab.iam.get_role(name)
        return str(role.arn)
    return None


def authorize(lab: Any, role_arn: str | None, action: str, resource_arn: str = "*") -> None:
    """Fail the step unless the role may perform `action` (no role: the root caller may)."""
    if role_arn is None:
        return
    decision = lab.iam.authorize(role_arn, action, resource_arn)
    if not decision.allowed:
        raise StepFailure(decision.reason)


async def call(lab: Any, role_arn: str | None, service: str, api: str, params: dict[str, Any]) -> dict[str, Any]:
    """The API's response as a botocore-shaped dict; a refusal or an API error fails the step."""
    gateway = lab.gateway
    package = service.lower()
    if package not in gateway.catalog.packages:
        raise StepFailure(f"Service {service} is not one the lab emulates ({', '.join(gateway.catalog.packages)}).")
    model = gateway.catalog.model(package)
    operation = model.operation(api)
    if operation is None:
        raise StepFailure(f"{api} is not an operation of {service}.")
    authorize(lab, role_arn, f"{_IAM_PREFIX.get(package, package)}:{api}")
    try:
        validate_parameters(params, operation.input_shape)
    except ParamValidationError as exc:
        raise StepFailure(f"{service}.{api}: {exc}") from None
    ctx = RequestContext(
        lab,
        package,
        api,
        lab.config.region,
        lab.config.account_id,
        "",
        _session_arn(lab, role_arn),
        str(uuid.uuid4()),
        None,
        gateway.credentials,
        str(model.model.metadata.get("protocol", "")),
    )
    try:
        output: dict[str, Any] = await gateway.invoke(ctx, params)
    except AwsError as exc:
        raise StepFailure(f"An error occurred ({exc.code}) when calling the {api} operation: {exc.message}") from None
    return output


def _session_arn(lab: Any, role_arn: str | None) -> str:
    if role_arn is None:
        return f"arn:aws:iam::{lab.config.account_id}:root"
    name = role_arn.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{lab.config.account_id}:assumed-role/{name}/Automation"


def session_environment(lab: Any, role_arn: str | None) -> dict[str, str]:
    """Temporary keys of the execution's role (the root caller's without one), as the
    environment variables AWS SDKs read, with the lab as their endpoint: what a script gets."""
    cred = lab.gateway.credentials.issue(_session_arn(lab, role_arn), lab.config.account_id, 3600)
    return {
        "AWS_ACCESS_KEY_ID": cred.access_key,
        "AWS_SECRET_ACCESS_KEY": cred.secret,
        "AWS_SESSION_TOKEN": cred.session_token or "",
        "AWS_ENDPOINT_URL": lab.gateway.endpoint_url,
        "AWS_DEFAULT_REGION": lab.config.region,
    }
