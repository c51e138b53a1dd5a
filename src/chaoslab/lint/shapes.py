"""What a file handed to `chaoslab validate` is, judged by its content, and the FIS template(s) in it.

The shapes real users have: a CreateExperimentTemplate body (bare, or `--cli-input-json` with a
`clientToken`), an `aws fis get-experiment-template` answer (`{"experimentTemplate": …}` with its
read-only fields), CloudFormation (`AWS::FIS::ExperimentTemplate` resources, or their bare
PascalCase Properties), a chaoslab experiment file and a chaoslab stack file. Each `Reading` says
what it was read as and maps its template's paths back to the file's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from chaoslab.lint import cfn
from chaoslab.services.fis.validation import Issue

# Fields GetExperimentTemplate adds that a create body must not carry.
READ_ONLY = ("id", "arn", "creationTime", "lastUpdateTime", "targetAccountConfigurationsCount")
EXPERIMENT_KEYS = {"template", "template_file", "template_id", "hypothesis"}
STACK_KEYS = {
    "vpc",
    "database",
    "target_groups",
    "load_balancers",
    "auto_scaling_groups",
    "ecs",
    "roles",
    "alarms",
    "settings",
}
_PASCAL_KEYS = {"Description", "Targets", "Actions", "StopConditions", "RoleArn"}
TEMPLATE_FIELDS = {
    "description",
    "targets",
    "actions",
    "stopConditions",
    "roleArn",
    "experimentOptions",
    "logConfiguration",
}


@dataclass
class Reading:
    """One thing to check in a file: its kind, how to say what it was read as, and (for FIS
    templates) the API-shaped template with its paths mapped back into the file."""

    kind: str  # "template", "experiment", "stack" or "unknown"
    label: str
    template: Any = None
    prefix: str = ""  # where the template sits in the file (API paths are appended to it)
    paths: dict[str, str] | None = None  # API path -> file path, when the spelling differs (CloudFormation)
    issues: list[Issue] = field(default_factory=list)  # problems found while reading (CloudFormation properties)

    def source_path(self, path: str) -> str:
        """The file's path for an issue path of this reading's template."""
        if self.paths is None:
            return f"{self.prefix}.{path}" if self.prefix and path else (self.prefix or path)
        probe, rest = path, ""
        while probe and probe not in self.paths:
            cut = max(probe.rfind("."), probe.rfind("["), 0)
            probe, rest = probe[:cut], probe[cut:] + rest
        # A part the file lacks (a required property) is named as CloudFormation spells it.
        spelt = re.sub(r"[A-Za-z0-9]+", lambda m: cfn.PROPERTY_NAMES.get(m.group(0), m.group(0)), rest)
        return (
            self.paths[probe] + ("." if self.paths[probe] and not spelt.startswith((".", "[")) else "") + spelt
            if spelt
            else self.paths[probe]
        )


def readings(document: Any) -> list[Reading]:
    """Every template (or experiment/stack file) in a parsed document, in file order."""
    if not isinstance(document, dict):
        return [Reading("unknown", "a file that is not a JSON/YAML object")]
    if isinstance(document.get("experimentTemplate"), dict):
        template = {k: v for k, v in document["experimentTemplate"].items() if k not in READ_ONLY}
        return [
            Reading(
                "template",
                "an experiment template as GetExperimentTemplate answers it (read-only fields ignored)",
                template,
                "experimentTemplate",
            )
        ]
    if isinstance(document.get("experiment"), dict) and "experimentTemplateId" in document["experiment"]:
        return [Reading("unknown", "an experiment (GetExperiment answer), not a template")]
    if "Resources" in document or document.get("Type") == cfn.RESOURCE_TYPE:
        return _cloudformation(document)
    if EXPERIMENT_KEYS & document.keys():
        return [Reading("experiment", "a chaoslab experiment file")]
    if "name" in document and STACK_KEYS & document.keys():
        return [Reading("stack", "a chaoslab stack file")]
    if _PASCAL_KEYS & document.keys() and not {k[:1].lower() + k[1:] for k in _PASCAL_KEYS} & document.keys():
        return [_properties(document, "", "the Properties of a CloudFormation AWS::FIS::ExperimentTemplate")]
    if not TEMPLATE_FIELDS & document.keys():
        return [Reading("unknown", "a JSON/YAML object with none of an experiment template's fields")]
    if "clientToken" in document:
        return [Reading("template", "a CreateExperimentTemplate request (--cli-input-json)", document)]
    return [Reading("template", "a CreateExperimentTemplate body", document)]


def _cloudformation(document: dict[str, Any]) -> list[Reading]:
    if document.get("Type") == cfn.RESOURCE_TYPE:
        return [_properties(document.get("Properties"), "Properties", f"a CloudFormation {cfn.RESOURCE_TYPE}")]
    resources = document.get("Resources")
    found = [
        _properties(
            r.get("Properties"), f"Resources.{name}.Properties", f"CloudFormation resource {name} ({cfn.RESOURCE_TYPE})"
        )
        for name, r in (resources.items() if isinstance(resources, dict) else [])
        if isinstance(r, dict) and r.get("Type") == cfn.RESOURCE_TYPE
    ]
    return found or [Reading("unknown", f"a CloudFormation template without an {cfn.RESOURCE_TYPE} resource")]


def _properties(properties: Any, prefix: str, label: str) -> Reading:
    template, paths, issues = cfn.to_api(properties if properties is not None else {}, prefix)
    return Reading("template", label, template, prefix, paths, issues)
