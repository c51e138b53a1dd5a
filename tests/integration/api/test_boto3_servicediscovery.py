"""Cloud Map service discovery against a real lab, through boto3 only: a private DNS namespace
and a service with A and SRV records, an ECS service whose tasks register in it, a name lookup
run inside a task (the `chaoslab exec` path) that resolves to the running tasks' addresses
through the lab's DNS server, DiscoverInstances listing them, and a stopped task's address gone
from the next answer. The stack file makes a namespace and a registered ECS service of its own.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

from chaoslab.labctl import exec_in_task

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(90)]

LOOKUP = (
    "import json, socket; from dnslib import DNSRecord; "
    "a = sorted({i[4][0] for i in socket.getaddrinfo('web.lab.local', 80, type=socket.SOCK_STREAM)}); "
    "srv = DNSRecord.parse(DNSRecord.question('web.lab.local', 'SRV').send(open('/etc/resolv.conf').read().split()[1], 53, timeout=2)); "
    "print(json.dumps({'a': a, 'srv': sorted((r.rdata.port, str(r.rdata.target)) for r in srv.rr)}))"
)


STACK = {
    "service_discovery": {"namespaces": [{"name": "stack.local", "services": [{"name": "api", "ttl": 5}]}]},
    "ecs": {
        "clusters": ["stacked"],
        "task_definitions": [
            {
                "family": "api",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {"name": "api", "image": "chaoslab/static", "portMappings": [{"containerPort": 8085}]}
                ],
            }
        ],
        "services": [
            {
                "name": "api",
                "cluster": "stacked",
                "task_definition": "api",
                "desired_count": 1,
                "service_registry": {"namespace": "stack.local", "service": "api"},
            }
        ],
    },
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    handle = start_lab(tmp_path_factory.mktemp("cloudmap"), stack_doc("cloudmap", STACK))
    yield handle
    stop_and_check(handle)


def _in_task(lab: LabHandle, task: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = exec_in_task(lab.config, lab.info, task, None, list(argv))
    return code, capsys.readouterr().out


def test_tasks_are_found_by_name_and_a_stopped_one_disappears(
    lab: LabHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    sd, ecs, ec2 = lab.client("servicediscovery", inject_host_prefix=False), lab.client("ecs"), lab.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
    op = sd.create_private_dns_namespace(Name="lab.local", Vpc=vpc)["OperationId"]
    operation = sd.get_operation(OperationId=op)["Operation"]
    assert operation["Status"] == "SUCCESS"
    ns_id = operation["Targets"]["NAMESPACE"]
    service = sd.create_service(
        Name="web",
        NamespaceId=ns_id,
        DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 5}, {"Type": "SRV", "TTL": 5}]},
        HealthCheckCustomConfig={"FailureThreshold": 1},
    )["Service"]
    with pytest.raises(sd.exceptions.NamespaceNotFound):
        sd.get_namespace(Id="ns-missing")

    ecs.create_cluster(clusterName="discovery")
    container = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8084}]}
    ecs.register_task_definition(family="web", networkMode="awsvpc", containerDefinitions=[container])
    ecs.create_service(
        cluster="discovery",
        serviceName="web",
        taskDefinition="web",
        desiredCount=2,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
        serviceRegistries=[{"registryArn": service["Arn"], "containerName": "web", "containerPort": 8084}],
    )

    def registered() -> list[dict] | None:
        found = sd.discover_instances(NamespaceName="lab.local", ServiceName="web")["Instances"]
        return found if len(found) == 2 else None

    instances = wait_for(registered, 30, "both tasks registered in Cloud Map")
    ips = sorted(i["Attributes"]["AWS_INSTANCE_IPV4"] for i in instances)
    assert {i["Attributes"]["ECS_SERVICE_NAME"] for i in instances} == {"web"}
    assert {i["Attributes"]["AWS_INSTANCE_PORT"] for i in instances} == {"8084"}
    tasks = {i["InstanceId"]: i["Attributes"]["AWS_INSTANCE_IPV4"] for i in instances}
    described = ecs.describe_services(cluster="discovery", services=["web"])["services"][0]
    assert described["serviceRegistries"][0]["registryArn"] == service["Arn"]

    first, second = sorted(tasks)
    code, out = _in_task(lab, first, capsys, sys.executable, "-c", LOOKUP)
    assert code == 0, out
    seen = json.loads(out)
    assert seen["a"] == ips
    stacked = sd.discover_instances(NamespaceName="stack.local", ServiceName="api")["Instances"]
    code, out = _in_task(lab, first, capsys, "getent", "hosts", "api.stack.local")
    assert code == 0 and out.split()[0] == stacked[0]["Attributes"]["AWS_INSTANCE_IPV4"], out
    assert seen["srv"] == sorted([8084, f"{t}.web.lab.local."] for t in tasks)

    ecs.stop_task(cluster="discovery", task=second)
    wait_for(
        lambda: second not in {i["Id"] for i in sd.list_instances(ServiceId=service["Id"])["Instances"]},
        15,
        "the stopped task deregistered",
    )
    code, out = _in_task(lab, first, capsys, sys.executable, "-c", LOOKUP)
    assert code == 0, out
    assert tasks[second] not in json.loads(out)["a"]
