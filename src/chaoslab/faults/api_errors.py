"""FIS inject-api-* faults: calls a targeted IAM role makes to one service's operations fail at
a given percentage, with the error a real client would see, through a request hook on the lab's
AWS gateway. Other principals' calls never match.

`ApiErrors` installs the hook under a name. A hook lives only in the lab process, so a crash
removes it by itself; the undo record just names the hook, and reverting a name that is no
longer installed (or a lab that is gone) does nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults.base import Fault

KINDS = ("internal", "throttle", "unavailable")


def error_for(kind: str, protocol: str) -> AwsError:
    """The error each protocol family answers with, as botocore's retry logic knows them:
    EC2 says InternalError / RequestLimitExceeded / Unavailable, the query services
    InternalFailure / Throttling / ServiceUnavailable, the JSON ones …Exception for throttling."""
    if kind == "internal":
        code = "InternalError" if protocol == "ec2" else "InternalFailure"
        return AwsError(code, "We encountered an internal error. Please try again.", 500, sender=False)
    if kind == "throttle":
        if protocol == "ec2":
            return AwsError("RequestLimitExceeded", "Request limit exceeded.", 503, sender=True)
        code = "Throttling" if protocol == "query" else "ThrottlingException"
        return AwsError(code, "Rate exceeded", 400, sender=True)
    if kind == "unavailable":
        code = "Unavailable" if protocol == "ec2" else "ServiceUnavailable"
        return AwsError(code, "The service is unavailable. Please try again shortly.", 503, sender=False)
    raise ValueError(f"unknown API fault kind {kind}")


def role_name(arn: str) -> str:
    """Role name from a role ARN (path dropped) or an assumed-role session ARN."""
    resource = arn.split(":", 5)[-1]
    if resource.startswith("assumed-role/"):
        return resource.split("/")[1]
    return resource.rsplit("/", 1)[-1]


@dataclass
class ApiErrorRule:
    """Which calls fail: by these roles, to `service`, for `operations`, at `percentage` %."""

    kind: str
    service: str
    operations: frozenset[str]
    percentage: float
    roles: frozenset[str]  # role names
    account_id: str
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def matches(self, principal_arn: str, service: str, operation: str) -> bool:
        if service != self.service or operation not in self.operations:
            return False
        if ":assumed-role/" not in principal_arn and ":role/" not in principal_arn:
            return False
        return principal_arn.split(":")[4] == self.account_id and role_name(principal_arn) in self.roles

    def hook(self, ctx: Any, service: str, operation: str) -> AwsError | None:
        if self.matches(ctx.principal_arn, service, operation) and self.rng.random() * 100 < self.percentage:
            return error_for(self.kind, ctx.protocol)
        return None


class ApiErrors(Fault):
    """`rule`'s calls fail, through a gateway request hook named `hook_id`."""

    name = "api.errors"

    def __init__(self, lab: Any, hook_id: str, rule: ApiErrorRule, target: str) -> None:
        self.lab, self.hook_id, self.rule, self.target = lab, hook_id, rule, target

    async def arm(self) -> dict[str, Any]:
        return {"hook_id": self.hook_id, "target": self.target}

    async def go(self) -> None:
        self.lab.gateway.add_request_hook(self.rule.hook, key=self.hook_id)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        gateway = getattr(lab, "gateway", None)
        if gateway is not None:
            gateway.remove_request_hook(record["hook_id"])
