"""Errors with two audiences: AWS API callers (AwsError, shaped by the wire layer) and lab users."""

from __future__ import annotations


class ChaoslabError(Exception):
    """A user-facing error: the CLI prints it (no traceback) and exits non-zero.

    `hint` says what to do about it; `path` names the place in the user's file, if any.
    """

    def __init__(self, message: str, *, hint: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        tail = f"\n  hint: {self.hint}" if self.hint else ""
        return f"{where}{self.message}{tail}"


class AwsError(Exception):
    """An error an AWS API operation answers with.

    `code` is the error code botocore maps to `client.exceptions.<X>`: the modeled `error.code`
    for query services (e.g. `LoadBalancerNotFound`), the shape name for JSON services
    (e.g. `ClusterNotFoundException`). `status` is the HTTP status AWS uses for it;
    `sender` tells query/XML callers whether the fault is the client's.
    """

    def __init__(self, code: str, message: str, status: int = 400, sender: bool = True) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender


def validation_error(message: str) -> AwsError:
    """The most common client mistake, for services whose code is `ValidationError`/`ValidationException`."""
    return AwsError("ValidationException", message, 400)
