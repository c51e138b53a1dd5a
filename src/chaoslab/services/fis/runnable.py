"""What in a (valid) template the lab cannot run: actions it has no executor for, target types it
cannot resolve, and parameter values beyond what an executor emulates.

`chaoslab validate` names these ("valid, not runnable in the lab"); the engine fails an experiment
on the first one before anything is injected, unless the experiment was started with the
`SKIP_TAG` tag, when such actions end `skipped`; the runner checks experiment files up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chaoslab.services.fis.catalogue import ACTIONS, TARGET_TYPES

SKIP_TAG = "chaoslab:skip-unsupported-actions"


@dataclass(frozen=True)
class Gap:
    """One thing the lab cannot run: where it is in the template and why."""

    path: str  # e.g. actions.Delay.actionId
    kind: str  # "action" or "target"
    name: str  # the action's or the target's name in the template
    what: str  # the actionId or the resource type
    reason: str

    def failure_reason(self) -> str:
        """The experiment's state reason, in FIS's words for a failed run."""
        noun = "Action" if self.kind == "action" else "Target"
        return f"{noun} {self.name} ({self.what}) cannot run in chaoslab: {self.reason}."


def gaps(template: dict[str, Any]) -> list[Gap]:
    """Every gap, actions first (an action's gap explains its target's)."""
    found = []
    actions = template.get("actions")
    for name, action in actions.items() if isinstance(actions, dict) else []:
        action_id = action.get("actionId") if isinstance(action, dict) else None
        spec = ACTIONS.get(action_id) if isinstance(action_id, str) else None
        if spec is None:
            continue
        if spec.unsupported:
            found.append(Gap(f"actions.{name}.actionId", "action", name, spec.id, spec.unsupported))
            continue
        params = action.get("parameters") if isinstance(action.get("parameters"), dict) else {}
        for key, allowed in spec.lab_values.items():
            value = params.get(key, spec.parameters[key].default)
            if value not in allowed:
                found.append(
                    Gap(
                        f"actions.{name}.parameters.{key}",
                        "action",
                        name,
                        spec.id,
                        f"the lab emulates {key} {' and '.join(allowed)} only, not {value}",
                    )
                )
    targets = template.get("targets")
    for name, target in targets.items() if isinstance(targets, dict) else []:
        rtype = target.get("resourceType") if isinstance(target, dict) else None
        type_spec = TARGET_TYPES.get(rtype) if isinstance(rtype, str) else None
        if type_spec is not None and type_spec.unsupported:
            found.append(
                Gap(f"targets.{name}.resourceType", "target", name, type_spec.resource_type, type_spec.unsupported)
            )
    return found


def skips_unsupported(tags: dict[str, Any] | None) -> bool:
    """Whether an experiment's tags ask the lab to skip what it cannot run."""
    return str((tags or {}).get(SKIP_TAG, "")).lower() == "true"
