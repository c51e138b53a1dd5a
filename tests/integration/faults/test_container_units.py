"""ECS tasks whose image is a real, locally built container image: an ECS service's task serving
through the ALB from the unit's namespace, health-checked inside the container, stressed and killed by faults within its limits,
OOM-killed and reported as ECS reports it, refused as ECS refuses an image it cannot pull, and
gone (no container, no process) once the lab stops. The image is built offline from a static
busybox (tests/images.py); without podman as root the test says so and skips."""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fault_lab import fault_lab, needs_netns
from net_lab import connects, context, net_lab, run_for, task_resource

from chaoslab.runtime.kinds.container import LABEL, RESOURCE_KIND, cleanup_containers, container_name
from images import IMAGE_PATH, PAGE, busybox_image, podman
from realistic import needs_containers

pytestmark = [needs_netns, needs_containers]


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The test image, built once for the module."""
    with busybox_image() as tag:
        yield tag


def _taskdef(family: str, image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    container = {
        "name": "app",
        "image": image,
        "essential": True,
        "command": command,
        "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
        **extra,
    }
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "64",
        "containerDefinitions": [container],
    }


async def _run(lab: Any, td: dict[str, Any]) -> Any:
    lab.ecs.task_definitions.register(td)
    (task,) = await lab.ecs.run_task(
        "ctr",
        td["family"],
        1,
        network_configuration={"awsvpcConfiguration": {"subnets": [lab.ec2.subnet("us-east-1a").subnet_id]}},
    )
    return task


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def _containers() -> list[str]:
    return podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}").stdout.split()


async def _service_behind_alb(lab: Any, td: dict[str, Any]) -> tuple[Any, str]:
    """An ECS service of one task of `td` behind an ALB; its running task and the page the ALB
    returns from it."""
    lab.ecs.task_definitions.register(td)
    subnets = [lab.ec2.subnet(az).subnet_id for az in ("us-east-1a", "us-east-1b")]
    vpc_id = next(iter(lab.ec2.vpcs.values())).vpc_id
    lb = lab.elbv2.create_load_balancer(Name="ctr-alb", Subnets=subnets)["LoadBalancers"][0]
    tg = lab.elbv2.create_target_group(
        Name="ctr-tg",
        Protocol="HTTP",
        Port=80,
        VpcId=vpc_id,
        TargetType="ip",
        HealthCheckIntervalSeconds=2,
        HealthCheckTimeoutSeconds=1,
    )["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]
    listener = (await lab.elbv2.create_listener(lb["LoadBalancerArn"], forward, Port=0))["Listeners"][0]
    lab.ecs.create_service(
        "ctr",
        td["family"],
        td["family"],
        1,
        load_balancers=[{"targetGroupArn": tg["TargetGroupArn"], "containerName": "app", "containerPort": 80}],
        network_configuration={"awsvpcConfiguration": {"subnets": subnets[:1]}},
    )
    await _until(lambda: _service_task(lab) is not None, 30, "the service's task never ran")
    url = f"http://127.0.0.1:{listener['Port']}/"
    deadline = time.monotonic() + 20
    while True:
        try:
            page = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=2).read().decode())
            return _service_task(lab), page
        except OSError:
            assert time.monotonic() < deadline, "the ALB never answered from the container"
            await asyncio.sleep(0.2)


def _service_task(lab: Any) -> Any:
    running = [t for t in lab.ecs.tasks.values() if t.service == "ctr-web" and t.last_status == "RUNNING"]
    return running[0] if running else None


def _stress_cpu(ctx: Any) -> tuple[int, float]:
    """The action's stress workers and their CPU together over 1.5 s, in percent of one core."""
    (entry,) = ctx.journaled
    workers = [psutil.Process(w["pid"]) for w in entry["record"]["workers"]]

    def used() -> float:
        return sum(sum(w.cpu_times()[:2]) for w in workers)

    c0, t0 = used(), time.monotonic()
    time.sleep(1.5)
    return len(workers), (used() - c0) / (time.monotonic() - t0) * 100


