"""Readings every source shares: AWS API-shaped pieces (CloudFormation's properties and the live
Describe answers spell target groups and alarms as the API does) into the model's terms."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from chaoslab.importer.model import Architecture, Listener, Subnet
from chaoslab.services.elbv2.models import TG_ATTRIBUTE_DEFAULTS

_ALARM_FIELDS = (
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)
_ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
ALARM_INPUT = (*_ALARM_FIELDS, *_ALARM_ACTIONS)  # what `alarm` reads (and notes)
_INTS = ("Period", "EvaluationPeriods", "DatapointsToAlarm")
_HEALTH = {
    "HealthCheckPath": "path",
    "HealthCheckPort": "port",
    "HealthCheckIntervalSeconds": "interval",
    "HealthCheckTimeoutSeconds": "timeout",
    "HealthyThresholdCount": "healthy_threshold",
    "UnhealthyThresholdCount": "unhealthy_threshold",
}


def tags(items: Any) -> dict[str, str]:
    """`[{Key, Value}]` (or `{key, value}`, or a map) as a map of strings."""
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    out: dict[str, str] = {}
    for item in items or []:
        key = item.get("Key", item.get("key"))
        if key is not None and not str(key).startswith("aws:"):
            out[str(key)] = str(item.get("Value", item.get("value", "")))
    return out


def health_check(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A stack `health_check` from ELBv2's CreateTargetGroup/DescribeTargetGroups fields."""
    out: dict[str, Any] = {}
    for api, key in _HEALTH.items():
        value = fields.get(api)
        if value is None or (key == "port" and str(value) == "traffic-port"):
            continue
        out[key] = value if key in ("path", "port") else int(value)
    matcher = fields.get("Matcher") or {}
    if matcher.get("HttpCode"):
        out["matcher"] = str(matcher["HttpCode"])
    return out


def target_group_attributes(pairs: Iterable[tuple[str, Any]], arch: Architecture, what: str) -> dict[str, str]:
    """The attributes that differ from ELBv2's defaults; ones the lab does not know are noted."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if key not in TG_ATTRIBUTE_DEFAULTS:
            arch.skip(f"{what} attribute {key}", "not an attribute the lab's target groups have")
        elif str(value).lower() != TG_ATTRIBUTE_DEFAULTS[key]:
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def alarm(fields: Mapping[str, Any], arch: Architecture) -> dict[str, Any]:
    """PutMetricAlarm's input from an alarm's fields; actions (SNS and the like) are noted."""
    out = {k: fields[k] for k in _ALARM_FIELDS if fields.get(k) not in (None, "", [])}
    for key in _INTS:
        if key in out:
            out[key] = int(out[key])
    if "Threshold" in out:
        out["Threshold"] = float(out["Threshold"])
    for key in _ALARM_ACTIONS:
        if fields.get(key):
            arch.skip(f"alarm {fields.get('AlarmName')} {key}", "alarm actions are not run by the lab (no SNS)")
    return out


def inline_customer_policies(arch: Architecture, documents: Mapping[str, tuple[str, Any]]) -> None:
    """Roles' attached policies of the account's own (`documents`: ARN -> name, document) become
    inline policies: the lab's IAM has only AWS's managed policies to attach."""
    for role in arch.roles:
        for arn in [a for a in role.managed if a in documents]:
            name, document = documents[arn]
            role.policies[name] = document
            role.managed.remove(arn)


def user_data(encoded: str | None) -> str | None:
    """Launch-template user data (base64, as the API takes it) as plain text."""
    if not encoded:
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return encoded  # already plain text


def number(value: Any) -> int:
    """CloudFormation passes numbers as strings."""
    return int(str(value))


def attach_subnets_and_listeners(
    arch: Architecture,
    subnets: list[tuple[str, Subnet]],
    listeners: list[tuple[str, Listener]],
    source: str,
) -> None:
    """Subnets into their VPCs and listeners into their load balancers, once every resource is
    read (a source may name a child before its parent); an orphan is listed, never dropped."""
    networks = {n.id: n for n in arch.networks}
    for vpc_id, subnet in subnets:
        if vpc_id in networks:
            networks[vpc_id].subnets.append(subnet)
        else:
            arch.skip(f"subnet {subnet.id}", f"its VPC {vpc_id} is not in the {source}")
    lbs = {lb.id: lb for lb in arch.load_balancers}
    for lb_id, listener in listeners:
        if lb_id in lbs:
            lbs[lb_id].listeners.append(listener)
        else:
            arch.skip(f"listener on port {listener.port}", f"its load balancer {lb_id} is not imported")


def attach_db_instances(
    arch: Architecture, instances: list[tuple[str, str, str | None]], aliases: dict[str, str] | None = None
) -> None:
    """Database instances into their clusters (`aliases`: other names a cluster is known by)."""
    dbs = {d.cluster: d for d in arch.databases}
    dbs.update({a: dbs[n] for a, n in (aliases or {}).items() if n in dbs})
    for cluster, ident, az in instances:
        if cluster in dbs:
            dbs[cluster].instances.append((ident, az))
        else:
            arch.skip(f"database instance {ident}", f"its cluster {cluster} is not imported")
