"""FIS operations (rest-json), keyed by botocore operation name; each maps onto `lab.fis`."""

from __future__ import annotations

from typing import Any

from chaoslab.types import ApiHandler


def _page(key: str, result: tuple[list[Any], str | None]) -> dict[str, Any]:
    items, token = result
    return {key: items, **({"nextToken": token} if token else {})}


def create_experiment_template(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"experimentTemplate": ctx.lab.fis.create_experiment_template(p)}


def get_experiment_template(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"experimentTemplate": ctx.lab.fis.get_experiment_template(p["id"])}


def update_experiment_template(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in p.items() if k != "id"}
    return {"experimentTemplate": ctx.lab.fis.update_experiment_template(p["id"], changes)}


def delete_experiment_template(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"experimentTemplate": ctx.lab.fis.delete_experiment_template(p["id"])}


def list_experiment_templates(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page("experimentTemplates", ctx.lab.fis.list_experiment_templates(p.get("maxResults"), p.get("nextToken")))


async def start_experiment(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    mode = (p.get("experimentOptions") or {}).get("actionsMode", "run-all")
    experiment = await ctx.lab.fis.start_experiment(
        p["experimentTemplateId"], p.get("clientToken"), p.get("tags"), mode
    )
    return {"experiment": experiment}


def get_experiment(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": ctx.lab.fis.get_experiment(p["id"])}


async def stop_experiment(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": await ctx.lab.fis.stop_experiment(p["id"])}


def list_experiments(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page(
        "experiments",
        ctx.lab.fis.list_experiments(p.get("experimentTemplateId"), p.get("maxResults"), p.get("nextToken")),
    )


def list_experiment_resolved_targets(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page(
        "resolvedTargets",
        ctx.lab.fis.list_experiment_resolved_targets(
            p["experimentId"], p.get("targetName"), p.get("maxResults"), p.get("nextToken")
        ),
    )


def get_action(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"action": ctx.lab.fis.get_action(p["id"])}


def list_actions(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page("actions", ctx.lab.fis.list_actions(p.get("maxResults"), p.get("nextToken")))


def get_target_resource_type(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"targetResourceType": ctx.lab.fis.get_target_resource_type(p["resourceType"])}


def list_target_resource_types(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page("targetResourceTypes", ctx.lab.fis.list_target_resource_types(p.get("maxResults"), p.get("nextToken")))


def tag_resource(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    ctx.lab.fis.tag_resource(p["resourceArn"], p.get("tags") or {})
    return {}


def untag_resource(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    ctx.lab.fis.untag_resource(p["resourceArn"], p.get("tagKeys") or [])
    return {}


def list_tags_for_resource(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"tags": ctx.lab.fis.list_tags_for_resource(p["resourceArn"])}


def get_safety_lever(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {"safetyLever": ctx.lab.fis.get_safety_lever(p["id"])}


async def update_safety_lever_state(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    state = p.get("state") or {}
    lever = await ctx.lab.fis.update_safety_lever_state(p["id"], state.get("status"), state.get("reason"))
    return {"safetyLever": lever}


def create_target_account_configuration(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAccountConfiguration": ctx.lab.fis.create_target_account_configuration(
            p["experimentTemplateId"], p["accountId"], p["roleArn"], p.get("description")
        )
    }


def get_target_account_configuration(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAccountConfiguration": ctx.lab.fis.get_target_account_configuration(
            p["experimentTemplateId"], p["accountId"]
        )
    }


def update_target_account_configuration(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAccountConfiguration": ctx.lab.fis.update_target_account_configuration(
            p["experimentTemplateId"], p["accountId"], p.get("roleArn"), p.get("description")
        )
    }


def delete_target_account_configuration(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAccountConfiguration": ctx.lab.fis.delete_target_account_configuration(
            p["experimentTemplateId"], p["accountId"]
        )
    }


def list_target_account_configurations(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page(
        "targetAccountConfigurations",
        ctx.lab.fis.list_target_account_configurations(
            p["experimentTemplateId"], p.get("maxResults"), p.get("nextToken")
        ),
    )


def get_experiment_target_account_configuration(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAccountConfiguration": ctx.lab.fis.get_experiment_target_account_configuration(
            p["experimentId"], p["accountId"]
        )
    }


def list_experiment_target_account_configurations(ctx: Any, p: dict[str, Any]) -> dict[str, Any]:
    return _page(
        "targetAccountConfigurations",
        ctx.lab.fis.list_experiment_target_account_configurations(p["experimentId"], p.get("nextToken")),
    )


OPERATIONS: dict[str, ApiHandler] = {
    "CreateExperimentTemplate": create_experiment_template,
    "GetExperimentTemplate": get_experiment_template,
    "UpdateExperimentTemplate": update_experiment_template,
    "DeleteExperimentTemplate": delete_experiment_template,
    "ListExperimentTemplates": list_experiment_templates,
    "StartExperiment": start_experiment,
    "GetExperiment": get_experiment,
    "StopExperiment": stop_experiment,
    "ListExperiments": list_experiments,
    "ListExperimentResolvedTargets": list_experiment_resolved_targets,
    "GetAction": get_action,
    "ListActions": list_actions,
    "GetTargetResourceType": get_target_resource_type,
    "ListTargetResourceTypes": list_target_resource_types,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "GetSafetyLever": get_safety_lever,
    "UpdateSafetyLeverState": update_safety_lever_state,
    "CreateTargetAccountConfiguration": create_target_account_configuration,
    "GetTargetAccountConfiguration": get_target_account_configuration,
    "UpdateTargetAccountConfiguration": update_target_account_configuration,
    "DeleteTargetAccountConfiguration": delete_target_account_configuration,
    "ListTargetAccountConfigurations": list_target_account_configurations,
    "GetExperimentTargetAccountConfiguration": get_experiment_target_account_configuration,
    "ListExperimentTargetAccountConfigurations": list_experiment_target_account_configurations,
}
