"""Cloud Map's API rules through its handlers (services/servicediscovery/api.py) on a lab with
one VPC in loopback mode (no DNS server): the async namespace operation, AWS's error codes,
registration, custom health and DiscoverInstances' filters.
https://docs.aws.amazon.com/cloud-map/latest/api/API_Operations.html"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.services.servicediscovery.api import OPERATIONS
from chaoslab.services.servicediscovery.backend import ServiceDiscoveryBackend
from chaoslab.services.servicediscovery.dns import NOERROR, NXDOMAIN, REFUSED

VPC = "vpc-1"


def call(ctx: SimpleNamespace, operation: str, **params: Any) -> Any:
    out = OPERATIONS[operation](ctx, params)
    return asyncio.run(out) if asyncio.iscoroutine(out) else out


def refused(ctx: SimpleNamespace, operation: str, code: str, **params: Any) -> None:
    with pytest.raises(AwsError) as err:
        call(ctx, operation, **params)
    assert err.value.code == code


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    network = SimpleNamespace(mode="loopback", bridge=None)
    lab = SimpleNamespace(
        clock=LabClock(),
        config=LabConfig(home=tmp_path),
        ec2=SimpleNamespace(vpcs={VPC: SimpleNamespace(network=network)}),
    )
    lab.servicediscovery = ServiceDiscoveryBackend(lab)
    return SimpleNamespace(lab=lab, account_id="123456789012", region="us-east-1")


def _service(ctx: SimpleNamespace, custom: bool = False) -> tuple[str, str]:
    op = call(ctx, "CreatePrivateDnsNamespace", Name="Lab.Local", Vpc=VPC)["OperationId"]
    ns_id = call(ctx, "GetOperation", OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    params: dict[str, Any] = {"DnsConfig": {"DnsRecords": [{"Type": "A", "TTL": 10}, {"Type": "SRV", "TTL": 10}]}}
    if custom:
        params["HealthCheckCustomConfig"] = {"FailureThreshold": 1}
    svc = call(ctx, "CreateService", Name="web", NamespaceId=ns_id, **params)["Service"]
    return ns_id, svc["Id"]


def _register(ctx: SimpleNamespace, srv: str, task: str, ip: str, **extra: str) -> None:
    attributes = {"AWS_INSTANCE_IPV4": ip, "AWS_INSTANCE_PORT": "80", **extra}
    call(ctx, "RegisterInstance", ServiceId=srv, InstanceId=task, Attributes=attributes)


def test_a_namespace_is_created_by_an_operation_that_reports_success(ctx: SimpleNamespace) -> None:
    op = call(ctx, "CreatePrivateDnsNamespace", Name="lab.local", Vpc=VPC)["OperationId"]
    operation = call(ctx, "GetOperation", OperationId=op)["Operation"]
    assert (operation["Status"], operation["Type"]) == ("SUCCESS", "CREATE_NAMESPACE")
    ns = call(ctx, "GetNamespace", Id=operation["Targets"]["NAMESPACE"])["Namespace"]
    assert (ns["Name"], ns["Type"], ns["ServiceCount"]) == ("lab.local", "DNS_PRIVATE", 0)
    refused(ctx, "CreatePrivateDnsNamespace", "NamespaceAlreadyExists", Name="lab.local", Vpc=VPC)
    refused(ctx, "CreatePrivateDnsNamespace", "InvalidInput", Name="other.local", Vpc="vpc-nope")


def test_not_found_and_in_use_carry_cloud_maps_codes(ctx: SimpleNamespace) -> None:
    ns_id, srv = _service(ctx)
    refused(ctx, "GetNamespace", "NamespaceNotFound", Id="ns-missing")
    refused(ctx, "GetService", "ServiceNotFound", Id="srv-missing")
    refused(ctx, "GetInstance", "InstanceNotFound", ServiceId=srv, InstanceId="nope")
    refused(ctx, "GetOperation", "OperationNotFound", OperationId="nope")
    refused(ctx, "DeleteNamespace", "ResourceInUse", Id=ns_id)
    _register(ctx, srv, "t1", "10.0.10.4")
    refused(ctx, "DeleteService", "ResourceInUse", Id=srv)
    refused(
        ctx,
        "CreateService",
        "ServiceAlreadyExists",
        Name="WEB",
        NamespaceId=ns_id,
        DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 1}]},
    )
    refused(
        ctx,
        "RegisterInstance",
        "InvalidInput",
        ServiceId=srv,
        InstanceId="t2",
        Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"},
    )
    refused(
        ctx,
        "UpdateInstanceCustomHealthStatus",
        "CustomHealthNotFound",
        ServiceId=srv,
        InstanceId="t1",
        Status="UNHEALTHY",
    )


def test_discover_instances_filters_by_health_and_attributes(ctx: SimpleNamespace) -> None:
    _, srv = _service(ctx, custom=True)
    _register(ctx, srv, "t1", "10.0.10.4", AVAILABILITY_ZONE="us-east-1a")
    _register(ctx, srv, "t2", "10.0.11.5", AVAILABILITY_ZONE="us-east-1b")
    call(ctx, "UpdateInstanceCustomHealthStatus", ServiceId=srv, InstanceId="t2", Status="UNHEALTHY")
    found = call(ctx, "DiscoverInstances", NamespaceName="lab.local", ServiceName="web")
    assert [i["InstanceId"] for i in found["Instances"]] == ["t1"]
    everyone = call(ctx, "DiscoverInstances", NamespaceName="lab.local", ServiceName="web", HealthStatus="ALL")
    assert {i["InstanceId"]: i["HealthStatus"] for i in everyone["Instances"]} == {"t1": "HEALTHY", "t2": "UNHEALTHY"}
    in_b = call(
        ctx,
        "DiscoverInstances",
        NamespaceName="lab.local",
        ServiceName="web",
        HealthStatus="ALL",
        QueryParameters={"AVAILABILITY_ZONE": "us-east-1b"},
    )
    assert [i["InstanceId"] for i in in_b["Instances"]] == ["t2"]
    assert in_b["InstancesRevision"] == 3  # two registrations and one health change
    refused(ctx, "DiscoverInstances", "NamespaceNotFound", NamespaceName="nope.local", ServiceName="web")
    refused(ctx, "DiscoverInstances", "ServiceNotFound", NamespaceName="lab.local", ServiceName="db")
    status = call(ctx, "GetInstancesHealthStatus", ServiceId=srv)["Status"]
    assert status == {"t1": "HEALTHY", "t2": "UNHEALTHY"}


def test_the_dns_view_follows_registrations(ctx: SimpleNamespace) -> None:
    _, srv = _service(ctx)
    _register(ctx, srv, "t1", "10.0.10.4")
    _register(ctx, srv, "t2", "10.0.11.5")
    sd: ServiceDiscoveryBackend = ctx.lab.servicediscovery
    code, found = sd.resolve(VPC, "web.lab.local", "A")
    assert (code, sorted(a.value for a in found)) == (NOERROR, ["10.0.10.4", "10.0.11.5"])
    call(ctx, "DeregisterInstance", ServiceId=srv, InstanceId="t1")
    assert [a.value for a in sd.resolve(VPC, "web.lab.local", "A")[1]] == ["10.0.11.5"]
    assert sd.resolve(VPC, "db.lab.local", "A") == (NXDOMAIN, [])
    assert sd.resolve(VPC, "example.com", "A") == (REFUSED, [])
    assert sd.resolve("vpc-other", "web.lab.local", "A") == (REFUSED, [])
