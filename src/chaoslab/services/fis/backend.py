"""FIS semantics for the lab (`lab.fis`): templates, experiments, the catalogue, tags, the safety
lever and target account configurations. Knows nothing about HTTP; `api.py` maps operations here.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.faults.replay import Entry, revert_entries
from chaoslab.ids import fis_id
from chaoslab.services.fis import models
from chaoslab.services.fis.catalogue import ACTIONS, TARGET_TYPES
from chaoslab.services.fis.engine import ExperimentRun
from chaoslab.services.fis.models import EXPERIMENT_KIND, LEVER_KIND, TEMPLATE_KIND, not_found, public
from chaoslab.services.fis.validation import to_aws_error, validate_template

MAX_TEMPLATES = 500
MAX_ACTIVE_EXPERIMENTS = 5
MAX_TARGET_ACCOUNTS = 10
RECOVERED_REASON = "The lab stopped while the experiment was running; its faults were reverted at the next start."
SHUTDOWN_REASON = "Experiment stopped: the lab is shutting down."
LEVER_REASON = "Experiment stopped: the safety lever was engaged."


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)


class FisBackend:
    """One account's FIS in one region.

    `time_scale` multiplies every action duration: wall seconds per template second, by default
    the lab clock's (1 / its scale; tests set it directly to compress PT1M to a second);
    `stop_condition_interval` is how often alarms are re-read besides the alarm listener.
    """

    def __init__(
        self,
        lab: Any,
        *,
        time_scale: float | None = None,
        stop_condition_interval: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.lab = lab
        self.region = lab.config.region
        self.account_id = lab.config.account_id
        self.time_scale = lab.clock.wall(1.0) if time_scale is None else time_scale
        self.stop_condition_interval = stop_condition_interval
        self.rng = rng or random.Random()
        self._runs: dict[str, ExperimentRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def _recovered(self, entry: Entry) -> None:
        self.lab.events.emit(
            "fault.reverted", fault=entry["fault"], target=entry["record"].get("target"), experiment=entry["owner"]
        )

    def arn(self, kind: str, id: str) -> str:
        return models.fis_arn(self.region, self.account_id, kind, id)

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Revert faults of experiments a crashed lab left running and mark them failed; finish
        engaging a safety lever the crash interrupted (else it stays `engaging`, and every
        UpdateSafetyLeverState is a conflict, for good)."""
        lever = self.lab.store.get(LEVER_KIND, "default")
        if lever is not None and lever["state"]["status"] == "engaging":
            lever["state"] = {**lever["state"], "status": "engaged"}
            self.lab.store.put(LEVER_KIND, "default", lever)
        experiments = {e["id"]: e for e in self.lab.store.list(EXPERIMENT_KIND)}
        problems: dict[str, list[str]] = {}
        for entry in self.lab.store.journal_pending():
            if entry["owner"] not in experiments:
                continue
            failures = await revert_entries(self.lab, self.lab.store, [entry], self._recovered)
            if failures:
                problems.setdefault(entry["owner"], []).extend(failures)
        for exp in experiments.values():
            if exp["state"]["status"] not in models.ACTIVE:
                continue
            for action in exp["actions"].values():
                status = action["state"]["status"]
                if status == "pending":
                    action["state"] = {"status": "cancelled", "reason": "The lab stopped before the action started."}
                elif status in ("initiating", "running", "stopping"):
                    action["state"] = {"status": "stopped", "reason": "The lab stopped while the action was running."}
            reason = RECOVERED_REASON
            if exp["id"] in problems:
                reason += " Some reverts failed: " + "; ".join(problems[exp["id"]])
            old = exp["state"]["status"]
            exp["state"] = {
                "status": "failed",
                "reason": reason[:512],
                "error": {"accountId": self.account_id, "code": "InternalFailure"},
            }
            exp["endTime"] = exp.get("endTime") or exp["creationTime"]
            self.save_experiment(exp)
            self.lab.events.emit(
                "experiment.state",
                experiment=exp["id"],
                template=exp["experimentTemplateId"],
                old=old,
                new="failed",
                reason=reason,
            )

    async def stop(self) -> None:
        """Stop every running experiment so its faults are reverted before the lab goes down."""
        for run in list(self._runs.values()):
            run.request_stop(SHUTDOWN_REASON, prompt=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # templates -------------------------------------------------------------------------------
    def create_experiment_template(self, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("clientToken")
        request = {k: v for k, v in body.items() if k != "clientToken"}
        if token:
            for t in self.lab.store.list(TEMPLATE_KIND):
                if t.get("_clientToken") == token:
                    if t.get("_request") != request:
                        raise _conflict("The clientToken was already used with a different request.")
                    return public(t)
        error = to_aws_error(validate_template(body))
        if error:
            raise error
        if len(self.lab.store.list(TEMPLATE_KIND)) >= MAX_TEMPLATES:
            raise AwsError(
                "ServiceQuotaExceededException",
                f"You have reached the quota of {MAX_TEMPLATES} experiment templates.",
                402,
            )
        id = fis_id("EXT")
        template = models.build_template(request, id, self.arn("experiment-template", id))
        template["_clientToken"] = token
        template["_request"] = request
        self.lab.store.put(TEMPLATE_KIND, id, template)
        return public(template)

    def _template(self, id: str) -> dict[str, Any]:
        template = self.lab.store.get(TEMPLATE_KIND, id) if id else None
        if template is None:
            raise not_found("Experiment template", id)
        return template

    def get_experiment_template(self, id: str) -> dict[str, Any]:
        return public(self._template(id))

    def update_experiment_template(self, id: str, changes: dict[str, Any]) -> dict[str, Any]:
        template = self._template(id)
        options = changes.get("experimentOptions")
        if options is not None and set(options) - {"emptyTargetResolutionMode"}:
            raise _validation("Only emptyTargetResolutionMode can be updated in experimentOptions.")
        body: dict[str, Any] = {
            k: template[k]
            for k in (
                "description",
                "targets",
                "actions",
                "stopConditions",
                "roleArn",
                "logConfiguration",
                "experimentReportConfiguration",
            )
            if k in template
        }
        body["experimentOptions"] = template["experimentOptions"]
        for key in (
            "description",
            "targets",
            "actions",
            "stopConditions",
            "roleArn",
            "logConfiguration",
            "experimentReportConfiguration",
        ):
            if key in changes and changes[key] is not None:
                body[key] = changes[key]
        if options:
            body["experimentOptions"] = {**template["experimentOptions"], **options}
        error = to_aws_error(validate_template(body))
        if error:
            raise error
        updated = models.build_template(body, id, template["arn"], template["creationTime"])
        updated["tags"] = template["tags"]
        for key in ("_clientToken", "_request", "_targetAccountConfigurations"):
            if key in template:
                updated[key] = template[key]
        updated["targetAccountConfigurationsCount"] = template["targetAccountConfigurationsCount"]
        updated["lastUpdateTime"] = max(time.time(), template["lastUpdateTime"])
        self.lab.store.put(TEMPLATE_KIND, id, updated)
        return public(updated)

    def delete_experiment_template(self, id: str) -> dict[str, Any]:
        template = self._template(id)
        self.lab.store.delete(TEMPLATE_KIND, id)
        return public(template)

    def list_experiment_templates(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items = [models.template_summary(t) for t in self.lab.store.list(TEMPLATE_KIND)]
        return models.PAGES.slice(sorted(items, key=lambda t: t["creationTime"]), next_token, max_results)

    # experiments -----------------------------------------------------------------------------
    async def start_experiment(
        self,
        template_id: str,
        client_token: str | None = None,
        tags: dict[str, str] | None = None,
        actions_mode: str = "run-all",
    ) -> dict[str, Any]:
        """Create the experiment and run it as a task on this loop; returns it as StartExperiment does."""
        request = {"experimentTemplateId": template_id, "tags": tags or {}, "actionsMode": actions_mode}
        if client_token:
            for e in self.lab.store.list(EXPERIMENT_KIND):
                if e.get("_clientToken") == client_token:
                    if e.get("_request", request) != request:
                        raise _conflict("The clientToken was already used with a different request.")
                    return public(self._experiment(e["id"]))
        if actions_mode not in ("run-all", "skip-all"):
            raise _validation(f"actionsMode {actions_mode!r} is not one of run-all, skip-all.")
        if tags and len(tags) > 50:
            raise _validation("An experiment can have at most 50 tags.")
        template = self._template(template_id)
        if len(self._runs) >= MAX_ACTIVE_EXPERIMENTS:
            raise AwsError(
                "ServiceQuotaExceededException",
                f"You have reached the quota of {MAX_ACTIVE_EXPERIMENTS} active experiments.",
                402,
            )
        id = fis_id("EXP")
        experiment = models.build_experiment(template, id, self.arn("experiment", id), tags or {}, actions_mode)
        experiment["_clientToken"] = client_token
        experiment["_request"] = request
        self.save_experiment(experiment)
        self.lab.events.emit(
            "experiment.state",
            experiment=id,
            template=template_id,
            old=None,
            new="initiating",
            reason=experiment["state"]["reason"],
        )
        run = ExperimentRun(self, experiment, self.rng)
        self._runs[id] = run
        task = asyncio.get_running_loop().create_task(self._drive(run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return public(experiment)

    async def _drive(self, run: ExperimentRun) -> None:
        try:
            await run.run()
        finally:
            self._runs.pop(run.exp["id"], None)

    def save_experiment(self, experiment: dict[str, Any]) -> None:
        self.lab.store.put(EXPERIMENT_KIND, experiment["id"], experiment)

    def _experiment(self, id: str) -> dict[str, Any]:
        run = self._runs.get(id)
        if run is not None:
            return run.exp
        experiment = self.lab.store.get(EXPERIMENT_KIND, id) if id else None
        if experiment is None:
            raise not_found("Experiment", id)
        return experiment

    def get_experiment(self, id: str) -> dict[str, Any]:
        return public(self._experiment(id))

    async def stop_experiment(self, id: str) -> dict[str, Any]:
        experiment = self._experiment(id)
        run = self._runs.get(id)
        if run is None or experiment["state"]["status"] in models.TERMINAL:
            raise _validation(f"Experiment {id} is not running; it is {experiment['state']['status']}.")
        run.request_stop("Experiment stopped.")
        return public(run.exp)

    async def wait_experiment(self, id: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the experiment reaches a terminal state (asyncio.TimeoutError after `timeout`)."""
        run = self._runs.get(id)
        if run is not None:
            await asyncio.wait_for(asyncio.shield(run.done.wait()), timeout)
        return self.get_experiment(id)

    def list_experiments(
        self, template_id: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items = [
            models.experiment_summary(self._runs[e["id"]].exp if e["id"] in self._runs else e)
            for e in self.lab.store.list(EXPERIMENT_KIND)
            if template_id is None or e["experimentTemplateId"] == template_id
        ]
        return models.PAGES.slice(sorted(items, key=lambda e: e["creationTime"]), next_token, max_results)

    def list_experiment_resolved_targets(
        self, id: str, target_name: str | None = None, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        experiment = self._experiment(id)
        if target_name is not None and target_name not in experiment["targets"]:
            raise not_found("Target", target_name)
        items = [r for r in experiment["_resolved"] if target_name is None or r["targetName"] == target_name]
        return models.PAGES.slice(items, next_token, max_results)

    # catalogue -------------------------------------------------------------------------------
    def get_action(self, id: str) -> dict[str, Any]:
        spec = ACTIONS.get(id)
        if spec is None:
            raise AwsError("ResourceNotFoundException", f"Action with ID {id} not found.", 404)
        return {
            **self._action_summary(id),
            "parameters": {
                n: {"description": p.description, "required": p.required} for n, p in spec.parameters.items()
            },
        }

    def _action_summary(self, id: str) -> dict[str, Any]:
        spec = ACTIONS[id]
        return {
            "id": id,
            "arn": self.arn("action", id),
            "description": spec.description,
            "targets": {k: {"resourceType": t} for k, t in spec.targets.items()},
            "tags": {},
        }

    def list_actions(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return models.PAGES.slice([self._action_summary(i) for i in sorted(ACTIONS)], next_token, max_results)

    def get_target_resource_type(self, resource_type: str) -> dict[str, Any]:
        spec = TARGET_TYPES.get(resource_type)
        if spec is None:
            raise AwsError("ResourceNotFoundException", f"Target resource type {resource_type} not found.", 404)
        return {
            "resourceType": resource_type,
            "description": spec.description,
            "parameters": {
                n: {"description": p.description, "required": p.required} for n, p in spec.parameters.items()
            },
        }

    def list_target_resource_types(
        self, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items = [{"resourceType": t, "description": TARGET_TYPES[t].description} for t in sorted(TARGET_TYPES)]
        return models.PAGES.slice(items, next_token, max_results)

    # tags ------------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> tuple[str, dict[str, Any]]:
        match = re.match(r"^arn:aws:fis:[^:]*:\d*:(experiment-template|experiment)/(.+)$", arn or "")
        if not match:
            raise not_found("Resource", arn)
        kind = TEMPLATE_KIND if match.group(1) == "experiment-template" else EXPERIMENT_KIND
        doc = self._experiment(match.group(2)) if kind == EXPERIMENT_KIND else self._template(match.group(2))
        return kind, doc

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        kind, doc = self._tagged(arn)
        merged = {**doc.get("tags", {}), **tags}
        if len(merged) > 50:
            raise _validation("A resource can have at most 50 tags.")
        doc["tags"] = merged
        self.lab.store.put(kind, doc["id"], doc)

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        kind, doc = self._tagged(arn)
        doc["tags"] = {k: v for k, v in doc.get("tags", {}).items() if k not in set(keys or [])}
        self.lab.store.put(kind, doc["id"], doc)

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn)[1].get("tags", {}))

    # safety lever ------------------------------------------------------------------------------
    def _lever(self, id: str) -> dict[str, Any]:
        if id != "default":
            raise not_found("Safety lever", id)
        return self.lab.store.get(LEVER_KIND, id) or {
            "id": id,
            "arn": self.arn("safety-lever", id),
            "state": {"status": "disengaged", "reason": ""},
        }

    def lever_engaged(self) -> bool:
        return self._lever("default")["state"]["status"] in ("engaging", "engaged")

    def get_safety_lever(self, id: str) -> dict[str, Any]:
        return self._lever(id)

    async def update_safety_lever_state(self, id: str, status: str, reason: str) -> dict[str, Any]:
        """Engaging stops every running experiment (and refuses new ones) before it reports engaged."""
        lever = self._lever(id)
        if status not in ("engaged", "disengaged"):
            raise _validation(f"status {status!r} is not one of engaged, disengaged.")
        if not reason:
            raise _validation("A reason is required to change the safety lever state.")
        current = lever["state"]["status"]
        if current == "engaging":
            raise _conflict("The safety lever is engaging; wait until it is engaged.")
        if current == status:
            raise _conflict(f"The safety lever is already {status}.")
        if status == "engaged":
            lever["state"] = {"status": "engaging", "reason": reason}
            self.lab.store.put(LEVER_KIND, id, lever)
            runs = list(self._runs.values())
            for run in runs:
                run.request_stop(LEVER_REASON)
            await asyncio.gather(*(run.done.wait() for run in runs))
        lever["state"] = {"status": status, "reason": reason}
        self.lab.store.put(LEVER_KIND, id, lever)
        self.lab.events.emit("fis.safety-lever", status=status, reason=reason)
        return lever

    # target account configurations -------------------------------------------------------------
    def create_target_account_configuration(
        self, template_id: str, account_id: str, role_arn: str, description: str | None = None
    ) -> dict[str, Any]:
        template = self._template(template_id)
        if template["experimentOptions"].get("accountTargeting") != "multi-account":
            raise _validation("Target account configurations need experimentOptions.accountTargeting multi-account.")
        if not re.fullmatch(r"\d{12}", account_id or ""):
            raise _validation(f"accountId {account_id!r} must be 12 digits.")
        configs = template.setdefault("_targetAccountConfigurations", {})
        if account_id in configs:
            raise _conflict(f"A target account configuration for {account_id} already exists.")
        if len(configs) >= MAX_TARGET_ACCOUNTS:
            raise AwsError(
                "ServiceQuotaExceededException",
                f"A template can have at most {MAX_TARGET_ACCOUNTS} target account configurations.",
                402,
            )
        config = {"roleArn": role_arn, "accountId": account_id, "description": description or ""}
        configs[account_id] = config
        template["targetAccountConfigurationsCount"] = len(configs)
        self.lab.store.put(TEMPLATE_KIND, template_id, template)
        return dict(config)

    def _account_config(self, template_id: str, account_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        template = self._template(template_id)
        config = template.get("_targetAccountConfigurations", {}).get(account_id)
        if config is None:
            raise not_found("Target account configuration", account_id)
        return template, config

    def get_target_account_configuration(self, template_id: str, account_id: str) -> dict[str, Any]:
        return dict(self._account_config(template_id, account_id)[1])

    def update_target_account_configuration(
        self, template_id: str, account_id: str, role_arn: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        template, config = self._account_config(template_id, account_id)
        if role_arn is not None:
            config["roleArn"] = role_arn
        if description is not None:
            config["description"] = description
        self.lab.store.put(TEMPLATE_KIND, template_id, template)
        return dict(config)

    def delete_target_account_configuration(self, template_id: str, account_id: str) -> dict[str, Any]:
        template, config = self._account_config(template_id, account_id)
        del template["_targetAccountConfigurations"][account_id]
        template["targetAccountConfigurationsCount"] = len(template["_targetAccountConfigurations"])
        self.lab.store.put(TEMPLATE_KIND, template_id, template)
        return dict(config)

    def list_target_account_configurations(
        self, template_id: str, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        configs = self._template(template_id).get("_targetAccountConfigurations", {})
        return models.PAGES.slice([dict(c) for c in configs.values()], next_token, max_results)

    def get_experiment_target_account_configuration(self, experiment_id: str, account_id: str) -> dict[str, Any]:
        config = self._experiment(experiment_id).get("_targetAccountConfigurations", {}).get(account_id)
        if config is None:
            raise not_found("Target account configuration", account_id)
        return dict(config)

    def list_experiment_target_account_configurations(
        self, experiment_id: str, next_token: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        configs = self._experiment(experiment_id).get("_targetAccountConfigurations", {})
        return models.PAGES.slice([dict(c) for c in configs.values()], next_token, None)

    def experiment_log(self, id: str) -> list[dict[str, Any]]:
        """The experiment's FIS log records, as written to `<home>/fis-logs/<id>.jsonl`."""
        self._experiment(id)
        path = self.lab.config.home / "fis-logs" / f"{id}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []
