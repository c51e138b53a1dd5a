"""ServiceDiscoveryBackend (`lab.servicediscovery`): Cloud Map's namespaces, services and
instances, `DiscoverInstances`, and one DNS server per VPC that has a namespace, answering from
the instances registered now. Knows AWS semantics, nothing about HTTP."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.ids import hex_id
from chaoslab.services.servicediscovery import records
from chaoslab.services.servicediscovery.dns import NOERROR, NXDOMAIN, REFUSED, DnsServer
from chaoslab.services.servicediscovery.models import DiscoveryService, Instance, Namespace, Operation
from chaoslab.types import LabLike

log = logging.getLogger(__name__)
HEALTH_FILTERS = ("HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL")


def _status(code: str, status: int) -> Any:
    return lambda message: AwsError(code, message, status)


namespace_not_found = _status("NamespaceNotFound", 404)
service_not_found = _status("ServiceNotFound", 404)
instance_not_found = _status("InstanceNotFound", 404)
operation_not_found = _status("OperationNotFound", 404)
resource_in_use = _status("ResourceInUse", 409)


class ServiceDiscoveryBackend:
    """One region's Cloud Map, private DNS namespaces only."""

    def __init__(self, lab: LabLike) -> None:
        self.lab = lab
        self.namespaces: dict[str, Namespace] = {}
        self.services: dict[str, DiscoveryService] = {}
        self.operations: dict[str, Operation] = {}
        self.revisions: dict[str, int] = {}  # service id -> InstancesRevision
        self.servers: dict[str, DnsServer] = {}  # VPC id -> its DNS server

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for server in self.servers.values():
            server.close()
        self.servers.clear()

    def _arn(self, resource: str) -> str:
        return make_arn("servicediscovery", self.lab.config.region, self.lab.config.account_id, resource)

    def _operation(self, kind: str, targets: dict[str, str]) -> Operation:
        op = Operation(hex_id(32), kind, targets, self.lab.config.account_id, self.lab.clock.now())
        self.operations[op.id] = op
        return op

    # namespaces ------------------------------------------------------------------------------
    async def create_private_dns_namespace(
        self,
        name: str,
        vpc: str,
        *,
        creator_request_id: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> Operation:
        """A namespace in `vpc`; the VPC's DNS server starts answering for it."""
        name = name.rstrip(".").lower()
        if vpc not in self.lab.ec2.vpcs:
            raise records.invalid(f"VPC {vpc} does not exist.")
        for ns in self.namespaces.values():
            if creator_request_id and ns.creator_request_id == creator_request_id:
                if ns.name != name:
                    raise AwsError("DuplicateRequest", f"Request {creator_request_id} made {ns.name}.", 409)
                return self.operation(ns.operation_id)  # a retried request: its first answer again
            if ns.name == name and ns.vpc == vpc:
                raise AwsError("NamespaceAlreadyExists", f"Namespace {name} already exists in {vpc}.")
        ns_id = "ns-" + hex_id(16)
        ns = Namespace(
            ns_id,
            self._arn(f"namespace/{ns_id}"),
            name,
            vpc,
            self.lab.config.account_id,
            self.lab.clock.now(),
            "Z" + hex_id(20).upper(),
            description,
            creator_request_id,
            dict(tags or {}),
        )
        await self._serve(vpc)
        self.namespaces[ns_id] = ns
        ns.operation_id = self._operation("CREATE_NAMESPACE", {"NAMESPACE": ns_id}).id
        return self.operation(ns.operation_id)

    async def _serve(self, vpc: str) -> None:
        """Start the VPC's DNS server, once; none in loopback mode, where units have no
        resolver of their own (docs/service-discovery.md)."""
        network = self.lab.ec2.vpcs[vpc].network
        if vpc in self.servers or network.mode != "netns" or network.bridge is None:
            return
        await network.create()
        server = DnsServer(network.bridge, network.service_ip, lambda q, t: self.resolve(vpc, q, t))
        try:
            await server.start()
        except OSError as exc:
            log.warning("no discovery DNS for %s: cannot listen on %s:53: %s", vpc, network.service_ip, exc)
            return
        self.servers[vpc] = server

    def namespace(self, ns_id: str) -> Namespace:
        ns = self.namespaces.get(ns_id)
        if ns is None:
            raise namespace_not_found(f"Namespace {ns_id} not found.")
        return ns

    def service_count(self, ns: Namespace) -> int:
        return sum(s.namespace is ns for s in self.services.values())

    def list_namespaces(self, filters: Iterable[dict[str, Any]] = ()) -> list[Namespace]:
        found = list(self.namespaces.values())
        for f in filters:
            name, values, cond = f["Name"], f["Values"], f.get("Condition", "EQ")
            if name == "TYPE":
                found = [ns for ns in found if "DNS_PRIVATE" in values]
            elif name in ("NAME", "HTTP_NAME"):
                found = [ns for ns in found if _matches(ns.name, values, cond)]
            elif name == "RESOURCE_OWNER":
                found = [ns for ns in found if "SELF" in values or ns.owner in values]
        return found

    def delete_namespace(self, ns_id: str) -> Operation:
        ns = self.namespace(ns_id)
        if self.service_count(ns):
            raise resource_in_use(f"Namespace {ns_id} has services; delete them first.")
        del self.namespaces[ns_id]
        return self._operation("DELETE_NAMESPACE", {"NAMESPACE": ns_id})

    # services --------------------------------------------------------------------------------
    def create_service(
        self,
        name: str,
        namespace_id: str | None,
        dns_config: dict[str, Any] | None,
        *,
        custom_health: dict[str, Any] | None = None,
        health_check: dict[str, Any] | None = None,
        description: str = "",
        creator_request_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> DiscoveryService:
        if health_check is not None:
            raise records.invalid("Route 53 health checks need public DNS namespaces, which the lab does not have.")
        ns_id = namespace_id or (dns_config or {}).get("NamespaceId")
        if not ns_id:
            raise records.invalid("NamespaceId is required.")
        ns = self.namespace(ns_id)
        if dns_config is None:
            raise records.invalid("A service in a DNS namespace needs a DnsConfig.")
        dns_records = [{"Type": r["Type"], "TTL": int(r["TTL"])} for r in dns_config.get("DnsRecords", [])]
        policy = dns_config.get("RoutingPolicy", "MULTIVALUE")
        records.check_dns_config(dns_records, policy)
        for svc in self.services.values():
            if creator_request_id and svc.creator_request_id == creator_request_id and svc.name == name:
                return svc  # a retried request: the same service, as Cloud Map answers it
            if svc.namespace is ns and svc.name.lower() == name.lower():
                raise AwsError("ServiceAlreadyExists", f"Service {name} already exists in {ns.name}.")
        srv_id = "srv-" + hex_id(16)
        svc = DiscoveryService(
            srv_id,
            self._arn(f"service/{srv_id}"),
            name,
            ns,
            self.lab.config.account_id,
            self.lab.clock.now(),
            dns_records,
            policy,
            None if custom_health is None else {"FailureThreshold": int(custom_health.get("FailureThreshold", 1))},
            description,
            creator_request_id,
            dict(tags or {}),
        )
        self.services[srv_id] = svc
        return svc

    def service(self, srv_id: str) -> DiscoveryService:
        svc = self.services.get(srv_id)
        if svc is None:
            raise service_not_found(f"Service {srv_id} not found.")
        return svc

    def service_by_arn(self, arn: str) -> DiscoveryService | None:
        return next((s for s in self.services.values() if s.arn == arn), None)

    def list_services(self, filters: Iterable[dict[str, Any]] = ()) -> list[DiscoveryService]:
        found = list(self.services.values())
        for f in filters:
            if f["Name"] == "NAMESPACE_ID":
                found = [s for s in found if s.namespace.id in f["Values"]]
        return found

    def delete_service(self, srv_id: str) -> None:
        svc = self.service(srv_id)
        if svc.instances:
            raise resource_in_use(f"Service {srv_id} has registered instances; deregister them first.")
        del self.services[srv_id]

    # instances -------------------------------------------------------------------------------
    def register_instance(
        self, srv_id: str, instance_id: str, attributes: dict[str, str], creator_request_id: str | None = None
    ) -> Operation:
        """Register (or re-register, replacing its attributes) one endpoint of a service."""
        svc = self.service(srv_id)
        records.check_attributes([r["Type"] for r in svc.records], attributes)
        health = None
        if svc.custom_health is not None:
            health = attributes.get(records.INIT_HEALTH, "HEALTHY")
        svc.instances[instance_id] = Instance(
            instance_id, dict(attributes), self.lab.config.account_id, health, creator_request_id
        )
        self._changed(svc)
        return self._operation("REGISTER_INSTANCE", {"INSTANCE": instance_id, "SERVICE": srv_id})

    def deregister_instance(self, srv_id: str, instance_id: str) -> Operation:
        svc = self.service(srv_id)
        if svc.instances.pop(instance_id, None) is None:
            raise instance_not_found(f"Instance {instance_id} not found in service {srv_id}.")
        self._changed(svc)
        return self._operation("DEREGISTER_INSTANCE", {"INSTANCE": instance_id, "SERVICE": srv_id})

    def instance(self, srv_id: str, instance_id: str) -> Instance:
        found = self.service(srv_id).instances.get(instance_id)
        if found is None:
            raise instance_not_found(f"Instance {instance_id} not found in service {srv_id}.")
        return found

    def set_custom_health(self, srv_id: str, instance_id: str, status: str) -> None:
        svc = self.service(srv_id)
        if svc.custom_health is None:
            raise AwsError("CustomHealthNotFound", f"Service {srv_id} has no custom health check.", 404)
        inst = self.instance(srv_id, instance_id)
        if inst.health != status:
            inst.health = status
            self._changed(svc)

    def _changed(self, svc: DiscoveryService) -> None:
        self.revisions[svc.id] = self.revisions.get(svc.id, 0) + 1

    def operation(self, op_id: str) -> Operation:
        op = self.operations.get(op_id)
        if op is None:
            raise operation_not_found(f"Operation {op_id} not found.")
        return op

    def list_operations(self, filters: Iterable[dict[str, Any]] = ()) -> list[Operation]:
        found = list(self.operations.values())
        for f in filters:
            name, values = f["Name"], f["Values"]
            if name == "STATUS":
                found = [op for op in found if op.status in values]
            elif name == "TYPE":
                found = [op for op in found if op.type in values]
            elif name == "NAMESPACE_ID":
                found = [op for op in found if op.targets.get("NAMESPACE") in values]
            elif name == "SERVICE_ID":
                found = [op for op in found if op.targets.get("SERVICE") in values]
        return found

    # discovery -------------------------------------------------------------------------------
    def discover(
        self,
        namespace_name: str,
        service_name: str,
        health: str = "HEALTHY",
        query: dict[str, str] | None = None,
        optional: dict[str, str] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """DiscoverInstances: the instances whose attributes match `query` (and `optional`, when
        any does), filtered by health; and the service's InstancesRevision."""
        if health not in HEALTH_FILTERS:
            raise records.invalid(f"HealthStatus {health} is not valid.")
        ns = next((n for n in self.namespaces.values() if n.name == namespace_name.rstrip(".").lower()), None)
        if ns is None:
            raise namespace_not_found(f"Namespace {namespace_name} not found.")
        svc = next(
            (s for s in self.services.values() if s.namespace is ns and s.name.lower() == service_name.lower()), None
        )
        if svc is None:
            raise service_not_found(f"Service {service_name} not found in {namespace_name}.")
        found = [i for i in svc.instances.values() if _has(i.attributes, query or {})]
        narrowed = [i for i in found if _has(i.attributes, optional or {})]
        found = narrowed or found
        healthy = [i for i in found if i.health_status != "UNHEALTHY"]
        if health == "HEALTHY":
            found = healthy
        elif health == "UNHEALTHY":
            found = [i for i in found if i.health_status == "UNHEALTHY"]
        elif health == "HEALTHY_OR_ELSE_ALL":
            found = healthy or found
        out = [
            {
                "InstanceId": i.id,
                "NamespaceName": ns.name,
                "ServiceName": svc.name,
                "HealthStatus": i.health_status,
                "Attributes": dict(i.attributes),
            }
            for i in found
        ]
        return out, self.revisions.get(svc.id, 0)

    def resolve(self, vpc: str, qname: str, qtype: str) -> tuple[int, list[records.Answer]]:
        """A DNS query from a unit of `vpc`: NOERROR with the answers, NXDOMAIN for a name
        in one of the VPC's namespaces that no service has, REFUSED for every other name."""
        spaces = [ns for ns in self.namespaces.values() if ns.vpc == vpc]
        if not any(qname == ns.name or qname.endswith("." + ns.name) for ns in spaces):
            return REFUSED, []
        for svc in self.services.values():
            if svc.namespace not in spaces:
                continue
            endpoints = [
                records.Endpoint(i.id, i.attributes, i.health_status != "UNHEALTHY") for i in svc.instances.values()
            ]
            found = records.answers(qname, qtype, svc.fqdn, svc.records, svc.routing_policy, endpoints)
            if found is not None:
                return NOERROR, found
        if any(qname == ns.name for ns in spaces):
            return NOERROR, []
        return NXDOMAIN, []

    # tags ------------------------------------------------------------------------------------
    def tags_of(self, arn: str) -> dict[str, str]:
        tagged: list[Namespace | DiscoveryService] = [*self.namespaces.values(), *self.services.values()]
        for item in tagged:
            if item.arn == arn:
                return item.tags
        raise AwsError("ResourceNotFoundException", f"Resource {arn} not found.", 404)


def _matches(value: str, wanted: list[str], condition: str) -> bool:
    if condition == "BEGINS_WITH":
        return any(value.startswith(w.lower()) for w in wanted)
    return value in [w.rstrip(".").lower() for w in wanted]


def _has(attributes: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(attributes.get(k) == v for k, v in wanted.items())
