"""FIS documents as the API shapes them: templates, experiments, the safety lever, paging.

Templates and experiments are plain dicts in the API's output shape, persisted in `lab.store`;
keys that start with `_` are the lab's own bookkeeping and never leave `public()`.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError

TEMPLATE_KIND = "fis.template"
EXPERIMENT_KIND = "fis.experiment"
LEVER_KIND = "fis.safety-lever"

TERMINAL = ("completed", "stopped", "failed", "cancelled")
ACTIVE = ("pending", "initiating", "running", "stopping")

DEFAULT_OPTIONS = {"accountTargeting": "single-account", "emptyTargetResolutionMode": "fail"}


def fis_arn(region: str, account: str, kind: str, id: str) -> str:
    return f"arn:aws:fis:{region}:{account}:{kind}/{id}"


def not_found(what: str, id: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"{what} {id} not found.", 404)


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without the lab's private keys, safe to hand to callers."""
    return {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}


def normalise_target(target: dict[str, Any]) -> dict[str, Any]:
    out = {"resourceType": target["resourceType"], "selectionMode": target.get("selectionMode", "ALL")}
    for key in ("resourceArns", "resourceTags", "filters", "parameters"):
        if target.get(key):
            out[key] = copy.deepcopy(target[key])
    return out


def normalise_action(action: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"actionId": action["actionId"]}
    for key in ("description", "parameters", "targets", "startAfter"):
        if action.get(key):
            out[key] = copy.deepcopy(action[key])
    return out


def build_template(body: dict[str, Any], id: str, arn: str, now: float | None = None) -> dict[str, Any]:
    """A stored template from a validated CreateExperimentTemplate body."""
    now = time.time() if now is None else now
    template: dict[str, Any] = {
        "id": id,
        "arn": arn,
        "description": body.get("description", ""),
        "targets": {n: normalise_target(t) for n, t in (body.get("targets") or {}).items()},
        "actions": {n: normalise_action(a) for n, a in body["actions"].items()},
        "stopConditions": copy.deepcopy(body["stopConditions"]),
        "creationTime": now,
        "lastUpdateTime": now,
        "roleArn": body["roleArn"],
        "tags": dict(body.get("tags") or {}),
        "experimentOptions": {**DEFAULT_OPTIONS, **(body.get("experimentOptions") or {})},
        "targetAccountConfigurationsCount": 0,
    }
    for key in ("logConfiguration", "experimentReportConfiguration"):
        if body.get(key):
            template[key] = copy.deepcopy(body[key])
    return template


def template_summary(t: dict[str, Any]) -> dict[str, Any]:
    return {k: t[k] for k in ("id", "arn", "description", "creationTime", "lastUpdateTime", "tags")}


def experiment_summary(e: dict[str, Any]) -> dict[str, Any]:
    return {
        k: copy.deepcopy(e[k])
        for k in ("id", "arn", "experimentTemplateId", "state", "creationTime", "tags", "experimentOptions")
    }


def build_experiment(
    template: dict[str, Any], id: str, arn: str, tags: dict[str, str], actions_mode: str, now: float | None = None
) -> dict[str, Any]:
    """A new experiment: a frozen copy of its template, every action pending."""
    now = time.time() if now is None else now
    actions = {}
    for name, action in template["actions"].items():
        actions[name] = {**copy.deepcopy(action), "state": {"status": "pending", "reason": "Initial state"}}
    experiment: dict[str, Any] = {
        "id": id,
        "arn": arn,
        "experimentTemplateId": template["id"],
        "roleArn": template["roleArn"],
        "state": {"status": "initiating", "reason": "Experiment is initiating."},
        "targets": copy.deepcopy(template["targets"]),
        "actions": actions,
        "stopConditions": copy.deepcopy(template["stopConditions"]),
        "creationTime": now,
        "tags": dict(tags),
        "experimentOptions": {**template["experimentOptions"], "actionsMode": actions_mode},
        "targetAccountConfigurationsCount": template.get("targetAccountConfigurationsCount", 0),
        "_resolved": [],
        "_targetAccountConfigurations": copy.deepcopy(template.get("_targetAccountConfigurations", {})),
    }
    for key in ("logConfiguration", "experimentReportConfiguration"):
        if key in template:
            experiment[key] = copy.deepcopy(template[key])
    return experiment


PAGES = Paginator(
    token="nextToken",
    size="maxResults",
    default=100,
    bad_token=lambda _: AwsError("ValidationException", "The nextToken is not valid.", 400),
    maximum=100,
    bad_size=lambda _, maximum: AwsError("ValidationException", f"maxResults must be between 1 and {maximum}.", 400),
)
