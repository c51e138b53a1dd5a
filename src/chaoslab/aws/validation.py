"""The model's value constraints, checked on every parsed input before a handler sees it: string
and list lengths, number ranges, enums and patterns, as AWS's front end checks them and in its
words (`1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must
have length less than or equal to 255`).

Beyond the model: lists and maps without a modeled maximum hold at most `MAX_ITEMS` entries, and
for services that answer in XML a string may not hold a character XML 1.0 cannot carry (C0
controls other than tab, LF, CR; lone surrogates; U+FFFE/U+FFFF), since storing one would make
every later response that echoes it unparseable (docs/reliability.md, "Validation").
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from botocore.model import Shape

from chaoslab.aws import limits
from chaoslab.aws.models import Service, lower_first
from chaoslab.aws.patterns import matches
from chaoslab.aws.protocols.xmltext import XML_ILLEGAL
from chaoslab.errors import AwsError

_ECHO = 200  # characters of a value echoed in a message
_PATTERN_LIMIT = 64 * 1024  # longer strings are only length-checked (they are already far too long)

# The code each service answers a constraint violation with (what AWS answers; docs/aws-api.md).
CONSTRAINT_CODES = {
    "ec2": "InvalidParameterValue",
    "autoscaling": "ValidationError",
    "elbv2": "ValidationError",
    "rds": "InvalidParameterValue",
    "iam": "ValidationError",
    "sts": "ValidationError",
    "cloudwatch": "InvalidParameterValue",
    "logs": "InvalidParameterException",
    "ecs": "InvalidParameterException",
    "ssm": "ValidationException",
    "fis": "ValidationException",
}
# Constraints the lab relaxes on purpose, each a documented local extension: (service, shape) ->
# metadata that replaces the model's. 1 s health checks keep CI experiments fast (docs/alb.md).
LOCAL_EXTENSIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("elbv2", "HealthCheckIntervalSeconds"): {"min": 1},
    ("elbv2", "HealthCheckTimeoutSeconds"): {"min": 1},
}
_XML_SERVICES = frozenset({"ec2", "autoscaling", "elbv2", "rds", "iam", "sts", "cloudwatch"})


def constraint_error(svc: Service, problems: list[str]) -> AwsError:
    """One error listing each problem, worded as AWS's validator words it."""
    count = len(problems)
    head = f"{count} validation error{'s' if count != 1 else ''} detected: "
    return AwsError(CONSTRAINT_CODES.get(svc.name, "ValidationException"), head + "; ".join(problems), 400)


def check(svc: Service, shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise the service's validation error when `params` break any of `shape`'s constraints."""
    if shape is None:
        return
    found: list[str] = []
    _Walker(found, svc.name, svc.name in _XML_SERVICES).value(shape, params, "")
    if found:
        raise constraint_error(svc, found)


class _Walker:
    def __init__(self, found: list[str], service: str, xml: bool) -> None:
        self.found = found
        self.service = service
        self.xml = xml
        self.hidden = 0  # inside a `sensitive` member: its values are never echoed

    def meta(self, shape: Shape) -> dict[str, Any]:
        relaxed = LOCAL_EXTENSIONS.get((self.service, shape.name))
        return {**shape.metadata, **relaxed} if relaxed else shape.metadata

    def fail(self, value: Any, path: str, rule: str, shape: Shape) -> None:
        if len(self.found) < limits.MAX_ERRORS:
            shown = "" if self.hidden or shape.metadata.get("sensitive") else f" '{_echo(value)}'"
            self.found.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {rule}")

    def full(self) -> bool:
        return len(self.found) >= limits.MAX_ERRORS

    def value(self, shape: Shape, value: Any, path: str) -> None:
        if value is None or self.full():
            return
        sensitive = bool(shape.metadata.get("sensitive"))
        self.hidden += sensitive
        self.check(shape, value, path)
        self.hidden -= sensitive

    def check(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type_name
        if kind == "structure" and isinstance(value, dict):
            for name, member in shape.members.items():
                if name in value:
                    self.value(member, value[name], f"{path}.{lower_first(name)}" if path else lower_first(name))
        elif kind == "list" and isinstance(value, list):
            if self.length(shape, value, path, limits.MAX_ITEMS):
                for i, item in enumerate(value, 1):
                    self.value(shape.member, item, f"{path}.{i}.member")
        elif kind == "map" and isinstance(value, dict):
            if self.length(shape, value, path, limits.MAX_ITEMS):
                for key, item in value.items():
                    self.value(shape.key, key, f"{path}.{_echo(key)}.key")
                    self.value(shape.value, item, f"{path}.{_echo(key)}.value")
        elif kind == "string" and isinstance(value, str):
            self.string(shape, value, path)
        elif kind == "blob" and isinstance(value, (bytes, bytearray)):
            self.length(shape, value, path, None)
        elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
            self.number(shape, value, path)

    def length(self, shape: Shape, value: Any, path: str, default_max: int | None) -> bool:
        """Check a length; False when the value is too long to look inside."""
        low, high = self.meta(shape).get("min"), self.meta(shape).get("max", default_max)
        if low is not None and len(value) < low:
            self.fail(value, path, f"have length greater than or equal to {low}", shape)
        if high is not None and len(value) > high:
            self.fail(value, path, f"have length less than or equal to {high}", shape)
            return False
        return True

    def string(self, shape: Shape, value: str, path: str) -> None:
        self.length(shape, value, path, None)
        if len(value) > _PATTERN_LIMIT:
            return
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self.fail(value, path, f"satisfy enum value set: [{', '.join(enum)}]", shape)
        pattern = shape.metadata.get("pattern")
        if pattern and not matches(pattern, value):
            self.fail(value, path, f"satisfy regular expression pattern: {pattern}", shape)
        elif self.xml and XML_ILLEGAL.search(value):
            self.fail(value, path, "not contain control characters (XML 1.0 cannot carry them)", shape)

    def number(self, shape: Shape, value: float, path: str) -> None:
        low, high = self.meta(shape).get("min"), self.meta(shape).get("max")
        if low is not None and value < low:
            self.fail(value, path, f"have value greater than or equal to {low}", shape)
        if high is not None and value > high:
            self.fail(value, path, f"have value less than or equal to {high}", shape)


def _echo(value: Any) -> str:
    """A value as a message shows it: shortened, with characters no response may carry replaced."""
    if isinstance(value, (bytes, bytearray)):
        text = value[: _ECHO + 1].decode("utf-8", "replace")
    elif isinstance(value, (list, dict)):
        items = [_scalar(item) for item in islice(value, 10)]
        text = "[" + ", ".join(items) + (", ...]" if len(value) > 10 else "]")
    else:
        text = str(value)
    if len(text) > _ECHO:
        text = text[:_ECHO] + "..."
    return XML_ILLEGAL.sub("\ufffd", text)


def _scalar(value: Any) -> str:
    return "[...]" if isinstance(value, (list, dict)) else str(value)[:_ECHO]
