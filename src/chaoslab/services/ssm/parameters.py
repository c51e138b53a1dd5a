"""Parameter Store, the part task definitions' `secrets` and user code read: String, StringList
and SecureString parameters with versions. The lab does not encrypt: a SecureString's value is
kept and returned as given (WithDecryption changes nothing)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.errors import AwsError

TYPES = ("String", "StringList", "SecureString")
MAX_VALUE = 4096  # standard tier


@dataclass
class Parameter:
    name: str
    type: str
    value: str
    version: int = 1
    description: str | None = None
    modified: float = field(default_factory=time.time)


class Parameters:
    """The account's parameters, by name (`/app/db-password`, or a name without slashes)."""

    def __init__(self, region: str, account: str) -> None:
        self.region, self.account = region, account
        self.by_name: dict[str, Parameter] = {}

    def put(self, name: str, value: str, type_: str | None, overwrite: bool, description: str | None) -> int:
        """The new version; ParameterAlreadyExists unless `overwrite`, as SSM answers."""
        if len(value) > MAX_VALUE:
            raise AwsError("ValidationException", f"Value exceeds the standard tier limit of {MAX_VALUE} characters.")
        old = self.by_name.get(name)
        if old is not None and not overwrite:
            raise AwsError(
                "ParameterAlreadyExists",
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            )
        kind = type_ or (old.type if old else "String")
        if kind not in TYPES:
            raise AwsError("ValidationException", f"Type must be one of {', '.join(TYPES)}")
        version = old.version + 1 if old else 1
        self.by_name[name] = Parameter(name, kind, value, version, description)
        return version

    def get(self, name_or_arn: str) -> Parameter:
        """By name or ARN (`arn:aws:ssm:<region>:<account>:parameter/<name>`), as ECS's valueFrom takes it."""
        name = self.name_of(name_or_arn)
        found = self.by_name.get(name)
        if found is None:
            raise AwsError("ParameterNotFound", f"Parameter {name_or_arn} not found.")
        return found

    def delete(self, name: str) -> None:
        self.get(name)
        del self.by_name[self.name_of(name)]

    @staticmethod
    def name_of(name_or_arn: str) -> str:
        if not name_or_arn.startswith("arn:"):
            return name_or_arn
        name = name_or_arn.split(":parameter", 1)[-1]
        return name if name.count("/") > 1 else name.lstrip("/")

    def arn(self, name: str) -> str:
        return f"arn:aws:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"

    def record(self, p: Parameter) -> dict[str, Any]:
        return {
            "Name": p.name,
            "Type": p.type,
            "Value": p.value,
            "Version": p.version,
            "LastModifiedDate": datetime.fromtimestamp(p.modified, UTC),
            "ARN": self.arn(p.name),
            "DataType": "text",
        }
