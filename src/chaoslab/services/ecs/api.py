"""ECS operations (JSON 1.1): clusters, task definitions, services, tasks, tags."""

from __future__ import annotations

import re
from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.ecs.backend import EcsBackend
from chaoslab.types import ApiHandler


def _ecs(ctx: Ctx) -> EcsBackend:
    return ctx.lab.ecs


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    if any(not t.get("key") for t in items or []):
        raise AwsError("InvalidParameterException", "Tag keys must not be empty.")
    return {t["key"]: t.get("value", "") for t in items or []}


# ECS pages its List calls 1..100 items at a time (100 without maxResults; ListServices 10).
PAGES = Paginator(
    token="nextToken",
    size="maxResults",
    default=100,
    bad_token=lambda _: AwsError("InvalidParameterException", "Invalid nextToken."),
    maximum=100,
    bad_size=lambda _, maximum: AwsError("InvalidParameterException", f"maxResults must be between 1 and {maximum}."),
)


def _page(items: list[str], p: dict[str, Any], key: str, *, default: int | None = None) -> dict[str, Any]:
    chunk, more = PAGES.page(items, p, default=default)
    return {key: chunk, **more}


_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _name(value: str, what: str) -> str:
    """ECS cluster and service names: up to 255 letters, numbers, hyphens and underscores."""
    if not _NAME.fullmatch(value):
        raise AwsError(
            "InvalidParameterException",
            f"{what} name can have up to 255 characters: letters (uppercase "
            "and lowercase), numbers, underscores and hyphens.",
        )
    return value


