"""FIS's rules for experiment templates, as a list of issues (path, message, hint).

The API turns the issues into one AwsError (FIS answers with the first problem it finds; we add
the others); `chaoslab validate` prints every one, so a user fixes a file in one pass.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.fis.arns import (
    ALARM_ARN_FORM,
    check_alarm_arn,
    check_log_group_arn,
    check_role_arn,
    placeholder_hint,
)
from chaoslab.services.fis.catalogue import (
    ACTIONS,
    AS_OF,
    SSM_DOCUMENTS,
    TARGET_TYPES,
    ActionSpec,
    TargetTypeSpec,
    canonical_type,
)
from chaoslab.services.fis.durations import DurationError, parse_duration
from chaoslab.services.fis.graph import find_cycle
from chaoslab.services.fis.params import is_arn

__all__ = ["Issue", "Unresolved", "check_alarm_arn", "to_aws_error", "validate_template"]

VALIDATION = "ValidationException"
NOT_FOUND = "ResourceNotFoundException"
QUOTA = "ServiceQuotaExceededException"

MAX_ACTIONS = 20
MAX_STOP_CONDITIONS = 5
MAX_TARGET_ARNS = 5
MAX_TAGS = 50

TEMPLATE_KEYS = (
    "clientToken",
    "description",
    "stopConditions",
    "targets",
    "actions",
    "roleArn",
    "tags",
    "logConfiguration",
    "experimentOptions",
    "experimentReportConfiguration",
)
TARGET_KEYS = ("resourceType", "resourceArns", "resourceTags", "filters", "selectionMode", "parameters")
ACTION_KEYS = ("actionId", "description", "parameters", "targets", "startAfter")
STOP_SOURCES = ("aws:cloudwatch:alarm", "none")

_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")
_TARGET_PARAM_VALUE = re.compile(r"^[\w\s.:/=+\-@]+$")
_SELECTION_RULES = {
    "arns": ("resourceArns", "names its resources by ARN only: no resourceTags, filters or parameters"),
    "single-arn": ("resourceArns", "names exactly one resource by ARN: no resourceTags, filters or parameters"),
    "tags": ("resourceTags", "selects its resources by resourceTags only"),
}


class Unresolved(str):
    """A value the linter cannot know (a CloudFormation `!Ref`, `!Sub`, `Fn::If` …): every check
    of it is skipped, so a template is judged only on what it states."""


@dataclass(frozen=True)
class Issue:
    """One problem in a template: where (JSON path), what, the likely fix, and how bad."""

    path: str
    message: str
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"
    code: str = VALIDATION  # the AWS error code the API answers with
    file: str | None = None
    line: int | None = None  # where `path` is in the file, when the file was read from text
    column: int | None = None

    def format(self) -> str:
        """`file:line:col: error: path: message (hint: fix)`, compiler-style."""
        where = (self.file or "") + (f":{self.line}:{self.column}" if self.line else "")
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{where + ': ' if where else ''}{self.severity}: {self.path}: {self.message}{hint}"


def to_aws_error(issues: Iterable[Issue]) -> AwsError | None:
    """The API error for these issues: the first error's code, every error's message."""
    errors = [i for i in issues if i.severity == "error"]
    if not errors:
        return None
    first = errors[0]
    if len(errors) == 1:
        message = first.message
    else:
        message = "; ".join(f"{i.path}: {i.message}" for i in errors)
    status = {VALIDATION: 400, NOT_FOUND: 404, QUOTA: 402}[first.code]
    return AwsError(first.code, message[:1024], status)


def validate_template(template: Any) -> list[Issue]:
    """Every issue in a CreateExperimentTemplate body (or a merged UpdateExperimentTemplate one)."""
    return _Checker().template(template)


def _close(word: str, options: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return match[0] if match else None


def _service(identifier: str) -> str:
    """`aws:ec2` of `aws:ec2:stop-instances` (or of the resource type `aws:ec2:instance`)."""
    return ":".join(identifier.split(":")[:2])


def _similar_action(action_id: str, resource_types: set[str]) -> str | None:
    """A catalogued id of the same service (and, when known, the same resource type) spelt nearly like
    `action_id`: never an action of another service, nor another fault (task-memory-stress is not a
    misspelt task-io-stress)."""
    service = _service(action_id)
    options = {
        a.id[len(service) :]: a.id
        for a in ACTIONS.values()
        if _service(a.id) == service
        and (not resource_types or resource_types & {canonical_type(t) for t in a.targets.values()})
    }
    match = difflib.get_close_matches(action_id[len(service) :], list(options), n=1, cutoff=0.85)
    return options[match[0]] if match else None


def _json_hint(value: Any) -> str | None:
    """How a YAML mapping or list given where FIS takes a JSON string is written as one."""
    if isinstance(value, (dict, list)):
        return f"FIS takes this as a JSON string: write it as '{json.dumps(value, separators=(',', ':'))}'"
    if isinstance(value, (int, float, bool)):
        return f'write it as "{json.dumps(value)}"' if isinstance(value, bool) else f'write it as "{value}"'
    return None


class _Checker:
    """Walks one template, collecting issues; one method per section."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(
        self, path: str, message: str, hint: str | None = None, *, severity: str = "error", code: str = VALIDATION
    ) -> None:
        self.issues.append(Issue(path or "(template)", message, hint, severity, code))

    # helpers --------------------------------------------------------------------------------
    def _mapping(self, path: str, value: Any) -> bool:
        if isinstance(value, dict):
            return True
        if not isinstance(value, Unresolved):
            self.add(path, f"must be an object, got {type(value).__name__}")
        return False

    def _string(self, path: str, value: Any, *, low: int = 0, high: int | None = None) -> bool:
        """True when `value` is a string to check further; an Unresolved one is never checked."""
        if isinstance(value, Unresolved):
            return False
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {type(value).__name__}", _json_hint(value))
            return False
        if len(value) < low:
            self.add(path, "must not be empty" if low == 1 else f"must be at least {low} characters")
            return False
        if high is not None and len(value) > high:
            self.add(path, f"is {len(value)} characters long; the limit is {high}")
            return False
        return True

    def _unknown_keys(self, path: str, obj: dict[str, Any], known: tuple[str, ...]) -> None:
        for key in obj:
            if key not in known:
                near = _close(key, known)
                self.add(
                    _join(path, key),
                    f'unknown field "{key}"',
                    f'did you mean "{near}"?' if near else f"allowed fields: {', '.join(known)}",
                )

    def _tags(self, path: str, tags: Any) -> None:
        if not self._mapping(path, tags):
            return
        if len(tags) > MAX_TAGS:
            self.add(path, f"{len(tags)} tags; at most {MAX_TAGS} are allowed")
        for key, value in tags.items():
            if len(key) > 128:
                self.add(f"{path}.{key}", "tag key is longer than 128 characters")
            self._string(f"{path}.{key}", value, high=256)

    # sections -------------------------------------------------------------------------------
    def template(self, t: Any) -> list[Issue]:
        if not self._mapping("", t):
            return self.issues
        self._unknown_keys("", t, TEMPLATE_KEYS)
        if "clientToken" in t:
            self._string("clientToken", t["clientToken"], low=1, high=1024)
        if "description" not in t:
            self.add("description", "is required", "describe what the experiment does")
        else:
            self._string("description", t["description"], high=512)
        self.role_arn("roleArn", t.get("roleArn"))
        targets = t.get("targets") or {}
        if "targets" in t and self._mapping("targets", t["targets"]):
            for name, target in targets.items():
                self.target(f"targets.{name}", name, target)
        elif "targets" in t:
            targets = {}
        actions = t.get("actions")
        if actions is None:
            self.add("actions", "is required", "add at least one action, e.g. aws:fis:wait")
        elif self._mapping("actions", actions):
            self.actions(actions, targets)
        if "stopConditions" not in t:
            self.add(
                "stopConditions",
                "is required",
                'add [{"source": "none"}] or an alarm: {"source": "aws:cloudwatch:alarm", "value": <alarm ARN>}',
            )
        else:
            self.stop_conditions(t["stopConditions"])
        if "tags" in t:
            self._tags("tags", t["tags"])
        if "logConfiguration" in t:
            self.log_configuration(t["logConfiguration"])
        if "experimentOptions" in t:
            self.experiment_options(t["experimentOptions"])
        if "experimentReportConfiguration" in t:
            self.report_configuration(t["experimentReportConfiguration"])
        return self.issues

    def role_arn(self, path: str, value: Any) -> None:
        if value is None:
            self.add(path, "is required", "the IAM role FIS assumes, arn:aws:iam::<account>:role/<name>")
        elif self._string(path, value, low=20, high=2048) and (bad := check_role_arn(value)):
            self.add(path, *bad)

    def target(self, path: str, name: str, target: Any) -> None:
        if len(name) > 64:
            self.add(path, "target name is longer than 64 characters")
        if not self._mapping(path, target):
            return
        self._unknown_keys(path, target, TARGET_KEYS)
        rtype = target.get("resourceType")
        type_spec = None
        if rtype is None:
            self.add(f"{path}.resourceType", "is required", "e.g. aws:ec2:instance or aws:ecs:task")
        elif self._string(f"{path}.resourceType", rtype, high=128):
            type_spec = TARGET_TYPES.get(rtype)
            if type_spec is None:
                near = _close(rtype, [t for t in TARGET_TYPES if _service(t) == _service(rtype)] or TARGET_TYPES)
                self.add(
                    f"{path}.resourceType",
                    f'unknown resource type "{rtype}"',
                    f'did you mean "{near}"?' if near else "see ListTargetResourceTypes",
                )
        mode = target.get("selectionMode")
        if mode is None:
            self.add(f"{path}.selectionMode", "is required", "use ALL, COUNT(n) or PERCENT(n)")
        elif self._string(f"{path}.selectionMode", mode, high=64):
            match = _SELECTION.match(mode)
            if not match:
                self.add(
                    f"{path}.selectionMode",
                    f'"{mode}" is not a selection mode',
                    "use ALL, COUNT(n) with n >= 1, or PERCENT(n) with n in 1..100",
                )
            elif match.group(2) is not None and int(match.group(2)) < 1:
                self.add(f"{path}.selectionMode", "COUNT(n) needs n >= 1")
            elif match.group(3) is not None and not 1 <= int(match.group(3)) <= 100:
                self.add(f"{path}.selectionMode", "PERCENT(n) needs n in 1..100")
        arns = target.get("resourceArns")
        if arns is not None and not isinstance(arns, Unresolved):
            if not isinstance(arns, list):
                self.add(f"{path}.resourceArns", "must be a list of ARNs")
            else:
                if len(arns) > MAX_TARGET_ARNS:
                    self.add(
                        f"{path}.resourceArns",
                        f"{len(arns)} ARNs; at most {MAX_TARGET_ARNS} are allowed",
                        "select by resourceTags or filters instead",
                    )
                for i, arn in enumerate(arns):
                    if self._string(f"{path}.resourceArns[{i}]", arn, low=1) and not is_arn(arn):
                        self.add(
                            f"{path}.resourceArns[{i}]",
                            f'"{arn}" is not an ARN',
                            placeholder_hint(arn) or "arn:<partition>:<service>:<region>:<account>:<resource>",
                        )
            for other in ("resourceTags", "filters"):
                if target.get(other):
                    self.add(
                        f"{path}.{other}",
                        "cannot be combined with resourceArns",
                        f"identify the target either by resourceArns or by {other}",
                    )
        if "resourceTags" in target:
            self._tags(f"{path}.resourceTags", target["resourceTags"])
        if "filters" in target:
            self.filters(f"{path}.filters", target["filters"])
        if type_spec is not None:
            self.target_parameters(f"{path}.parameters", target.get("parameters"), type_spec)
        if not any(target.get(k) for k in ("resourceArns", "resourceTags", "filters", "parameters")):
            self.add(
                path,
                "selects no resources: it has no resourceArns, resourceTags, filters or parameters",
                "name the resources by ARN, or select them by tags/filters",
            )

    def target_parameters(self, path: str, params: Any, type_spec: TargetTypeSpec) -> None:
        rtype = type_spec.resource_type
        if params is None:
            params = {}
        if not self._mapping(path, params):
            return
        for key, value in params.items():
            spec = type_spec.parameters.get(key)
            if spec is None:
                allowed = ", ".join(type_spec.parameters) or "none"
                self.add(
                    f"{path}.{key}",
                    f'"{key}" is not a parameter of {rtype} targets',
                    f"parameters of {rtype}: {allowed}",
                )
            elif self._string(f"{path}.{key}", value, low=1, high=1024):
                problem = spec.check(value) if spec.check else None
                if not _TARGET_PARAM_VALUE.match(value):
                    self.add(
                        f"{path}.{key}",
                        f'"{value}" has characters FIS does not allow',
                        placeholder_hint(value) or "use letters, digits, spaces and _.:/=+-@ only",
                    )
                elif problem:
                    self.add(f"{path}.{key}", problem, spec.description)
        for key, spec in type_spec.parameters.items():
            if spec.required and key not in params:
                self.add(f"{path}.{key}", f"is required for {rtype} targets", spec.description)

    def filters(self, path: str, filters: Any) -> None:
        if isinstance(filters, Unresolved):
            return
        if not isinstance(filters, list):
            self.add(path, "must be a list of {path, values}")
            return
        for i, f in enumerate(filters):
            fpath = f"{path}[{i}]"
            if not self._mapping(fpath, f):
                continue
            self._unknown_keys(fpath, f, ("path", "values"))
            if "path" not in f:
                self.add(f"{fpath}.path", "is required", "e.g. State.Name or Placement.AvailabilityZone")
            elif self._string(f"{fpath}.path", f["path"], low=1, high=256) and f["path"][:1].islower():
                self.add(
                    f"{fpath}.path",
                    f'"{f["path"]}" should be written in PascalCase',
                    f'write "{".".join(p[:1].upper() + p[1:] for p in f["path"].split("."))}"',
                    severity="warning",
                )
            values = f.get("values")
            if not isinstance(values, list) or not values:
                self.add(f"{fpath}.values", "must be a non-empty list of strings")
            else:
                for j, v in enumerate(values):
                    self._string(f"{fpath}.values[{j}]", v, high=128)

    def actions(self, actions: dict[str, Any], targets: dict[str, Any]) -> None:
        if not actions:
            self.add("actions", "has no actions", "add at least one action, e.g. aws:fis:wait")
        if len(actions) > MAX_ACTIONS:
            self.add(
                "actions",
                f"{len(actions)} actions; at most {MAX_ACTIONS} are allowed per template",
                "split the experiment",
                code=QUOTA,
            )
        used: set[str] = set()
        edges: dict[str, list[str]] = {}
        for name, action in actions.items():
            path = f"actions.{name}"
            if len(name) > 64:
                self.add(path, "action name is longer than 64 characters")
            if not self._mapping(path, action):
                continue
            self._unknown_keys(path, action, ACTION_KEYS)
            spec = self.action_id(f"{path}.actionId", action.get("actionId"), _referenced_types(action, targets))
            if "description" in action:
                self._string(f"{path}.description", action["description"], high=512)
            self.action_parameters(f"{path}.parameters", action.get("parameters"), spec)
            used |= self.action_targets(f"{path}.targets", action.get("targets"), spec, targets)
            edges[name] = self.start_after(f"{path}.startAfter", name, action.get("startAfter"), actions)
        cycle = find_cycle(edges)
        if cycle:
            self.add(
                f"actions.{cycle[0]}.startAfter",
                "startAfter forms a cycle: " + " -> ".join(cycle),
                "remove one startAfter reference so the actions can be ordered",
            )
        for name in targets:
            if name not in used:
                self.add(
                    f"targets.{name}",
                    "is not used by any action",
                    "remove it or reference it from an action",
                    severity="warning",
                )

    def action_id(self, path: str, action_id: Any, resource_types: set[str]) -> ActionSpec | None:
        if action_id is None:
            self.add(path, "is required", "e.g. aws:ec2:stop-instances")
            return None
        if not self._string(path, action_id, high=128):
            return None
        spec = ACTIONS.get(action_id)
        if spec is None:
            near = _similar_action(action_id, resource_types)
            siblings = sorted(a for a in ACTIONS if _service(a) == _service(action_id))
            hint = (
                f'did you mean "{near}"?'
                if near
                else f"{_service(action_id)} actions: {', '.join(siblings)}"
                if siblings
                else f"not among the actions FIS documents as of {AS_OF}; see ListActions"
            )
            self.add(path, f"Action with ID {action_id} not found.", hint, code=NOT_FOUND)
        elif spec.replaced_by:
            self.add(
                path,
                f"{action_id} is the older id of {spec.replaced_by}; FIS still accepts it",
                f"use {spec.replaced_by}",
                severity="warning",
            )
        return spec

    def action_parameters(self, path: str, params: Any, spec: ActionSpec | None) -> None:
        if params is None:
            params = {}
        if not self._mapping(path, params) or spec is None:
            return
        for key, value in params.items():
            ppath = f"{path}.{key}"
            pspec = spec.parameters.get(key)
            if pspec is None:
                self.add(ppath, f'"{key}" is not a parameter of {spec.id}', self._parameter_hint(key, spec))
                continue
            if not self._string(ppath, value, high=1024):
                continue
            if not value.strip():
                self.add(ppath, "must not be empty", f"remove {key} or give it a value")
                continue
            problem = pspec.check(value) if pspec.check else None
            if problem:
                self.add(ppath, problem, pspec.description)
            elif spec.id == "aws:ssm:send-command" and key == "documentArn":
                name = value.rsplit("/", 1)[-1]
                if name.startswith("AWSFIS-") and name not in SSM_DOCUMENTS:
                    near = _close(name, SSM_DOCUMENTS)
                    self.add(
                        ppath,
                        f'"{name}" is not a pre-configured FIS document',
                        f'did you mean "{near}"?' if near else None,
                        severity="warning",
                    )
        for key, pspec in spec.parameters.items():
            if pspec.required and key not in params:
                self.add(f"{path}.{key}", f"is required by {spec.id}", pspec.description)
        if (
            params.get("scope") == "prefix-list"
            and "prefixListIdentifier" in spec.parameters
            and "prefixListIdentifier" not in params
        ):
            self.add(
                f"{path}.prefixListIdentifier",
                "scope prefix-list needs the prefix list to deny",
                "add prefixListIdentifier (a prefix list name, ID or ARN)",
                severity="warning",
            )

    @staticmethod
    def _parameter_hint(key: str, spec: ActionSpec) -> str:
        if not spec.parameters:
            return f"{spec.id} takes no parameters"
        near = _close(key, spec.parameters)
        if key == "duration" and spec.duration_param and spec.duration_param != key:
            return f"{spec.id} has no duration; did you mean {spec.duration_param}?"
        if key == "duration" and spec.duration_param is None:
            return f"{spec.id} has no duration; add an aws:fis:wait action after it to keep watching"
        if near:
            return f'did you mean "{near}"?'
        return f"parameters of {spec.id}: {', '.join(spec.parameters)}"

    def action_targets(self, path: str, refs: Any, spec: ActionSpec | None, targets: dict[str, Any]) -> set[str]:
        used: set[str] = set()
        unexpected = False
        if refs is None:
            refs = {}
        if not self._mapping(path, refs):
            return used
        for key, name in refs.items():
            if not isinstance(name, str):
                self.add(f"{path}.{key}", "must be the name of a target (a string)")
                continue
            used.add(name)
            if spec is not None and key not in spec.targets:
                unexpected = True
                expected = ", ".join(spec.targets) or "no targets"
                self.add(
                    f"{path}.{key}",
                    f'Unexpected target "{key}" found in action',
                    f"{spec.id} expects {expected}" if spec.targets else f"{spec.id} takes no targets",
                )
            if name not in targets:
                near = _close(name, targets)
                self.add(
                    f"{path}.{key}",
                    f'target "{name}" is not defined in targets',
                    f'did you mean "{near}"?' if near else "add it under targets",
                )
                continue
            want = spec.targets.get(key) if spec else None
            target = targets[name] if isinstance(targets[name], dict) else {}
            have = target.get("resourceType")
            if (
                spec is not None
                and want
                and isinstance(have, str)
                and not isinstance(have, Unresolved)
                and canonical_type(have) != canonical_type(want)
            ):
                self.add(
                    f"{path}.{key}",
                    f'target "{name}" has resource type {have}; {spec.id} {key} needs {want}',
                    f"set targets.{name}.resourceType to {want}",
                )
            if spec is not None and spec.selection and target:
                self.selection_rule(f"{path}.{key}", name, target, spec)
        if spec is not None and not unexpected:
            for key in spec.targets:
                if key not in refs:
                    self.add(
                        f"{path}.{key}",
                        f"{spec.id} needs a {key} target",
                        f'add "targets": {{"{key}": "<target name>"}}',
                    )
        return used

    def selection_rule(self, path: str, name: str, target: dict[str, Any], spec: ActionSpec) -> None:
        """The reference's "this action's targets are identified only by …" rules."""
        assert spec.selection is not None
        keep, rule = _SELECTION_RULES[spec.selection]
        extra = [k for k in ("resourceArns", "resourceTags", "filters", "parameters") if k != keep and target.get(k)]
        arns = target.get("resourceArns")
        one_arn = not isinstance(arns, list) or len(arns) == 1
        if extra or not target.get(keep) or (spec.selection == "single-arn" and not one_arn):
            found = f"; targets.{name} uses {', '.join(extra)}" if extra else ""
            self.add(path, f"{spec.id} {rule}{found}", f"identify targets.{name} by {keep} alone")

    def start_after(self, path: str, name: str, after: Any, actions: dict[str, Any]) -> list[str]:
        if after is None:
            return []
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            self.add(path, "must be a list of action names")
            return []
        valid = []
        for i, other in enumerate(after):
            if other == name:
                self.add(f"{path}[{i}]", "an action cannot start after itself")
            elif other not in actions:
                near = _close(other, actions)
                self.add(
                    f"{path}[{i}]", f'action "{other}" is not defined', f'did you mean "{near}"?' if near else None
                )
            else:
                valid.append(other)
        return valid

    def stop_conditions(self, conditions: Any) -> None:
        if isinstance(conditions, Unresolved):
            return
        if not isinstance(conditions, list):
            self.add("stopConditions", "must be a list")
            return
        if len(conditions) > MAX_STOP_CONDITIONS:
            self.add(
                "stopConditions",
                f"{len(conditions)} stop conditions; at most {MAX_STOP_CONDITIONS} are allowed",
                code=QUOTA,
            )
        for i, cond in enumerate(conditions):
            path = f"stopConditions[{i}]"
            if not self._mapping(path, cond):
                continue
            self._unknown_keys(path, cond, ("source", "value"))
            source = cond.get("source")
            if source is None:
                self.add(f"{path}.source", "is required", "aws:cloudwatch:alarm or none")
                continue
            if not self._string(f"{path}.source", source, high=64):
                continue
            if source not in STOP_SOURCES:
                hint = (
                    'use "aws:cloudwatch:alarm" (the only alarm source FIS knows)'
                    if "cloudwatch" in source or "alarm" in source
                    else 'use "aws:cloudwatch:alarm" or "none"'
                )
                self.add(f"{path}.source", f'"{source}" is not a stop condition source', hint)
            value = cond.get("value")
            if source == "none":
                if value is not None:
                    self.add(
                        f"{path}.value",
                        'a stop condition with source "none" takes no value',
                        'remove value, or set source to "aws:cloudwatch:alarm"',
                    )
                continue
            if value is None:
                self.add(f"{path}.value", "is required: the ARN of the CloudWatch alarm to watch", ALARM_ARN_FORM)
            elif self._string(f"{path}.value", value, low=20, high=2048) and (bad := check_alarm_arn(value)):
                self.add(f"{path}.value", *bad)

    def log_configuration(self, config: Any) -> None:
        path = "logConfiguration"
        if not self._mapping(path, config):
            return
        self._unknown_keys(path, config, ("cloudWatchLogsConfiguration", "s3Configuration", "logSchemaVersion"))
        version = config.get("logSchemaVersion")
        if version is None:
            self.add(f"{path}.logSchemaVersion", "is required", "use 2 (the current schema)")
        elif not isinstance(version, int) or isinstance(version, bool) or version not in (1, 2):
            self.add(f"{path}.logSchemaVersion", f"{version!r} is not a log schema version", "use 2")
        cw = config.get("cloudWatchLogsConfiguration")
        s3 = config.get("s3Configuration")
        if cw is None and s3 is None:
            self.add(path, "names no destination", "add cloudWatchLogsConfiguration.logGroupArn or s3Configuration")
        if cw is not None and self._mapping(f"{path}.cloudWatchLogsConfiguration", cw):
            arn = cw.get("logGroupArn")
            apath = f"{path}.cloudWatchLogsConfiguration.logGroupArn"
            if arn is None:
                self.add(apath, "is required", "arn:aws:logs:<region>:<account>:log-group:<name>")
            elif self._string(apath, arn, low=20, high=2048) and (bad := check_log_group_arn(arn)):
                self.add(apath, *bad)
        if s3 is not None and self._mapping(f"{path}.s3Configuration", s3):
            if "bucketName" not in s3:
                self.add(f"{path}.s3Configuration.bucketName", "is required")
            else:
                self._string(f"{path}.s3Configuration.bucketName", s3["bucketName"], low=3, high=63)
            if "prefix" in s3:
                self._string(f"{path}.s3Configuration.prefix", s3["prefix"], low=1, high=700)

    def experiment_options(self, options: Any) -> None:
        path = "experimentOptions"
        if not self._mapping(path, options):
            return
        if "actionsMode" in options:
            self.add(
                f"{path}.actionsMode",
                "is an option of StartExperiment, not of the template",
                "pass it when starting: --experiment-options actionsMode=skip-all",
            )
        self._unknown_keys(
            path,
            {k: v for k, v in options.items() if k != "actionsMode"},
            ("accountTargeting", "emptyTargetResolutionMode"),
        )
        for key, allowed in (
            ("accountTargeting", ("single-account", "multi-account")),
            ("emptyTargetResolutionMode", ("fail", "skip")),
        ):
            if key in options and not isinstance(options[key], Unresolved) and options[key] not in allowed:
                self.add(f"{path}.{key}", f"{options[key]!r} is not one of {', '.join(allowed)}")

    def report_configuration(self, config: Any) -> None:
        path = "experimentReportConfiguration"
        if not self._mapping(path, config):
            return
        self._unknown_keys(path, config, ("outputs", "dataSources", "preExperimentDuration", "postExperimentDuration"))
        for key in ("preExperimentDuration", "postExperimentDuration"):
            if key in config and self._string(f"{path}.{key}", config[key], high=32):
                try:
                    parse_duration(config[key])
                except DurationError as exc:
                    self.add(f"{path}.{key}", str(exc))


def _referenced_types(action: dict[str, Any], targets: dict[str, Any]) -> set[str]:
    """The (current names of the) resource types of the targets an action names."""
    refs = action.get("targets")
    names = refs.values() if isinstance(refs, dict) else []
    found = {targets[n].get("resourceType") for n in names if isinstance(n, str) and isinstance(targets.get(n), dict)}
    return {canonical_type(t) for t in found if isinstance(t, str)}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
