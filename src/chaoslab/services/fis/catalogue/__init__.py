"""The one table of FIS actions and target resource types.

Validation, the ListActions/GetAction/…TargetResourceType operations and the engine all read
these entries, so a new action is added here once and is then listed, validated and (when
`executor` names an implementation) run; an action the lab cannot run says why in `unsupported`.
Lab-only actions (`chaoslab:` ids) sit in the same table, so ListActions shows them and
templates may use them.

The entries follow AWS's FIS user guide as of `AS_OF`: the actions reference (ids, resource
types, parameters with their defaults and ranges, duration bounds, targeting rules, IAM
permissions), the "Targets for AWS FIS" page (resource types and their parameters) and the
"Actions for AWS FIS" page (the action target keys). docs/fis.md states the rules in words.
"""

from __future__ import annotations

from chaoslab.services.fis.catalogue import compute, containers, core, data, network, targets
from chaoslab.services.fis.catalogue.spec import ActionSpec, TargetTypeSpec

__all__ = [
    "ACTIONS",
    "AS_OF",
    "SOURCES",
    "SSM_DOCUMENTS",
    "TARGET_TYPES",
    "ActionSpec",
    "TargetTypeSpec",
    "canonical_type",
]

AS_OF = "2026-12-03"
SOURCES = (
    "AWS FIS User Guide, Actions reference: every action id, its resource type, parameters, durations, "
    "targeting rules and permissions",
    "AWS FIS User Guide, Targets for AWS FIS: the resource types, their filters' describe calls and parameters",
    "AWS FIS User Guide, Actions for AWS FIS: the target keys an action's targets map uses",
)

ACTIONS: dict[str, ActionSpec] = {
    a.id: a
    for a in (core.ACTIONS + compute.ACTIONS + containers.ACTIONS + data.ACTIONS + network.ACTIONS + core.LAB_ACTIONS)
}

TARGET_TYPES: dict[str, TargetTypeSpec] = {t.resource_type: t for t in targets.TARGET_TYPES}

SSM_DOCUMENTS = (
    "AWSFIS-Run-CPU-Stress",
    "AWSFIS-Run-Memory-Stress",
    "AWSFIS-Run-IO-Stress",
    "AWSFIS-Run-Disk-Fill",
    "AWSFIS-Run-Kill-Process",
    "AWSFIS-Run-Network-Blackhole-Port",
    "AWSFIS-Run-Network-Latency",
    "AWSFIS-Run-Network-Latency-Sources",
    "AWSFIS-Run-Network-Packet-Loss",
    "AWSFIS-Run-Network-Packet-Loss-Sources",
    "AWSFIS-Run-Network-Blackhole-Port-ECS",
    "AWSFIS-Run-Network-Latency-ECS",
    "AWSFIS-Run-Network-Packet-Loss-ECS",
)
"""Pre-configured SSM documents `aws:ssm:send-command` may name (arn:aws:ssm:<region>::document/<name>)."""


def canonical_type(resource_type: str) -> str:
    """The current name of a resource type (FIS still accepts some older names)."""
    spec = TARGET_TYPES.get(resource_type)
    return spec.alias_of if spec is not None and spec.alias_of else resource_type