def create_cluster(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    name = _name(p.get("clusterName", "default"), "Cluster")
    c = _ecs(ctx).create_cluster(
        name,
        _tags(p.get("tags")),
        p.get("settings"),
        p.get("capacityProviders"),
        p.get("defaultCapacityProviderStrategy"),
    )
    return {"cluster": _ecs(ctx).describe_cluster(c)}


def put_cluster_capacity_providers(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    c = _ecs(ctx).put_cluster_capacity_providers(
        p["cluster"], p["capacityProviders"], p["defaultCapacityProviderStrategy"]
    )
    return {"cluster": _ecs(ctx).describe_cluster(c)}


def describe_clusters(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    out, failures = [], []
    for ref in p.get("clusters") or ["default"]:
        try:
            out.append(_ecs(ctx).describe_cluster(_ecs(ctx).cluster(ref)))
        except AwsError:
            failures.append(
                {
                    "arn": ref
                    if ref.startswith("arn:")
                    else f"arn:aws:ecs:{ctx.region}:{ctx.account_id}:cluster/{ref}",
                    "reason": "MISSING",
                }
            )
    return {"clusters": out, "failures": failures}


def list_clusters(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return _page([c.arn for c in _ecs(ctx).clusters.values() if c.status == "ACTIVE"], p, "clusterArns")


def delete_cluster(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": _ecs(ctx).describe_cluster(_ecs(ctx).delete_cluster(p["cluster"]))}


def register_task_definition(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    td = _ecs(ctx).task_definitions.register(p)
    return {"taskDefinition": td, "tags": p.get("tags", [])}


def describe_task_definition(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"taskDefinition": _ecs(ctx).task_definitions.get(p["taskDefinition"])}


def list_task_definitions(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    arns = _ecs(ctx).task_definitions.arns(p.get("familyPrefix"), p.get("status", "ACTIVE"))
    if p.get("sort") == "DESC":
        arns.reverse()
    return _page(arns, p, "taskDefinitionArns")


def deregister_task_definition(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"taskDefinition": _ecs(ctx).task_definitions.deregister(p["taskDefinition"])}


def _grace(p: dict[str, Any]) -> int | None:
    """ECS: the health check grace period is 0 or more seconds."""
    grace = p.get("healthCheckGracePeriodSeconds")
    if grace is not None and grace < 0:
        raise AwsError("InvalidParameterException", "healthCheckGracePeriodSeconds must be greater than or equal to 0.")
    return grace


def create_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    if "taskDefinition" not in p:
        raise AwsError(
            "InvalidParameterException",
            "TaskDefinition must be specified for a service that uses the ECS deployment controller.",
        )
    try:
        svc = _ecs(ctx).create_service(
            p.get("cluster"),
            _name(p["serviceName"], "Service"),
            p["taskDefinition"],
            int(p.get("desiredCount", 0)),
            launch_type=p.get("launchType"),
            capacity_provider_strategy=p.get("capacityProviderStrategy"),
            load_balancers=p.get("loadBalancers"),
            network_configuration=p.get("networkConfiguration"),
            grace=_grace(p) or 0,
            deployment_configuration=p.get("deploymentConfiguration"),
            tags=_tags(p.get("tags")),
            service_registries=p.get("serviceRegistries"),
        )
    except AwsError as e:
        if e.code != "TargetGroupNotFound":
            raise
        # ELBv2's code means nothing to an ECS client; ECS answers a bad targetGroupArn this way.
        raise AwsError(
            "InvalidParameterException", f"Unable to validate the specified target group: {e.message}"
        ) from None
    return {"service": _ecs(ctx).describe_service(svc)}


def update_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    svc = _ecs(ctx).update_service(
        p.get("cluster"),
        p["service"],
        desired_count=p.get("desiredCount"),
        task_definition=p.get("taskDefinition"),
        force_new_deployment=bool(p.get("forceNewDeployment")),
        grace=_grace(p),
        service_registries=p.get("serviceRegistries"),
    )
    return {"service": _ecs(ctx).describe_service(svc)}


def describe_services(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """A deleted service still describes as INACTIVE (AWS keeps it for a while), which is what
    `aws ecs wait services-inactive` waits for; only a never-created one is MISSING."""
    cluster = _ecs(ctx).cluster(p.get("cluster"))
    out, failures = [], []
    for ref in p["services"]:
        svc = _ecs(ctx).services.get((cluster.name, ref.rsplit("/", 1)[-1]))
        if svc is None:
            failures.append({"arn": ref, "reason": "MISSING"})
        else:
            out.append(_ecs(ctx).describe_service(svc))
    return {"services": out, "failures": failures}


def list_services(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    cluster = _ecs(ctx).cluster(p.get("cluster"))
    arns = [s.arn for s in _ecs(ctx).services.values() if s.cluster is cluster and s.status != "INACTIVE"]
    return _page(arns, p, "serviceArns", default=10)


async def delete_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    svc = await _ecs(ctx).delete_service(p.get("cluster"), p["service"], bool(p.get("force")))
    return {"service": _ecs(ctx).describe_service(svc)}


async def run_task(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    provider = (p.get("capacityProviderStrategy") or [{}])[0].get("capacityProvider")
    tasks = await _ecs(ctx).run_task(
        p.get("cluster"),
        p["taskDefinition"],
        int(p.get("count", 1)),
        started_by=p.get("startedBy"),
        group=p.get("group"),
        network_configuration=p.get("networkConfiguration"),
        launch_type=p.get("launchType"),
        capacity_provider=provider,
        tags=_tags(p.get("tags")),
        overrides=p.get("overrides"),
    )
    return {"tasks": [t.describe() for t in tasks], "failures": []}


async def stop_task(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    task = await _ecs(ctx).stop_task(p.get("cluster"), p["task"], p.get("reason"))
    return {"task": task.describe()}


def list_tasks(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    arns = _ecs(ctx).list_tasks(
        p.get("cluster"),
        service=p.get("serviceName"),
        family=p.get("family"),
        desired_status=p.get("desiredStatus", "RUNNING"),
        started_by=p.get("startedBy"),
    )
    return _page(arns, p, "taskArns")


def describe_tasks(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    out, failures = [], []
    for ref in p["tasks"]:
        try:
            out.append(_ecs(ctx).get_task(p.get("cluster"), ref).describe())
        except AwsError as e:
            if e.code == "ClusterNotFoundException":
                raise
            failures.append({"arn": ref, "reason": "MISSING"})
    return {"tasks": out, "failures": failures}


EXECUTE_COMMAND_UNSUPPORTED = (
    "The execute command failed because execute command was not enabled when the task was run or the "
    "execute command agent isn't running. chaoslab has no Session Manager agent in its tasks: run "
    "`chaoslab exec {task} -- COMMAND` on the lab's machine instead."
)


def execute_command(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    """ECS Exec needs SSM Session Manager's agent and websocket; the lab has neither, so it answers
    as ECS does for a task without it and points to the lab's own way in."""
    task = _ecs(ctx).get_task(p.get("cluster"), p["task"])
    raise AwsError("InvalidParameterException", EXECUTE_COMMAND_UNSUPPORTED.format(task=task.task_id))


def _taggable(ctx: Ctx, arn: str) -> Any:
    ecs = _ecs(ctx)
    for c in ecs.clusters.values():
        if c.arn == arn:
            return c
    for s in ecs.services.values():
        if s.arn == arn:
            return s
    task = ecs.task_by_arn(arn) if ":task/" in arn else None
    if task is not None:
        return task
    raise AwsError("InvalidParameterException", f"The specified resource {arn} was not found.")


def tag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _taggable(ctx, p["resourceArn"]).tags.update(_tags(p["tags"]))
    return {}


def untag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    resource = _taggable(ctx, p["resourceArn"])
    for k in p["tagKeys"]:
        resource.tags.pop(k, None)
    return {}


def list_tags_for_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"tags": [{"key": k, "value": v} for k, v in _taggable(ctx, p["resourceArn"]).tags.items()]}


OPERATIONS: dict[str, ApiHandler] = {
    "CreateCluster": create_cluster,
    "PutClusterCapacityProviders": put_cluster_capacity_providers,
    "DescribeClusters": describe_clusters,
    "ListClusters": list_clusters,
    "DeleteCluster": delete_cluster,
    "RegisterTaskDefinition": register_task_definition,
    "DescribeTaskDefinition": describe_task_definition,
    "ListTaskDefinitions": list_task_definitions,
    "DeregisterTaskDefinition": deregister_task_definition,
    "CreateService": create_service,
    "UpdateService": update_service,
    "DescribeServices": describe_services,
    "ListServices": list_services,
    "DeleteService": delete_service,
    "RunTask": run_task,
    "StopTask": stop_task,
    "ListTasks": list_tasks,
    "DescribeTasks": describe_tasks,
    "ExecuteCommand": execute_command,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
