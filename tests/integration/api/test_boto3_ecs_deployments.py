"""ECS deployments and `chaoslab exec` against a real lab (time scale 10, so the ALB's 5 s health
checks take half a second): a new revision rolls out behind the ALB with no failed request, a
revision whose container exits at once trips the circuit breaker and rolls back, and a command
runs inside a task with its environment and address and returns its exit code."""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import psutil
import pytest
import yaml
from api_lab import LabHandle, free_port, stack_doc, stop_and_check, wait_for

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached

pytestmark = [pytest.mark.netns_here, pytest.mark.timeout(150)]

WEB = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8083}]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    home = tmp_path_factory.mktemp("deploy")
    doc = stack_doc("deployments")
    (home / "stack.yaml").write_text(yaml.safe_dump(doc))
    config = LabConfig(home=home, api_port=free_port(), time_scale=10.0)
    handle = LabHandle(
        config, start_detached(config, str(home / "stack.yaml"), fast=True, quiet=True), doc["vpc"]["cidr"]
    )
    yield handle
    stop_and_check(handle)


def _running_cmd(cmdline: str) -> bool:
    """Whether a process runs exactly `cmdline` (sh's child, or sh itself once it execs it)."""
    return any(
        " ".join(p.info["cmdline"] or []) == cmdline and p.info["status"] != psutil.STATUS_ZOMBIE
        for p in psutil.process_iter(["cmdline", "status"])
    )


def _subnets(lab: LabHandle) -> list[str]:
    return [s["SubnetId"] for s in lab.client("ec2").describe_subnets()["Subnets"]]


def _alb(lab: LabHandle) -> tuple[str, int]:
    """An ALB on a free port forwarding to an ip target group (5 s checks, 1 s drain)."""
    elb, ec2 = lab.client("elbv2"), lab.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    lb = elb.create_load_balancer(Name="deploy-alb", Subnets=_subnets(lab), Type="application")["LoadBalancers"][0]
    tg = elb.create_target_group(
        Name="deploy-web",
        Protocol="HTTP",
        Port=8083,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=5,
        HealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.modify_target_group_attributes(
        TargetGroupArn=tg, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "10"}]
    )
    port = free_port()
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    return tg, port


def _stable(ecs, cluster: str, service: str) -> None:
    ecs.get_waiter("services_stable").wait(
        cluster=cluster, services=[service], WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )


