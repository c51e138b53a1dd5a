"""Input checks for ELBv2 calls, with the error codes and messages ELBv2 uses."""

from __future__ import annotations

import re
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.net import healthcheck as hc
from chaoslab.services.elbv2.models import HEALTH_CHECK_DEFAULTS

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
_HC_INT_LIMITS = {  # the lab allows 1 s intervals/timeouts so CI experiments are fast (docs/alb.md)
    "HealthCheckIntervalSeconds": (1, 300),
    "HealthCheckTimeoutSeconds": (1, 120),
    "HealthyThresholdCount": (2, 10),
    "UnhealthyThresholdCount": (2, 10),
}
_PATH = re.compile(r"[\x21-\x7e]+")
ALGORITHMS = ("round_robin", "least_outstanding_requests", "weighted_random")


def error(code: str, message: str) -> AwsError:
    return AwsError(code, message, 400)


def health_settings(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """`current` updated with the health-check members present in `params`, all validated."""
    for key in HEALTH_CHECK_DEFAULTS:
        if params.get(key) is not None:
            current[key] = params[key]
    for key, (low, high) in _HC_INT_LIMITS.items():
        current[key] = int_in(current[key], low, high, key)
    if current["HealthCheckTimeoutSeconds"] > current["HealthCheckIntervalSeconds"]:
        raise error("ValidationError", "Health check timeout must not exceed the health check interval")
    if current["HealthCheckProtocol"] != "HTTP":
        raise error("ValidationError", "This lab's ALB health checks speak HTTP only")
    port = str(current["HealthCheckPort"])
    if port != "traffic-port" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise error("ValidationError", f"Health check port '{port}' is not valid")
    current["HealthCheckPort"] = port
    path = str(current["HealthCheckPath"])
    if not path.startswith("/"):
        raise error("ValidationError", "Health check path must begin with a '/'")
    if len(path) > 1024 or not _PATH.fullmatch(path):  # it goes verbatim into the probe's request line
        raise error(
            "ValidationError",
            f"Health check path '{path}' is not valid: at most 1024 printable ASCII characters without spaces",
        )
    if current["HealthCheckEnabled"] is False:
        raise error("ValidationError", "Health checks cannot be disabled for instance and ip target groups")
    return current


def matcher_code(matcher: dict[str, str] | None, default: str) -> str:
    """The Matcher's HttpCode (or `default`), rejected as ALB would if it is not 200-499."""
    code = (matcher or {}).get("HttpCode") or default
    try:
        hc.parse_matcher(code)
    except ValueError:
        raise error("ValidationError", f"Health check matcher HTTP code '{code}' must be within '200-499'") from None
    return code


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or []}


def attr_list(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in attributes.items()]


def validated_attrs(attributes: list[dict[str, str]], known: dict[str, str], what: str) -> dict[str, str]:
    changes = {}
    for attr in attributes:
        if attr["Key"] not in known:
            raise error("ValidationError", f"{what} attribute key '{attr['Key']}' is not recognized")
        changes[attr["Key"]] = str(attr.get("Value", ""))
    return changes


def int_in(value: Any, low: int, high: int, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise error("ValidationError", f"'{name}' must be an integer") from None
    if not low <= number <= high:
        raise error("ValidationError", f"'{name}' must be between {low} and {high}")
    return number
