"""Your own service in the lab, through unmodified boto3: an instance whose user data installs
and starts a server answers; an Auto Scaling group made from a launch template ($Latest) comes
up behind a target group and turns healthy; an ECS container runs with entryPoint, command,
workingDirectory, environment, environmentFiles and secrets and sees every one of them, and its
second container runs as the user it names."""

from __future__ import annotations

import base64
import textwrap
import urllib.request
from pathlib import Path

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check, wait_for

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(120)]

SERVER = textwrap.dedent(
    """\
    #!/bin/bash
    yum install -y python3
    cat > "$HOME/server.py" <<'EOF'
    import http.server, os

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (os.environ["INSTANCE_ID"] + " {version}\\n").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http.server.ThreadingHTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Handler).serve_forever()
    EOF
    python3 "$HOME/server.py" &
    echo "server started"
    """
)


def user_data(version: str) -> str:
    return base64.b64encode(SERVER.replace("{version}", version).encode()).decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    doc = stack_doc(
        "owntest",
        {
            "target_groups": [{"name": "own-tg", "port": 8000, "health_check": {"path": "/health"}}],
            "load_balancers": [{"name": "own-alb", "listeners": [{"port": 0, "target_group": "own-tg"}]}],
        },
    )
    handle = start_lab(tmp_path_factory.mktemp("own"), doc)
    yield handle
    stop_and_check(handle)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.read().decode()


def answers(url: str) -> str | None:
    try:
        return get(url)
    except OSError:
        return None


def test_run_instances_with_user_data_starts_the_server(lab: LabHandle) -> None:
    ec2 = lab.client("ec2")
    run = ec2.run_instances(
        ImageId="ami-0abcdef1234567890",
        MinCount=1,
        MaxCount=1,
        UserData=SERVER.replace("{version}", "v1"),  # boto3 base64-encodes RunInstances' UserData itself
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "mine"}]}],
    )
    inst = run["Instances"][0]
    assert inst["State"]["Name"] == "pending" and inst["ImageId"] == "ami-0abcdef1234567890"
    iid = inst["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    ip = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    assert wait_for(lambda: answers(f"http://{ip}:80/"), 15, "the user data's server") == f"{iid} v1\n"
    console = ec2.get_console_output(InstanceId=iid)["Output"]  # boto3 decodes the base64 itself
    assert "skipped 'yum install -y python3'" in console and "server started" in console
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for(lambda: answers(f"http://{ip}:80/") is None, 15, "the server gone with its instance")


def test_a_group_from_a_launch_template_comes_up_healthy_behind_its_target_group(lab: LabHandle) -> None:
    ec2, asg, elbv2 = lab.client("ec2"), lab.client("autoscaling"), lab.client("elbv2")
    data = {"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro", "UserData": user_data("v1")}
    created = ec2.create_launch_template(LaunchTemplateName="own-lt", LaunchTemplateData=data)["LaunchTemplate"]
    assert (created["DefaultVersionNumber"], created["LatestVersionNumber"]) == (1, 1)
    v2 = ec2.create_launch_template_version(
        LaunchTemplateName="own-lt", SourceVersion="1", LaunchTemplateData={"UserData": user_data("v2")}
    )["LaunchTemplateVersion"]
    assert v2["VersionNumber"] == 2 and v2["LaunchTemplateData"]["ImageId"] == data["ImageId"]
    tg = elbv2.describe_target_groups(Names=["own-tg"])["TargetGroups"][0]
    subnets = ",".join(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"])
    asg.create_auto_scaling_group(
        AutoScalingGroupName="own-asg",
        MinSize=2,
        MaxSize=2,
        LaunchTemplate={"LaunchTemplateId": created["LaunchTemplateId"], "Version": "$Latest"},
        VPCZoneIdentifier=subnets,
        TargetGroupARNs=[tg["TargetGroupArn"]],
        HealthCheckType="ELB",
        HealthCheckGracePeriod=5,
    )

    def healthy() -> list[dict]:
        health = elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
        ok = [t for t in health if t["TargetHealth"]["State"] == "healthy"]
        return ok if len(ok) == 2 else []

    targets = wait_for(healthy, 30, "two healthy targets")
    ips = {
        i["InstanceId"]: i["PrivateIpAddress"]
        for r in ec2.describe_instances(InstanceIds=[t["Target"]["Id"] for t in targets])["Reservations"]
        for i in r["Instances"]
    }
    for iid, ip in ips.items():
        assert get(f"http://{ip}:8000/") == f"{iid} v2\n"  # $Latest: version 2's user data
    group = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["own-asg"])["AutoScalingGroups"][0]
    assert {i["LaunchTemplate"]["Version"] for i in group["Instances"]} == {"2"}
    asg.delete_auto_scaling_group(AutoScalingGroupName="own-asg", ForceDelete=True)


LOGS = {
    "logDriver": "awslogs",
    "options": {"awslogs-group": "/own", "awslogs-create-group": "true", "awslogs-stream-prefix": "p"},
}


def test_an_ecs_container_sees_everything_its_definition_gives_it(lab: LabHandle, tmp_path: Path) -> None:
    ecs, logs, ssm = lab.client("ecs"), lab.client("logs"), lab.client("ssm")
    ssm.put_parameter(Name="/own/db-password", Value="s3cret", Type="SecureString")
    env_file = tmp_path / "app.env"
    env_file.write_text("# from a file\nFROM_FILE=yes\nGREETING=overridden\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    ecs.create_cluster(clusterName="own")
    ecs.register_task_definition(
        family="own-task",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "probe",
                "image": "registry.example.com/team/own-service:1.0",
                "entryPoint": ["/bin/sh", "-c"],
                "command": ['echo "cwd=$(pwd) greeting=$GREETING file=$FROM_FILE secret=$DB_PASSWORD"; exec sleep 60'],
                "workingDirectory": str(workdir),
                "environment": [{"name": "GREETING", "value": "hello"}],
                "environmentFiles": [{"value": f"file://{env_file}", "type": "s3"}],
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": "/own/db-password"}],
                "logConfiguration": LOGS,
            },
            {
                "name": "as-nobody",
                "image": "registry.example.com/team/own-service:1.0",
                "command": ['/bin/sh -c "echo user=$(id -un) cwd=$(pwd); exec sleep 60"'],
                "user": "nobody",
                "logConfiguration": LOGS,
            },
        ],
    )
    subnets = [s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"]]
    task = ecs.run_task(
        cluster="own",
        taskDefinition="own-task",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[:1]}},
    )["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[1]

    def line(container: str) -> str | None:
        try:
            events = logs.get_log_events(logGroupName="/own", logStreamName=f"p/{container}/{task_id}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        return events[0]["message"] if events else None

    seen = wait_for(lambda: line("probe"), 20, "the container's line")
    assert seen == f"cwd={workdir} greeting=hello file=yes secret=s3cret"
    assert wait_for(lambda: line("as-nobody"), 20, "the other container's line") == "user=nobody cwd=/"
    ecs.stop_task(cluster="own", task=task["taskArn"])