class Load(threading.Thread):
    """A small steady load on the ALB: every answer's status and which task gave it."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.answers = f"http://127.0.0.1:{port}/", threading.Event(), []

    def run(self) -> None:
        while not self.stop.wait(0.02):
            try:
                with urllib.request.urlopen(self.url, timeout=5) as resp:
                    self.answers.append((resp.status, json.loads(resp.read())["instance_id"]))
            except urllib.error.HTTPError as exc:
                self.answers.append((exc.code, None))
            except OSError as exc:
                self.answers.append((0, str(exc)))


def test_a_new_revision_rolls_out_without_alb_errors(lab: LabHandle) -> None:
    ecs = lab.client("ecs")
    tg, port = _alb(lab)
    ecs.create_cluster(clusterName="deploy")
    ecs.register_task_definition(family="web", networkMode="awsvpc", containerDefinitions=[WEB])
    v2 = {**WEB, "environment": [{"name": "RELEASE", "value": "2"}]}
    ecs.register_task_definition(family="web", networkMode="awsvpc", containerDefinitions=[v2])
    ecs.create_service(
        cluster="deploy",
        serviceName="web",
        taskDefinition="web:1",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": _subnets(lab)}},
        loadBalancers=[{"targetGroupArn": tg, "containerName": "web", "containerPort": 8083}],
    )
    _stable(ecs, "deploy", "web")
    wait_for(
        lambda: all(
            h["TargetHealth"]["State"] == "healthy"
            for h in lab.client("elbv2").describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        ),
        30,
        "both targets healthy",
    )
    old_arns = ecs.list_tasks(cluster="deploy", serviceName="web")["taskArns"]
    load = Load(port)
    load.start()
    updated = ecs.update_service(cluster="deploy", service="web", taskDefinition="web:2")["service"]
    assert [(d["status"], d["rolloutState"]) for d in updated["deployments"]] == [
        ("PRIMARY", "IN_PROGRESS"),
        ("ACTIVE", "COMPLETED"),
    ]
    _stable(ecs, "deploy", "web")
    new_ids = {arn.rsplit("/", 1)[1] for arn in ecs.list_tasks(cluster="deploy", serviceName="web")["taskArns"]}
    wait_for(lambda: load.answers and load.answers[-1][1] in new_ids, 10, "the ALB answering from new tasks")
    load.stop.set()
    load.join()
    service = ecs.describe_services(cluster="deploy", services=["web"])["services"][0]
    [deployment] = service["deployments"]
    assert (deployment["status"], deployment["rolloutState"], deployment["taskDefinition"].rsplit("/", 1)[1]) == (
        "PRIMARY",
        "COMPLETED",
        "web:2",
    )
    tasks = ecs.describe_tasks(cluster="deploy", tasks=sorted(new_ids))["tasks"]
    assert {t["taskDefinitionArn"].rsplit("/", 1)[1] for t in tasks} == {"web:2"} and len(tasks) == 2
    failed = [a for a in load.answers if a[0] != 200]
    assert len(load.answers) > 20 and not failed, f"{len(failed)} of {len(load.answers)} failed: {failed[:3]}"
    for old in ecs.describe_tasks(cluster="deploy", tasks=old_arns)["tasks"]:  # drained 10 scenario seconds
        assert old["lastStatus"] == "STOPPED" and old["stopCode"] == "ServiceSchedulerInitiated"
        assert (old["stoppedAt"] - old["stoppingAt"]).total_seconds() >= 10
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == "(service web) has reached a steady state."
    assert f"(service web) (deployment {deployment['id']}) deployment completed." in messages


def test_a_crashing_revision_trips_the_circuit_breaker_and_rolls_back(lab: LabHandle) -> None:
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="breaker")
    ecs.register_task_definition(family="worker", containerDefinitions=[{**WEB, "name": "worker"}])
    crash = {**WEB, "name": "worker", "command": ["sh", "-c", "echo bad config; exit 3"]}
    ecs.register_task_definition(family="worker", containerDefinitions=[crash])
    ecs.create_service(
        cluster="breaker",
        serviceName="worker",
        taskDefinition="worker:1",
        desiredCount=1,
        networkConfiguration={"awsvpcConfiguration": {"subnets": _subnets(lab)}},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    _stable(ecs, "breaker", "worker")
    good = ecs.describe_services(cluster="breaker", services=["worker"])["services"][0]["deployments"][0]["id"]
    bad = ecs.update_service(cluster="breaker", service="worker", taskDefinition="worker:2")["service"]
    bad_id = bad["deployments"][0]["id"]
    _stable(ecs, "breaker", "worker")
    service = ecs.describe_services(cluster="breaker", services=["worker"])["services"][0]
    [deployment] = service["deployments"]
    assert deployment["taskDefinition"].endswith("worker:1") and deployment["rolloutState"] == "COMPLETED"
    messages = [e["message"] for e in service["events"]]
    assert f"(service worker) deployment {bad_id} deployment failed: tasks failed to start." in messages
    assert f"(service worker) rolling back to deployment {good}." in messages
    stopped = ecs.list_tasks(cluster="breaker", serviceName="worker", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stopCode"] for t in ecs.describe_tasks(cluster="breaker", tasks=stopped)["tasks"]}
    assert "EssentialContainerExited" in reasons


@pytest.fixture(scope="module")
def shell_task(lab: LabHandle) -> tuple[str, str]:
    """A RUNNING task (its ARN and address) whose container has FLAVOUR=mint, for the exec tests."""
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="shell")
    container = {**WEB, "environment": [{"name": "FLAVOUR", "value": "mint"}]}
    ecs.register_task_definition(family="shell", networkMode="awsvpc", containerDefinitions=[container])
    arn = ecs.run_task(
        cluster="shell",
        taskDefinition="shell",
        networkConfiguration={"awsvpcConfiguration": {"subnets": _subnets(lab)}},
    )["tasks"][0]["taskArn"]

    def running() -> dict | None:
        task = ecs.describe_tasks(cluster="shell", tasks=[arn])["tasks"][0]
        return task if task["lastStatus"] == "RUNNING" else None

    task = wait_for(running, 30, "the task RUNNING")
    return arn, task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]


def test_exec_runs_a_command_in_a_task(lab: LabHandle, shell_task: tuple[str, str]) -> None:
    ecs = lab.client("ecs")
    arn, ip = shell_task
    env = {**os.environ, "CHAOSLAB_HOME": str(lab.config.home)}
    script = "echo flavour=$FLAVOUR; hostname -I; echo oops >&2; exit 7"
    cli = [sys.executable, "-m", "chaoslab", "exec", arn.rsplit("/", 1)[1], "--", "sh", "-c", script]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 7, done.stderr
    assert done.stdout.split() == ["flavour=mint", ip] and done.stderr == "oops\n"
    missing = subprocess.run([*cli[:4], "nope", "--", "true"], env=env, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1 and "no RUNNING task 'nope'" in missing.stderr
    piped = [*cli[:4], "-i", *cli[4:6], "sh", "-c", "read x; echo got=$x; cat >&2; exit 4"]
    fed = subprocess.run(piped, env=env, input="hello\nrest\n", capture_output=True, text=True, timeout=30)
    assert (fed.returncode, fed.stdout, fed.stderr) == (4, "got=hello\n", "rest\n")
    marker = "sleep 37.25"  # a command no one else runs: interrupting `chaoslab exec` ends it
    interrupted = subprocess.Popen([*cli[:5], "--", "sh", "-c", marker], env=env)
    wait_for(lambda: _running_cmd(marker), 10, "the command running")
    interrupted.kill()
    interrupted.wait()
    wait_for(lambda: not _running_cmd(marker), 10, "the interrupted command to end")
    with pytest.raises(ecs.exceptions.InvalidParameterException, match="chaoslab exec"):
        ecs.execute_command(cluster="shell", task=arn, command="sh", interactive=True)


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    """What the terminal shows until `marker` appears (AssertionError after `timeout`)."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} on the terminal; it shows {seen!r}"
        if select.select([fd], [], [], left)[0]:
            seen += os.read(fd, 4096)
    return seen


