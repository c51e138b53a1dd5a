"""What a container definition puts in its program's environment besides `environment`: its
`environmentFiles` and its `secrets`, each failing the task's start with ECS's words when it
cannot be read.

S3 is not in the lab, so an environment file is a file on this host: `file:///path` or an
absolute path (an `arn:aws:s3:::` value fails the start, saying so). `secrets` come from the
lab's SSM Parameter Store (a name or a parameter ARN); Secrets Manager is not in the lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoslab.errors import AwsError


class StartFailure(Exception):
    """A task that cannot start (unknown image, unreadable environment file, missing secret): it
    stops with TaskFailedToStart and this as its reason."""


def environment_files(container: dict[str, Any]) -> dict[str, str]:
    """Every file's VAR=VALUE lines in order (a later file wins); `#` lines and blanks skipped."""
    env: dict[str, str] = {}
    for ref in container.get("environmentFiles") or []:
        env.update(parse_env_file(_read(ref.get("value", ""))))
    return env


def parse_env_file(text: str) -> dict[str, str]:
    """ECS's format: one VAR=VALUE a line, no quoting or expansion; a line without `=` is skipped."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        env[name.strip()] = value
    return env


def _read(value: str) -> str:
    if value.startswith("arn:aws:s3:"):
        raise StartFailure(
            f"ResourceInitializationError: failed to download env files: {value}: S3 is not in the lab; "
            "use file:///absolute/path for an environment file on this host"
        )
    path = Path(value.removeprefix("file://"))
    if not path.is_absolute():
        raise StartFailure(f"ResourceInitializationError: environment file {value!r} is not an absolute path")
    try:
        return path.read_text()
    except OSError as exc:
        raise StartFailure(f"ResourceInitializationError: failed to read env file {value}: {exc.strerror}") from None


def secrets(container: dict[str, Any], parameters: Any) -> dict[str, str]:
    """`secrets[].valueFrom` read from Parameter Store (`parameters`: the SSM backend's store)."""
    env: dict[str, str] = {}
    for secret in container.get("secrets") or []:
        source = secret.get("valueFrom", "")
        if source.startswith("arn:aws:secretsmanager:"):
            raise StartFailure(
                f"ResourceInitializationError: unable to pull secrets: {source}: Secrets Manager is not in "
                "the lab; store the value as an SSM parameter"
            )
        if parameters is None:
            raise StartFailure("ResourceInitializationError: unable to pull secrets: this lab runs without SSM")
        try:
            env[secret["name"]] = parameters.get(source).value
        except AwsError as exc:
            raise StartFailure(
                f"ResourceInitializationError: unable to pull secrets or registry auth: retrieve secret from "
                f"ssm: {exc.code}: invalid parameters: {source}"
            ) from None
    return env
