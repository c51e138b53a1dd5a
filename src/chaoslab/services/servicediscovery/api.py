"""Cloud Map operations (JSON 1.1, target prefix Route53AutoNaming_v20170314). DiscoverInstances
is the data-plane call SDKs send to the `data-` host; the lab answers it on its one endpoint."""

from __future__ import annotations

from typing import Any

from chaoslab.aws.context import RequestContext as Ctx
from chaoslab.aws.paging import Paginator
from chaoslab.errors import AwsError
from chaoslab.services.servicediscovery.backend import ServiceDiscoveryBackend
from chaoslab.types import ApiHandler

PAGES = Paginator(
    token="NextToken",
    size="MaxResults",
    default=100,
    bad_token=lambda _: AwsError("InvalidInput", "The NextToken is not valid."),
)


def _sd(ctx: Ctx) -> ServiceDiscoveryBackend:
    backend: ServiceDiscoveryBackend = ctx.lab.servicediscovery
    return backend


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


async def create_private_dns_namespace(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    op = await _sd(ctx).create_private_dns_namespace(
        p["Name"],
        p["Vpc"],
        creator_request_id=p.get("CreatorRequestId"),
        description=p.get("Description", ""),
        tags=_tags(p.get("Tags")),
    )
    return {"OperationId": op.id}


def get_namespace(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    ns = _sd(ctx).namespace(p["Id"])
    return {"Namespace": ns.describe(_sd(ctx).service_count(ns))}


def list_namespaces(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = _sd(ctx).list_namespaces(p.get("Filters") or [])
    chunk, more = PAGES.page([ns.summary(_sd(ctx).service_count(ns)) for ns in found], p)
    return {"Namespaces": chunk, **more}


def delete_namespace(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"OperationId": _sd(ctx).delete_namespace(p["Id"]).id}


def create_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("Type") == "HTTP":
        raise AwsError("InvalidInput", "Type HTTP is for HTTP namespaces; this is a DNS namespace.")
    svc = _sd(ctx).create_service(
        p["Name"],
        p.get("NamespaceId"),
        p.get("DnsConfig"),
        custom_health=p.get("HealthCheckCustomConfig"),
        health_check=p.get("HealthCheckConfig"),
        description=p.get("Description", ""),
        creator_request_id=p.get("CreatorRequestId"),
        tags=_tags(p.get("Tags")),
    )
    return {"Service": svc.describe()}


def get_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"Service": _sd(ctx).service(p["Id"]).describe()}


def list_services(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    chunk, more = PAGES.page([s.summary() for s in _sd(ctx).list_services(p.get("Filters") or [])], p)
    return {"Services": chunk, **more}


def delete_service(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _sd(ctx).delete_service(p["Id"])
    return {}


def register_instance(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    op = _sd(ctx).register_instance(p["ServiceId"], p["InstanceId"], p["Attributes"], p.get("CreatorRequestId"))
    return {"OperationId": op.id}


def deregister_instance(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"OperationId": _sd(ctx).deregister_instance(p["ServiceId"], p["InstanceId"]).id}


def list_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = [i.describe() for i in _sd(ctx).service(p["ServiceId"]).instances.values()]
    for item in found:
        item.pop("CreatorRequestId", None)  # an InstanceSummary has no such member
    chunk, more = PAGES.page(found, p)
    return {"ResourceOwner": ctx.account_id, "Instances": chunk, **more}


def get_instance(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    instance = _sd(ctx).instance(p["ServiceId"], p["InstanceId"])
    return {"ResourceOwner": ctx.account_id, "Instance": instance.describe()}


def get_instances_health_status(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    svc = _sd(ctx).service(p["ServiceId"])
    ids = p.get("Instances") or list(svc.instances)
    statuses = [(i, _sd(ctx).instance(svc.id, i).health_status) for i in ids]
    chunk, more = PAGES.page(statuses, p)
    return {"Status": dict(chunk), **more}


def update_instance_custom_health_status(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _sd(ctx).set_custom_health(p["ServiceId"], p["InstanceId"], p["Status"])
    return {}


def discover_instances(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found, revision = _sd(ctx).discover(
        p["NamespaceName"],
        p["ServiceName"],
        p.get("HealthStatus", "HEALTHY"),
        p.get("QueryParameters"),
        p.get("OptionalParameters"),
    )
    return {"Instances": found[: int(p.get("MaxResults", 100))], "InstancesRevision": revision}


def get_operation(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"Operation": _sd(ctx).operation(p["OperationId"]).describe()}


def list_operations(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    found = [{"Id": op.id, "Status": op.status} for op in _sd(ctx).list_operations(p.get("Filters") or [])]
    chunk, more = PAGES.page(found, p)
    return {"Operations": chunk, **more}


def tag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    _sd(ctx).tags_of(p["ResourceARN"]).update(_tags(p["Tags"]))
    return {}


def untag_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    tags = _sd(ctx).tags_of(p["ResourceARN"])
    for key in p["TagKeys"]:
        tags.pop(key, None)
    return {}


def list_tags_for_resource(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": [{"Key": k, "Value": v} for k, v in _sd(ctx).tags_of(p["ResourceARN"]).items()]}


OPERATIONS: dict[str, ApiHandler] = {
    "CreatePrivateDnsNamespace": create_private_dns_namespace,
    "GetNamespace": get_namespace,
    "ListNamespaces": list_namespaces,
    "DeleteNamespace": delete_namespace,
    "CreateService": create_service,
    "GetService": get_service,
    "ListServices": list_services,
    "DeleteService": delete_service,
    "RegisterInstance": register_instance,
    "DeregisterInstance": deregister_instance,
    "ListInstances": list_instances,
    "GetInstance": get_instance,
    "GetInstancesHealthStatus": get_instances_health_status,
    "UpdateInstanceCustomHealthStatus": update_instance_custom_health_status,
    "DiscoverInstances": discover_instances,
    "GetOperation": get_operation,
    "ListOperations": list_operations,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