def test_exec_it_gives_the_command_a_terminal(lab: LabHandle, shell_task: tuple[str, str]) -> None:
    """`chaoslab exec -it TASK -- sh` at a terminal: typed lines reach the shell in the task, its
    terminal has the user's window size (and the new one after SIGWINCH), Ctrl-C reaches the
    command, not chaoslab, and the shell's exit status is chaoslab's."""
    arn, ip = shell_task
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 97, 0, 0))
    env = {**os.environ, "CHAOSLAB_HOME": str(lab.config.home), "PS1": "$ "}
    cli = [sys.executable, "-m", "chaoslab", "exec", "-it", arn.rsplit("/", 1)[1], "--", "sh"]
    proc = subprocess.Popen(cli, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        os.write(master, b"tty; echo flavour=$FLAVOUR; hostname -I; stty size\n")
        shown = _read_until(master, b"31 97", 30)
        assert b"/dev/pts/" in shown and b"flavour=mint" in shown and ip.encode() in shown, shown
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        proc.send_signal(signal.SIGWINCH)  # the test's terminal is not chaoslab's controlling one
        time.sleep(0.3)
        os.write(master, b"sleep 30; echo slept\n")
        time.sleep(0.5)
        os.write(master, b"\x03")  # Ctrl-C, raw: the shell's foreground sleep gets SIGINT
        os.write(master, b"stty size; exit 5\n")
        shown = _read_until(master, b"40 120", 15)
        assert b"\nslept" not in shown, shown  # the echoed command line has it, its output not
        assert proc.wait(timeout=15) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