def test_container_task_serves_and_every_fault_family_acts_on_it(tmp_path: Path, image: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with net_lab(tmp_path) as lab:
            lab.ecs.create_cluster("ctr")
            td = _taskdef(
                "ctr-web",
                image,
                ["httpd", "-f", "-v", "-p", "80", "-h", "/www"],  # -v: a line per request, on stderr
                entryPoint=["/bin/busybox"],
                logConfiguration={
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/ctr",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "web",
                        "awslogs-create-group": "true",
                    },
                },
                healthCheck={"command": ["CMD", "/bin/busybox", "test", "-d", "/www"], "interval": 5, "retries": 3},
                stopTimeout=2,  # httpd as a container's PID 1 ignores SIGTERM: SIGKILL after 2 s
            )
            task, page = await _service_behind_alb(lab, td)
            kinds = task.unit.kinds()
            _, env = await task.unit.run(["/bin/busybox", "env"], 5, container="app")  # podman exec
            stream = lab.logs.groups["/ecs/ctr"].streams[f"web/app/{task.task_id}"]
            shipped = lambda: [e.message for e in stream.events if "response:200" in e.message]
            await _until(shipped, 5, "the container's request lines were not shipped to CloudWatch Logs")
            await _until(lambda: task.containers[0].health == "HEALTHY", 10, "health check never passed")
            names = _containers()
            # CPU stress at 100 % inside the container's limit (the task's cpu 512 = half a CPU).
            ctx = context(lab, "aws:ecs:task-cpu-stress")
            running = await run_for(
                ctx,
                "ecs.task_cpu_stress",
                {"Tasks": [task_resource(task)]},
                {"duration": "PT3M", "percent": "100", "workers": "2"},
            )
            workers, worker_cpu = await asyncio.to_thread(_stress_cpu, ctx)
            await running
            await ctx.revert_all()
            # A network fault acts on the namespace the container shares.
            ctx = context(lab, "aws:ecs:task-network-blackhole-port")
            running = await run_for(
                ctx,
                "ecs.task_network_blackhole_port",
                {"Tasks": [task_resource(task)]},
                {"duration": "PT1M", "port": "80", "trafficType": "ingress", "protocol": "tcp"},
            )
            blackholed = await connects(task.private_ip, 80, 1.0)
            await running
            await ctx.revert_all()
            reopened = await connects(task.private_ip, 80, 2.0)
            # kill-process finds the container's httpd among the unit's host processes.
            ctx = context(lab, "aws:ecs:task-kill-process")
            await run_for(
                ctx,
                "ecs.task_kill_process",
                {"Tasks": [task_resource(task)]},
                {"processName": "httpd", "signal": "SIGKILL"},
            )
            await _until(lambda: task.last_status == "STOPPED", 30, "killed task did not stop")
            killed = (task.containers[0].exit_code, task.containers[0].reason, task.stopped_reason)
            # StopTask on the task the service started in its place: the engine's stop, SIGKILL at
            # the container's stop timeout.
            await _until(lambda: _service_task(lab) not in (None, task), 30, "the service started no new task")
            second = _service_task(lab)
            t_stop = time.monotonic()
            ctx = context(lab, "aws:ecs:stop-task")
            await run_for(ctx, "ecs.stop_task", {"Tasks": [task_resource(second)]}, {})
            await _until(lambda: second.last_status == "STOPPED", 40, "stopped task did not stop")
            stopped = (time.monotonic() - t_stop, second.containers[0].exit_code)
            status = lab.status()
        return {
            "kinds": kinds,
            "page": page,
            "env": sorted(line for line in env.splitlines() if line.split("=")[0] in ("HOST", "PORT", "PATH", "AZ")),
            "names": names,
            "workers": workers,
            "worker_cpu": worker_cpu,
            "blackholed": blackholed,
            "reopened": reopened,
            "killed": killed,
            "stopped": stopped,
            "notes": status["notes"],
            "left": _containers(),
        }

    m = asyncio.run(scenario())
    print(f"\ncontainer unit: {m}")
    assert m["kinds"] == {"app": "container"} and m["names"]
    assert any("as containers (podman" in n for n in m["notes"])
    assert m["page"] == PAGE
    assert m["env"] == ["AZ=us-east-1a", "HOST=0.0.0.0", f"PATH={IMAGE_PATH}", "PORT=80"]
    # Two workers at 100 % would take both cores; the task's cap holds them to half of one. The
    # floor only says they ran: two test streams share the machine's two cores.
    assert 15 <= m["worker_cpu"] <= 60, f"stress at 100% ({m['workers']} workers) is held to the task's half CPU"
    assert m["workers"] == 2
    assert not m["blackholed"] and m["reopened"]
    assert m["killed"] == (137, None, "Essential container in task exited")
    assert 1.5 <= m["stopped"][0] < 10 and m["stopped"][1] == 137  # PID 1 ignores SIGTERM
    assert m["left"] == []  # and net_lab checked that no process or namespace of the lab is left


def test_oom_kill_missing_image_and_a_dead_labs_container(tmp_path: Path, image: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with fault_lab(tmp_path) as lab:
            lab.ecs.create_cluster("ctr")
            # Memory over the task's 64 MiB: the kernel OOM-kills it, ECS says so.
            hog = await _run(
                lab,
                _taskdef(
                    "ctr-hog",
                    image,
                    ["sh", "-c", 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'],
                    entryPoint=["/bin/busybox"],
                ),
            )
            # An image that is not present locally, with no command to fall back on.
            missing = await _run(lab, _taskdef("ctr-missing", "localhost/not-built-here:1", []))
            await _until(lambda: hog.last_status == missing.last_status == "STOPPED", 60, "tasks did not stop")
            # A container a crashed lab left running is removed by the next lab's recovery.
            leftover = container_name(f"dead-{uuid.uuid4().hex[:8]}/app")
            podman("run", "-d", "--name", leftover, image, "sleep", "60")
            lab.store.own_resource(RESOURCE_KIND, leftover, "an-earlier-run")
            removed = await cleanup_containers(lab.store)
        return {
            "hog": (hog.containers[0].exit_code, hog.containers[0].reason, hog.stop_code, hog.stopped_reason),
            "missing": (missing.stop_code, missing.stopped_reason),
            "removed": removed == [leftover] and leftover not in _containers(),
            "left": _containers(),
        }

    m = asyncio.run(scenario())
    print(f"\ncontainer unit: {m}")
    assert m["hog"] == (
        137,
        "OutOfMemoryError: Container killed due to memory usage",
        "EssentialContainerExited",
        "Essential container in task exited",
    )
    assert m["missing"][0] == "TaskFailedToStart"
    assert m["missing"][1].startswith("CannotPullContainerError: pull image manifest has been retried 1 time(s): ")
    assert "podman pull localhost/not-built-here:1" in m["missing"][1]
    assert m["removed"] and m["left"] == []
