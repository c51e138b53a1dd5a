"""An Automation document (schemaVersion 0.3, JSON or YAML) read into what an execution needs:
its parameters and its steps, each with its action, inputs, outputs and failure rules. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

ACTIONS = ("aws:sleep", "aws:executeAwsApi", "aws:runCommand", "aws:executeScript")
OUTPUT_TYPES = ("String", "Integer", "Boolean", "StringList", "StringMap", "MapList")
_STEP_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")


class RunbookError(ValueError):
    """Content that is not a runbook the lab can run; the message says where and why."""


@dataclass(frozen=True)
class Output:
    name: str
    selector: str
    type: str


@dataclass(frozen=True)
class Step:
    name: str
    action: str
    inputs: dict[str, Any]
    on_failure: str = "Abort"  # Abort, Continue or step:<name>
    timeout_seconds: float | None = None
    max_attempts: int = 1
    outputs: tuple[Output, ...] = ()
    is_end: bool = False
    next_step: str | None = None
    is_critical: bool = True  # a failure of this step fails the execution, even when it goes on


@dataclass(frozen=True)
class Parameter:
    type: str
    default: Any = None
    required: bool = True


@dataclass(frozen=True)
class Runbook:
    description: str
    assume_role: str | None
    parameters: dict[str, Parameter]
    steps: tuple[Step, ...]
    outputs: tuple[str, ...]

    def step_index(self, name: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.name == name)


def load_content(content: str, fmt: str = "JSON") -> dict[str, Any]:
    """The document's content as a mapping (`fmt` JSON or YAML, as CreateDocument's DocumentFormat)."""
    try:
        data = yaml.safe_load(content) if fmt == "YAML" else json.loads(content)
    except (ValueError, yaml.YAMLError) as exc:
        raise RunbookError(f"the content is not valid {fmt}: {exc}") from None
    if not isinstance(data, dict):
        raise RunbookError("the content must be a mapping")
    return data


def parse(data: dict[str, Any]) -> Runbook:
    """The runbook in `data`; a `RunbookError` names the first thing wrong."""
    if str(data.get("schemaVersion")) != "0.3":
        raise RunbookError(f"schemaVersion must be 0.3 for an Automation document, not {data.get('schemaVersion')!r}")
    raw_steps = data.get("mainSteps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RunbookError("mainSteps must be a non-empty list")
    steps = tuple(_step(i, s) for i, s in enumerate(raw_steps))
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise RunbookError("step names must be unique")
    for s in steps:
        for target in (s.on_failure.removeprefix("step:") if s.on_failure.startswith("step:") else None, s.next_step):
            if target is not None and target not in names:
                raise RunbookError(f"step {s.name} goes to {target}, which is not a step of this document")
    outputs = data.get("outputs") or []
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise RunbookError("outputs must be a list of step.Output names")
    role = data.get("assumeRole")
    return Runbook(
        str(data.get("description", "")),
        str(role) if role else None,
        _parameters(data.get("parameters") or {}),
        steps,
        tuple(outputs),
    )


def _parameters(raw: Any) -> dict[str, Parameter]:
    if not isinstance(raw, dict):
        raise RunbookError("parameters must be a mapping")
    out = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or "type" not in spec:
            raise RunbookError(f"parameters.{name} must be a mapping with a type")
        out[str(name)] = Parameter(str(spec["type"]), spec.get("default"), "default" not in spec)
    return out


def _step(index: int, raw: Any) -> Step:
    where = f"mainSteps[{index}]"
    if not isinstance(raw, dict):
        raise RunbookError(f"{where} must be a mapping")
    name, action = raw.get("name"), raw.get("action")
    if not isinstance(name, str) or not _STEP_NAME.match(name):
        raise RunbookError(f"{where}.name must be 1-128 letters, digits or underscores")
    if action not in ACTIONS:
        raise RunbookError(f"{where}.action {action!r} is not one the lab runs ({', '.join(ACTIONS)})")
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise RunbookError(f"{where}.inputs must be a mapping")
    on_failure = str(raw.get("onFailure", "Abort"))
    if on_failure not in ("Abort", "Continue") and not on_failure.startswith("step:"):
        raise RunbookError(f"{where}.onFailure must be Abort, Continue or step:<name>, not {on_failure!r}")
    try:
        timeout = float(raw["timeoutSeconds"]) if "timeoutSeconds" in raw else None
        attempts = int(raw.get("maxAttempts", 1))
    except (TypeError, ValueError):
        raise RunbookError(f"{where}: timeoutSeconds and maxAttempts must be numbers") from None
    if attempts < 1 or (timeout is not None and timeout <= 0):
        raise RunbookError(f"{where}: maxAttempts must be at least 1 and timeoutSeconds positive")
    return Step(
        name,
        action,
        inputs,
        on_failure,
        timeout,
        attempts,
        tuple(_output(where, o) for o in raw.get("outputs") or []),
        bool(raw.get("isEnd", False)),
        str(raw["nextStep"]) if raw.get("nextStep") else None,
        str(raw.get("isCritical", True)).lower() != "false",
    )


def _output(where: str, raw: Any) -> Output:
    if not isinstance(raw, dict) or not {"Name", "Selector"} <= set(raw):
        raise RunbookError(f"{where}.outputs: each output needs Name and Selector")
    kind = str(raw.get("Type", "String"))
    if kind not in OUTPUT_TYPES:
        raise RunbookError(f"{where}.outputs.{raw['Name']}: Type {kind} is not one of {', '.join(OUTPUT_TYPES)}")
    return Output(str(raw["Name"]), str(raw["Selector"]), kind)
