"""What an API call asks IAM for: its action (`<IAM prefix>:<Operation>`) and the ARNs of the
resources it acts on. Pure: a table of the operations FIS experiments and their runbooks reach
for; every other operation acts on `*`, as IAM sees the many AWS calls with no resource type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The IAM service prefix where it differs from the lab's package name.
_PREFIX = {"elbv2": "elasticloadbalancing", "applicationautoscaling": "application-autoscaling"}

# Calls AWS answers for any authenticated caller: no policy governs them.
UNCHECKED = frozenset({("sts", "GetCallerIdentity"), ("sts", "GetSessionToken")})

Arns = Callable[[dict[str, Any], str, str], list[str]]


def action(package: str, operation: str) -> str:
    """`ec2:StopInstances`, `elasticloadbalancing:RegisterTargets`, `fis:StartExperiment`…"""
    return f"{_PREFIX.get(package, package)}:{operation}"


def _instances(p: dict[str, Any], region: str, account: str) -> list[str]:
    return [f"arn:aws:ec2:{region}:{account}:instance/{i}" for i in p.get("InstanceIds") or []]


def _tail(value: str) -> str:
    """A name from a name or an ARN (`…:cluster/shop` → `shop`)."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _ecs(kind: str, member: str) -> Arns:
    def arns(p: dict[str, Any], region: str, account: str) -> list[str]:
        value = str(p[member])
        if value.startswith("arn:"):
            return [value]
        cluster = _tail(str(p.get("cluster") or "default"))
        return [f"arn:aws:ecs:{region}:{account}:{kind}/{cluster}/{value}"]

    return arns


def _rds(kind: str, member: str) -> Arns:
    return lambda p, region, account: [f"arn:aws:rds:{region}:{account}:{kind}:{p[member]}"]


def _alarms(p: dict[str, Any], region: str, account: str) -> list[str]:
    names = p.get("AlarmNames") or [p["AlarmName"]]
    return [f"arn:aws:cloudwatch:{region}:{account}:alarm:{n}" for n in names]


def _ssm_command(p: dict[str, Any], region: str, account: str) -> list[str]:
    """SendCommand acts on its document (AWS-owned ones have no account) and on every instance."""
    name = str(p["DocumentName"])
    if name.startswith("arn:"):
        document = name
    elif name.startswith(("AWS-", "AWSFIS-", "AWSEC2-", "AWSSupport-")):
        document = f"arn:aws:ssm:{region}::document/{name}"
    else:
        document = f"arn:aws:ssm:{region}:{account}:document/{name}"
    return [document, *_instances(p, region, account)]


RESOURCES: dict[tuple[str, str], Arns] = {
    ("fis", "StartExperiment"): lambda p, r, a: [
        f"arn:aws:fis:{r}:{a}:experiment-template/{p['experimentTemplateId']}"
    ],
    ("fis", "StopExperiment"): lambda p, r, a: [f"arn:aws:fis:{r}:{a}:experiment/{p['id']}"],
    ("ec2", "StopInstances"): _instances,
    ("ec2", "StartInstances"): _instances,
    ("ec2", "TerminateInstances"): _instances,
    ("ec2", "RebootInstances"): _instances,
    ("ecs", "StopTask"): _ecs("task", "task"),
    ("ecs", "UpdateService"): _ecs("service", "service"),
    ("rds", "FailoverDBCluster"): _rds("cluster", "DBClusterIdentifier"),
    ("rds", "RebootDBInstance"): _rds("db", "DBInstanceIdentifier"),
    ("elbv2", "RegisterTargets"): lambda p, r, a: [str(p["TargetGroupArn"])],
    ("elbv2", "DeregisterTargets"): lambda p, r, a: [str(p["TargetGroupArn"])],
    ("cloudwatch", "PutMetricAlarm"): _alarms,
    ("cloudwatch", "SetAlarmState"): _alarms,
    ("cloudwatch", "DeleteAlarms"): _alarms,
    ("ssm", "SendCommand"): _ssm_command,
    ("sts", "AssumeRole"): lambda p, r, a: [str(p["RoleArn"])],
}


def resources(package: str, operation: str, params: dict[str, Any], region: str, account: str) -> list[str]:
    """The ARNs IAM authorises the call against; `["*"]` for operations not in the table (or a
    call that names none of its resources, which the handler then refuses on its own terms)."""
    derive = RESOURCES.get((package, operation))
    arns = derive(params, region, account) if derive is not None else []
    return arns or ["*"]
