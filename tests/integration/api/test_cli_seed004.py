"""Seed 004's ECS walkthrough, command for command, with the real AWS CLI against a lab that has
only a VPC: cluster, ALB + ip target group + listener, task definition from file://, service,
`wait services-stable`, then the service really serves HTTP through the ALB, scales to 3,
writes its container output to CloudWatch Logs (the group made by `awslogs-create-group`), and is
deleted. A task definition whose log group does not exist fails to start, as on ECS."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from api_lab import LabHandle, free_port, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(240)]

FAMILY = "api-service"
TASK_DEFINITION = {
    "family": FAMILY,
    "networkMode": "awsvpc",
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "512",
    "memory": "1024",
    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
    "taskRoleArn": "arn:aws:iam::123456789012:role/api-task-role",
    "containerDefinitions": [
        {
            "name": "api",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/chaoslab/static:v1.3.0",
            "essential": True,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "APP_ENV", "value": "production"}, {"name": "LOG_LEVEL", "value": "info"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": f"/ecs/{FAMILY}",
                    "awslogs-region": "us-east-1",
                    "awslogs-stream-prefix": "api",
                    "awslogs-create-group": "true",
                },
            },
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
                "interval": 5,
                "timeout": 2,
                "retries": 3,
                "startPeriod": 10,
            },
            "linuxParameters": {"initProcessEnabled": True},
        }
    ],
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    handle = start_lab(tmp_path_factory.mktemp("seed004"), stack_doc("seed004"))
    yield handle
    stop_and_check(handle)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


def test_seed004_ecs_service_behind_an_alb(lab: LabHandle, tmp_path: Path) -> None:
    aws = lab.aws
    cluster = aws(
        "ecs",
        "create-cluster",
        "--cluster-name",
        "production",
        "--settings",
        "name=containerInsights,value=enabled",
        "--configuration",
        json.dumps(
            {
                "executeCommandConfiguration": {
                    "logging": "OVERRIDE",
                    "logConfiguration": {
                        "cloudWatchLogGroupName": "/ecs/exec-logs",
                        "cloudWatchEncryptionEnabled": True,
                    },
                }
            }
        ),
    )
    assert cluster["cluster"]["status"] == "ACTIVE"
    assert cluster["cluster"]["clusterArn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/production"

    vpc_id = aws("ec2", "describe-vpcs", "--query", "Vpcs[0].VpcId")
    subnets = aws(
        "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}", "--query", "Subnets[].SubnetId"
    )
    assert len(subnets) == 2
    # The seed names a group it made earlier (sg-0abc123456); here it is made the same way: the ALB
    # and the tasks share it, and it lets its own members reach the app's port.
    group = aws(
        "ec2", "create-security-group", "--group-name", "api-sg", "--description", "seed 004's API group",
        "--vpc-id", vpc_id, "--query", "GroupId",
    )  # fmt: skip
    aws(
        "ec2", "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "8080",
        "--source-group", group,
    )  # fmt: skip

    alb_arn = aws(
        "elbv2",
        "create-load-balancer",
        "--name",
        "api-alb",
        "--subnets",
        *subnets,
        "--security-groups",
        group,
        "--scheme",
        "internet-facing",
        "--type",
        "application",
        "--query",
        "LoadBalancers[0].LoadBalancerArn",
    )
    tg_arn = aws(
        "elbv2",
        "create-target-group",
        "--name",
        "api-targets",
        "--protocol",
        "HTTP",
        "--port",
        "8080",
        "--vpc-id",
        vpc_id,
        "--target-type",
        "ip",
        "--health-check-path",
        "/health",
        "--health-check-interval-seconds",
        "5",
        "--healthy-threshold-count",
        "2",
        "--unhealthy-threshold-count",
        "3",
        "--query",
        "TargetGroups[0].TargetGroupArn",
    )
    assert ":targetgroup/api-targets/" in tg_arn
    aws(
        "elbv2",
        "modify-target-group-attributes",
        "--target-group-arn",
        tg_arn,
        "--attributes",
        "Key=deregistration_delay.timeout_seconds,Value=2",
    )
    port = free_port()
    listener = aws(
        "elbv2",
        "create-listener",
        "--load-balancer-arn",
        alb_arn,
        "--protocol",
        "HTTP",
        "--port",
        str(port),
        "--default-actions",
        f"Type=forward,TargetGroupArn={tg_arn}",
    )
    assert listener["Listeners"][0]["Port"] == port

    (tmp_path / "task-definition.json").write_text(json.dumps(TASK_DEFINITION))
    td = aws("ecs", "register-task-definition", "--cli-input-json", "file://task-definition.json", cwd=tmp_path)
    assert td["taskDefinition"]["taskDefinitionArn"].endswith(f"task-definition/{FAMILY}:1")
    assert aws("ecs", "list-task-definitions", "--family-prefix", FAMILY)["taskDefinitionArns"] == [
        td["taskDefinition"]["taskDefinitionArn"]
    ]
    described = aws("ecs", "describe-task-definition", "--task-definition", FAMILY)["taskDefinition"]
    assert described["containerDefinitions"][0]["healthCheck"]["command"][0] == "CMD-SHELL"
    assert aws("logs", "describe-log-groups", "--log-group-name-prefix", f"/ecs/{FAMILY}")["logGroups"] == []

    service = aws(
        "ecs",
        "create-service",
        "--cluster",
        "production",
        "--service-name",
        FAMILY,
        "--task-definition",
        f"{FAMILY}:1",
        "--desired-count",
        "2",
        "--launch-type",
        "FARGATE",
        "--platform-version",
        "LATEST",
        "--network-configuration",
        json.dumps(
            {
                "awsvpcConfiguration": {
                    "subnets": subnets,
                    "securityGroups": [group],
                    "assignPublicIp": "DISABLED",
                }
            }
        ),
        "--load-balancers",
        json.dumps([{"targetGroupArn": tg_arn, "containerName": "api", "containerPort": 8080}]),
        "--enable-execute-command",
        "--deployment-configuration",
        json.dumps(
            {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            }
        ),
    )["service"]
    assert service["desiredCount"] == 2 and service["status"] == "ACTIVE"

    aws("ecs", "wait", "services-stable", "--cluster", "production", "--services", FAMILY)
    svc = aws("ecs", "describe-services", "--cluster", "production", "--services", FAMILY)["services"][0]
    assert (svc["runningCount"], svc["desiredCount"], len(svc["deployments"])) == (2, 2, 1)
    assert svc["loadBalancers"][0]["targetGroupArn"] == tg_arn

    task_arns = aws("ecs", "list-tasks", "--cluster", "production", "--service-name", FAMILY)["taskArns"]
    assert len(task_arns) == 2
    tasks = aws("ecs", "describe-tasks", "--cluster", "production", "--tasks", *task_arns)["tasks"]
    ips = {t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in tasks}
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    assert {t["availabilityZone"] for t in tasks} == {"us-east-1a", "us-east-1b"}
    assert all(ip.startswith(lab.cidr.split(".0.0/")[0] + ".") for ip in ips)

    # The tasks become healthy targets and really answer through the ALB, round robin.
    def healthy() -> set[str]:
        th = aws("elbv2", "describe-target-health", "--target-group-arn", tg_arn)["TargetHealthDescriptions"]
        return {d["Target"]["Id"] for d in th if d["TargetHealth"]["State"] == "healthy"}

    wait_for(lambda: healthy() == ips, 30, "both tasks healthy in the target group")
    served = {_get(f"http://127.0.0.1:{port}/")["instance_id"] for _ in range(6)}
    assert served == {arn.rsplit("/", 1)[1] for arn in task_arns}
    wait_for(
        lambda: (
            {
                t["healthStatus"]
                for t in aws("ecs", "describe-tasks", "--cluster", "production", "--tasks", *task_arns)["tasks"]
            }
            == {"HEALTHY"}
        ),
        30,
        "container health checks (curl inside the task) to pass",
    )

    updated = aws("ecs", "update-service", "--cluster", "production", "--service", FAMILY, "--desired-count", "3")
    assert updated["service"]["desiredCount"] == 3
    aws("ecs", "wait", "services-stable", "--cluster", "production", "--services", FAMILY)
    task_arns = aws("ecs", "list-tasks", "--cluster", "production", "--service-name", FAMILY)["taskArns"]
    assert len(task_arns) == 3
    wait_for(lambda: len(healthy()) == 3, 30, "the third task healthy behind the ALB")
    task_ids = {arn.rsplit("/", 1)[1] for arn in task_arns}
    wait_for(
        lambda: {_get(f"http://127.0.0.1:{port}/")["instance_id"] for _ in range(9)} == task_ids,
        20,
        "all three tasks answering through the ALB",
    )

    # awslogs: the tasks made /ecs/<family> (awslogs-create-group), one stream each,
    # <prefix>/<container>/<task-id>, holding the container's output.
    groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", f"/ecs/{FAMILY}")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [f"/ecs/{FAMILY}"]
    streams = aws("logs", "describe-log-streams", "--log-group-name", f"/ecs/{FAMILY}")["logStreams"]
    assert {s["logStreamName"] for s in streams} >= {f"api/api/{tid}" for tid in task_ids}
    some_task = sorted(task_ids)[0]
    events = aws(
        "logs", "get-log-events", "--log-group-name", f"/ecs/{FAMILY}", "--log-stream-name", f"api/api/{some_task}"
    )["events"]
    text = "\n".join(e["message"] for e in events)
    assert "Listening at: http://0.0.0.0:8080" in text, text
    found = aws(
        "logs", "filter-log-events", "--log-group-name", f"/ecs/{FAMILY}", "--filter-pattern", '"Listening at"'
    )["events"]
    assert {e["logStreamName"] for e in found} == {f"api/api/{tid}" for tid in task_ids}, found

    lab.remember_units()
    refused = aws("ecs", "delete-service", "--cluster", "production", "--service", FAMILY, check=False)
    assert refused.returncode != 0 and "InvalidParameterException" in refused.stderr
    deleted = aws("ecs", "delete-service", "--cluster", "production", "--service", FAMILY, "--force")
    assert deleted["service"]["status"] == "DRAINING"
    aws("ecs", "wait", "services-inactive", "--cluster", "production", "--services", FAMILY)
    wait_for(lambda: not aws("ecs", "list-tasks", "--cluster", "production")["taskArns"], 30, "all tasks stopped")
    stopped = aws("ecs", "list-tasks", "--cluster", "production", "--desired-status", "STOPPED")["taskArns"]
    assert set(stopped) == set(task_arns)
    wait_for(
        lambda: not aws("elbv2", "describe-target-health", "--target-group-arn", tg_arn)["TargetHealthDescriptions"],
        30,
        "targets drained and deregistered",
    )
    # The listener stays, with nothing behind it: AWS answers 503.
    with pytest.raises(urllib.error.HTTPError) as empty:
        _get(f"http://127.0.0.1:{port}/")
    assert empty.value.code == 503


def test_seed004_missing_log_group_fails_the_task_to_start(lab: LabHandle, tmp_path: Path) -> None:
    """Without `awslogs-create-group` the group must exist: the task stops with TaskFailedToStart
    and the agent's ResourceInitializationError, the service says it cannot start tasks and backs
    off; once the group is created the next attempt runs."""
    aws = lab.aws
    family, group = "no-log-group", "/ecs/no-log-group"
    aws("ecs", "create-cluster", "--cluster-name", "logs-check")
    vpc_id = aws("ec2", "describe-vpcs", "--query", "Vpcs[0].VpcId")
    subnets = aws(
        "ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}", "--query", "Subnets[].SubnetId"
    )
    container = {
        "name": "app",
        "image": TASK_DEFINITION["containerDefinitions"][0]["image"],
        "essential": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"},
        },
    }
    (tmp_path / "td.json").write_text(
        json.dumps({**TASK_DEFINITION, "family": family, "containerDefinitions": [container]})
    )
    aws("ecs", "register-task-definition", "--cli-input-json", "file://td.json", cwd=tmp_path)
    aws(
        "ecs",
        "create-service",
        "--cluster",
        "logs-check",
        "--service-name",
        family,
        "--task-definition",
        family,
        "--desired-count",
        "1",
        "--launch-type",
        "FARGATE",
        "--network-configuration",
        json.dumps({"awsvpcConfiguration": {"subnets": subnets}}),
    )

    stopped = wait_for(
        lambda: aws("ecs", "list-tasks", "--cluster", "logs-check", "--desired-status", "STOPPED")["taskArns"],
        60,
        "the task to fail",
    )
    task = aws("ecs", "describe-tasks", "--cluster", "logs-check", "--tasks", stopped[0])["tasks"][0]
    assert (task["lastStatus"], task["stopCode"]) == ("STOPPED", "TaskFailedToStart")
    assert task["stoppedReason"] == (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
        f": exit status 1 (awslogs-group {group})"
    )
    assert aws("logs", "describe-log-groups", "--log-group-name-prefix", group)["logGroups"] == []

    def service() -> dict:
        return aws("ecs", "describe-services", "--cluster", "logs-check", "--services", family)["services"][0]

    messages = [e["message"] for e in service()["events"]]
    assert (
        f"(service {family}) is unable to consistently start tasks successfully. For more information, "
        "see the Troubleshooting section of the Amazon ECS Developer Guide."
    ) in messages, messages
    assert service()["deployments"][0]["failedTasks"] >= 1

    aws("logs", "create-log-group", "--log-group-name", group)
    wait_for(lambda: service()["runningCount"] == 1, 60, "the next attempt, after the back-off, to run")
    running = aws("ecs", "list-tasks", "--cluster", "logs-check", "--service-name", family)["taskArns"]
    streams = aws("logs", "describe-log-streams", "--log-group-name", group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"app/app/{running[0].rsplit('/', 1)[1]}"]
    assert service()["deployments"][0]["failedTasks"] == 0
    aws("ecs", "delete-service", "--cluster", "logs-check", "--service", family, "--force")
    aws("ecs", "wait", "services-inactive", "--cluster", "logs-check", "--services", family)
