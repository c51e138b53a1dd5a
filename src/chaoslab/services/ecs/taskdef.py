"""Task definitions: ECS's JSON, validated the way ECS validates it, kept per family:revision."""

from __future__ import annotations

import copy
import re
from typing import Any

from chaoslab.errors import AwsError

_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_NETWORK_MODES = ("awsvpc", "bridge", "host", "none")
_HEALTH_LIMITS = {"interval": (5, 300, 30), "timeout": (2, 60, 5), "retries": (1, 10, 3), "startPeriod": (0, 300, 0)}


def _invalid(message: str) -> AwsError:
    return AwsError("ClientException", message)


def validate_task_definition(td: dict[str, Any]) -> None:
    """Raise ClientException naming the field and the allowed values, as ECS does."""
    family = td.get("family")
    if not family or not _FAMILY.match(str(family)):
        raise _invalid(
            "Family contains invalid characters or is empty: up to 255 letters (uppercase and "
            "lowercase), numbers, hyphens, and underscores are allowed."
        )
    mode = td.get("networkMode", "awsvpc")
    if mode not in _NETWORK_MODES:
        raise _invalid(f"networkMode must be one of {', '.join(_NETWORK_MODES)}; got {mode!r}.")
    containers = td.get("containerDefinitions")
    if not containers:
        raise _invalid("Container list cannot be empty.")
    names = set()
    for i, c in enumerate(containers):
        where = f"containerDefinitions[{i}]"
        if not c.get("name"):
            raise _invalid(f"{where}.name is required.")
        if not _FAMILY.match(str(c["name"])):
            raise _invalid(
                f"{where}.name: up to 255 letters (uppercase and lowercase), numbers, hyphens, and "
                "underscores are allowed."
            )
        if c["name"] in names:
            raise _invalid(f"Container names must be unique within a task definition: {c['name']!r} repeats.")
        names.add(c["name"])
        if not c.get("image"):
            raise _invalid(f"Container.image should not be null or empty ({where}).")
        for j, pm in enumerate(c.get("portMappings") or []):
            port = pm.get("containerPort")
            if not isinstance(port, int) or not 0 < port < 65536:
                raise _invalid(f"{where}.portMappings[{j}].containerPort must be an integer from 1 to 65535.")
            if mode == "awsvpc" and pm.get("hostPort") not in (None, port):
                raise _invalid(
                    f"When networkMode=awsvpc, the host ports and container ports in port mappings "
                    f"must match ({where}.portMappings[{j}])."
                )
        hc = c.get("healthCheck")
        if hc is not None:
            cmd = hc.get("command") or []
            if not cmd or cmd[0] not in ("CMD", "CMD-SHELL", "NONE"):
                raise _invalid(f"{where}.healthCheck.command must start with CMD or CMD-SHELL.")
            for key, (lo, hi, _) in _HEALTH_LIMITS.items():
                if key in hc and not lo <= int(hc[key]) <= hi:
                    raise _invalid(f"{where}.healthCheck.{key} must be between {lo} and {hi}; got {hc[key]}.")
        st = c.get("stopTimeout")
        if st is not None and not 2 <= int(st) <= 120:
            raise _invalid(f"{where}.stopTimeout must be between 2 and 120 seconds; got {st}.")
    if not any(c.get("essential", True) for c in containers):
        raise _invalid("A task definition must have at least one essential container.")


def health_settings(hc: dict[str, Any]) -> dict[str, int]:
    return {k: int(hc.get(k, default)) for k, (_, _, default) in _HEALTH_LIMITS.items()}


class TaskDefinitions:
    """family -> revisions; ARNs `arn:aws:ecs:<region>:<acct>:task-definition/<family>:<rev>`."""

    def __init__(self, region: str, account: str) -> None:
        self.region, self.account = region, account
        self.families: dict[str, list[dict[str, Any]]] = {}

    def register(self, params: dict[str, Any]) -> dict[str, Any]:
        validate_task_definition(params)
        td = copy.deepcopy({k: v for k, v in params.items() if k != "tags"})
        td.setdefault("networkMode", "awsvpc")
        for c in td["containerDefinitions"]:
            c.setdefault("essential", True)
            c.setdefault("portMappings", [])
            c.setdefault("environment", [])
            for pm in c["portMappings"]:
                pm.setdefault("protocol", "tcp")
                if td["networkMode"] == "awsvpc":
                    pm.setdefault("hostPort", pm["containerPort"])
        revisions = self.families.setdefault(td["family"], [])
        td["revision"] = len(revisions) + 1
        td["taskDefinitionArn"] = (
            f"arn:aws:ecs:{self.region}:{self.account}:task-definition/{td['family']}:{td['revision']}"
        )
        td["status"] = "ACTIVE"
        td.setdefault("requiresCompatibilities", ["FARGATE"] if td["networkMode"] == "awsvpc" else ["EC2"])
        td["compatibilities"] = ["EC2", "FARGATE"]
        revisions.append(td)
        return td

    def get(self, ref: str) -> dict[str, Any]:
        """`family`, `family:rev` or a full ARN; bare family = latest ACTIVE revision."""
        name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
        family, _, rev = name.partition(":")
        revisions = self.families.get(family)
        if not revisions:
            raise AwsError("ClientException", f"Unable to describe task definition. {ref} does not exist.")
        if rev:
            if not rev.isdigit() or not 1 <= int(rev) <= len(revisions):
                raise AwsError("ClientException", f"Unable to describe task definition. {ref} does not exist.")
            return revisions[int(rev) - 1]
        active = [r for r in revisions if r["status"] == "ACTIVE"]
        if not active:
            raise AwsError("ClientException", f"Unable to describe task definition. {ref} has no ACTIVE revision.")
        return active[-1]

    def deregister(self, ref: str) -> dict[str, Any]:
        td = self.get(ref)
        td["status"] = "INACTIVE"
        return td

    def arns(self, family_prefix: str | None = None, status: str = "ACTIVE") -> list[str]:
        return [
            td["taskDefinitionArn"]
            for fam, revs in sorted(self.families.items())
            if not family_prefix or fam.startswith(family_prefix)
            for td in revs
            if status == "ALL" or td["status"] == status
        ]
