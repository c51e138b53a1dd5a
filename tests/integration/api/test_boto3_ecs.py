"""ECS with unmodified boto3 against a real lab: standalone tasks are real processes (run, list,
describe, stop), tags round-trip, and errors arrive as botocore's modeled exceptions."""

from __future__ import annotations

import pytest
from api_lab import LabHandle, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

TASK_DEF = {
    "family": "worker",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {"name": "web", "image": "chaoslab/static", "essential": True, "portMappings": [{"containerPort": 8081}]}
    ],
}


@pytest.fixture(scope="module")
def ecs(lab: LabHandle):
    client = lab.client("ecs")
    client.create_cluster(clusterName="batch", tags=[{"key": "team", "value": "sre"}])
    client.register_task_definition(**TASK_DEF)
    return client


def test_tasks_run_as_real_units_and_stop(lab: LabHandle, ecs) -> None:
    subnets = [s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"]]
    run = ecs.run_task(
        cluster="batch",
        taskDefinition="worker",
        count=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
        startedBy="pytest",
    )
    assert run["failures"] == [] and len(run["tasks"]) == 2
    arns = [t["taskArn"] for t in run["tasks"]]

    def running() -> list[dict]:
        tasks = ecs.describe_tasks(cluster="batch", tasks=arns)["tasks"]
        return tasks if all(t["lastStatus"] == "RUNNING" for t in tasks) else []

    tasks = wait_for(running, 30, "tasks RUNNING")
    assert {t["taskDefinitionArn"].rsplit("/", 1)[1] for t in tasks} == {"worker:1"}
    assert {t["startedBy"] for t in tasks} == {"pytest"}
    assert sorted(ecs.list_tasks(cluster="batch", startedBy="pytest")["taskArns"]) == sorted(arns)
    assert sorted(ecs.list_tasks(cluster="batch", family="worker")["taskArns"]) == sorted(arns)
    live = {t["id"] for t in lab.status()["tasks"] if t["state"] == "RUNNING"}
    assert {a.rsplit("/", 1)[1] for a in arns} <= live

    stopped = ecs.stop_task(cluster="batch", task=arns[0], reason="pytest says stop")["task"]
    assert stopped["desiredStatus"] == "STOPPED"
    ecs.get_waiter("tasks_stopped").wait(cluster="batch", tasks=[arns[0]], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    final = ecs.describe_tasks(cluster="batch", tasks=[arns[0]])["tasks"][0]
    assert final["stopCode"] == "UserInitiated" and final["stoppedReason"] == "pytest says stop"
    assert ecs.list_tasks(cluster="batch", desiredStatus="STOPPED")["taskArns"] == [arns[0]]
    ecs.stop_task(cluster="batch", task=arns[1])


def test_clusters_task_definitions_and_tags(ecs) -> None:
    cluster = ecs.describe_clusters(clusters=["batch"], include=["TAGS"])["clusters"][0]
    assert cluster["status"] == "ACTIVE" and cluster["tags"] == [{"key": "team", "value": "sre"}]
    assert cluster["clusterArn"] in ecs.list_clusters()["clusterArns"]
    ecs.tag_resource(resourceArn=cluster["clusterArn"], tags=[{"key": "tier", "value": "1"}])
    ecs.untag_resource(resourceArn=cluster["clusterArn"], tagKeys=["team"])
    assert ecs.list_tags_for_resource(resourceArn=cluster["clusterArn"])["tags"] == [{"key": "tier", "value": "1"}]

    second = ecs.register_task_definition(**TASK_DEF)["taskDefinition"]
    assert second["revision"] >= 2
    assert ecs.describe_task_definition(taskDefinition="worker")["taskDefinition"]["revision"] == second["revision"]
    gone = ecs.deregister_task_definition(taskDefinition=f"worker:{second['revision']}")["taskDefinition"]
    assert gone["status"] == "INACTIVE"
    assert second["taskDefinitionArn"] not in ecs.list_task_definitions(familyPrefix="worker")["taskDefinitionArns"]

    ecs.create_cluster(clusterName="short-lived")
    assert ecs.delete_cluster(cluster="short-lived")["cluster"]["status"] == "INACTIVE"


def test_errors_are_modeled_exceptions(ecs) -> None:
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.list_services(cluster="no-such-cluster")
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.describe_services(cluster="no-such-cluster", services=["x"])
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.update_service(cluster="batch", service="no-such-service", desiredCount=1)
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.run_task(cluster="batch", taskDefinition="worker", count=11)
    with pytest.raises(ecs.exceptions.ClientException):
        ecs.describe_task_definition(taskDefinition="no-such-family")
    bad = dict(
        TASK_DEF,
        containerDefinitions=[dict(TASK_DEF["containerDefinitions"][0], healthCheck={"command": ["curl localhost"]})],
    )
    with pytest.raises(ecs.exceptions.ClientException) as err:
        ecs.register_task_definition(**bad)
    assert "healthCheck" in str(err.value)
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        ecs.create_service(
            cluster="batch",
            serviceName="lb",
            taskDefinition="worker",
            desiredCount=1,
            loadBalancers=[
                {
                    "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                    "targetgroup/nope/0123456789abcdef",
                    "containerName": "web",
                    "containerPort": 8081,
                }
            ],
        )
    assert "nope" in str(err.value)
    missing = ecs.describe_services(cluster="batch", services=["never-made"])
    assert missing["services"] == [] and missing["failures"][0]["reason"] == "MISSING"


def test_a_clusters_default_strategy_places_tasks_by_base_then_weight(lab: LabHandle, ecs) -> None:
    """Seed 004's strategy: FARGATE base 2, then FARGATE_SPOT three times as often as FARGATE."""
    strategy = [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3},
    ]
    cluster = ecs.put_cluster_capacity_providers(
        cluster="batch", capacityProviders=["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy=strategy
    )["cluster"]
    assert cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3},
    ]
    subnets = [s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"]]
    service = ecs.create_service(
        cluster="batch",
        serviceName="spread",
        taskDefinition="worker",
        desiredCount=6,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
    )["service"]
    assert "launchType" not in service or not service["launchType"]
    assert [s["capacityProvider"] for s in service["capacityProviderStrategy"]] == ["FARGATE", "FARGATE_SPOT"]
    arns = wait_for(
        lambda: (a := ecs.list_tasks(cluster="batch", serviceName="spread")["taskArns"]) and len(a) == 6 and a,
        30,
        "six tasks",
    )
    placed = sorted(t["capacityProviderName"] for t in ecs.describe_tasks(cluster="batch", tasks=arns)["tasks"])
    assert placed == ["FARGATE"] * 3 + ["FARGATE_SPOT"] * 3  # 2 base, the other 4 split 1:3
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="both a launch type and capacity provider"):
        ecs.create_service(
            cluster="batch",
            serviceName="both",
            taskDefinition="worker",
            desiredCount=1,
            launchType="FARGATE",
            capacityProviderStrategy=strategy,
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
        )
    ecs.delete_service(cluster="batch", service="spread", force=True)
