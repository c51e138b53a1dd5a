"""boto3's own paginators against a real lab: with the smallest page each call allows, they walk
EC2 instances, ECS tasks, ELBv2 target groups, RDS instances and Auto Scaling groups to the end
and see every item exactly once. A page size below the call's AWS minimum (EC2's 5, RDS's 20) is
refused as AWS refuses it."""

from __future__ import annotations

import pytest
from api_lab import LabHandle, free_port, stack_doc, start_lab, stop_and_check, wait_for
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

TASK_DEF = {
    "family": "pager",
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "256",
    "memory": "512",
    "containerDefinitions": [
        {"name": "web", "image": "chaoslab/static", "essential": True, "portMappings": [{"containerPort": 8082}]}
    ],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    group = {"image": "chaoslab/static", "port": 80, "min": 3, "max": 3, "desired": 3}
    doc = stack_doc(
        "pagetest",
        {
            "auto_scaling_groups": [{"name": "pages-a", **group}, {"name": "pages-b", **group}],
            "database": {
                "cluster": "pages-db",
                "engine": "aurora-postgresql",
                "database": "pages",
                "username": "admin1",
                "password": "chaos-lab-secret",
                "port": free_port(),
                "instances": [{"id": "pages-db-1", "az": "us-east-1a"}, {"id": "pages-db-2", "az": "us-east-1b"}],
            },
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("paging"), doc)
    yield handle
    stop_and_check(handle)


def _walk(client, operation: str, key: str, size: int, **params) -> list:
    """Every item boto3's paginator yields, and the number of pages it took."""
    pages = list(client.get_paginator(operation).paginate(PaginationConfig={"PageSize": size}, **params))
    return [item for page in pages for item in page[key]], len(pages)


def test_paginators_walk_every_item_once(lab: LabHandle) -> None:
    ec2, ecs, elbv2 = lab.client("ec2"), lab.client("ecs"), lab.client("elbv2")
    rds, asg = lab.client("rds"), lab.client("autoscaling")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    for n in range(3):
        elbv2.create_target_group(Name=f"pages-{n}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    ecs.create_cluster(clusterName="pager")
    ecs.register_task_definition(**TASK_DEF)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
    ecs.run_task(
        cluster="pager",
        taskDefinition="pager",
        count=3,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
    )
    wait_for(lambda: len(ec2.describe_instances()["Reservations"]) == 6, 60, "six instances")

    reservations, pages = _walk(ec2, "describe_instances", "Reservations", 5)
    ids = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    assert len(ids) == len(set(ids)) == 6 and pages == 2

    tasks, pages = _walk(ecs, "list_tasks", "taskArns", 1, cluster="pager")
    assert len(tasks) == len(set(tasks)) == 3 and pages == 3

    groups, pages = _walk(elbv2, "describe_target_groups", "TargetGroups", 1)
    assert sorted(g["TargetGroupName"] for g in groups) == ["pages-0", "pages-1", "pages-2"] and pages == 3

    databases, _ = _walk(rds, "describe_db_instances", "DBInstances", 20)
    assert sorted(d["DBInstanceIdentifier"] for d in databases) == ["pages-db-1", "pages-db-2"]

    scaling, pages = _walk(asg, "describe_auto_scaling_groups", "AutoScalingGroups", 1)
    assert sorted(g["AutoScalingGroupName"] for g in scaling) == ["pages-a", "pages-b"] and pages == 2

    for client, operation, key in (
        (ec2, "describe_instances", "Reservations"),
        (rds, "describe_db_instances", "DBInstances"),
    ):
        with pytest.raises(ClientError) as err:
            _walk(client, operation, key, 1)
        assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
