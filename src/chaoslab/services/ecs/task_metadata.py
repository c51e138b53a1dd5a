"""The ECS task metadata endpoint v4 each task reaches at 169.254.170.2, served by the lab on the
VPC's bridge (`runtime.linklocal`). Every container gets
`ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/<container id>`; under it `${URI}` is the
container's metadata, `${URI}/task` the task's, `${URI}/stats` and `${URI}/task/stats` Docker
stats (one container's; every container's by id), in the shapes AWS documents:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from chaoslab.runtime.linklocal import Handler

ADDRESS = "169.254.170.2"
PORT = 80
ENV = "ECS_CONTAINER_METADATA_URI_V4"


def container_id(task_id: str, name: str) -> str:
    """A Docker-like 64-hex id for one container of one task, stable for its life."""
    return hashlib.sha256(f"{task_id}/{name}".encode()).hexdigest()


def uri(task_id: str, name: str) -> str:
    return f"http://{ADDRESS}/v4/{container_id(task_id, name)}"


def docker_stats(cpu_seconds: float, memory: int, memory_limit: int | None, now: float) -> dict[str, Any]:
    """One reading in `docker stats`' JSON shape (the fields SDKs and agents read)."""
    online = os.cpu_count() or 1
    return {
        "read": datetime.fromtimestamp(now, UTC).isoformat(),
        "num_procs": 0,
        "cpu_stats": {
            "cpu_usage": {"total_usage": int(cpu_seconds * 1e9), "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "system_cpu_usage": int(now * online * 1e9),
            "online_cpus": online,
        },
        "memory_stats": {"usage": memory, "limit": memory_limit or 0, "stats": {}},
    }


# What the endpoint reads at each request: the task's v4 document (containers keyed by id under
# "Containers"), and the stats of a container by id.
TaskDocument = Callable[[], dict[str, Any]]
Stats = Callable[[str], dict[str, Any]]


def handler(task: TaskDocument, stats: Stats) -> Handler:
    """One task's endpoint."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        if request.method not in ("GET", "HEAD") or len(parts) < 2 or parts[0] != "v4":
            return web.json_response({"error": "not found"}, status=404)
        cid, rest = parts[1], parts[2:]
        doc = task()
        if not any(c["DockerId"] == cid for c in doc["Containers"]):
            return web.json_response({"error": "not found"}, status=404)
        if rest == []:
            return web.json_response(next(c for c in doc["Containers"] if c["DockerId"] == cid))
        if rest == ["task"]:
            return web.json_response(doc)
        if rest == ["stats"]:
            return web.json_response(stats(cid))
        if rest == ["task", "stats"]:
            return web.json_response({c["DockerId"]: stats(c["DockerId"]) for c in doc["Containers"]})
        return web.json_response({"error": "not found"}, status=404)

    return handle


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None


def task_document(task: Any, mac: str | None, subnet_cidr: str) -> dict[str, Any]:
    """The v4 task metadata of an ECS `Task` (services/ecs/models.py), its containers included."""
    td = task.task_definition
    family, revision = td["family"], str(td.get("revision", 1))
    limits = {"CPU": float(td["cpu"]) / 1024 if td.get("cpu") else None, "Memory": _int(td.get("memory"))}
    network = {
        "NetworkMode": td.get("networkMode", "awsvpc"),
        "IPv4Addresses": [task.private_ip] if task.private_ip else [],
        "AttachmentIndex": 0,
        "MACAddress": mac,
        "IPv4SubnetCIDRBlock": subnet_cidr,
        "PrivateDNSName": f"ip-{(task.private_ip or '').replace('.', '-')}.ec2.internal",
    }
    by_name = {c["name"]: c for c in td["containerDefinitions"]}
    containers = []
    for state in task.containers:
        cid = container_id(task.task_id, state.name)
        definition = by_name.get(state.name, {})
        containers.append(
            {
                "DockerId": cid,
                "Name": state.name,
                "DockerName": f"ecs-{family}-{revision}-{state.name}",
                "Image": state.image,
                "Labels": {
                    "com.amazonaws.ecs.cluster": task.cluster.arn,
                    "com.amazonaws.ecs.container-name": state.name,
                    "com.amazonaws.ecs.task-arn": task.arn,
                    "com.amazonaws.ecs.task-definition-family": family,
                    "com.amazonaws.ecs.task-definition-version": revision,
                },
                "DesiredStatus": task.desired_status,
                "KnownStatus": state.last_status,
                "Limits": {"CPU": definition.get("cpu", 0), "Memory": definition.get("memory")},
                "Type": "NORMAL",
                "ContainerARN": f"{task.arn.replace(':task/', ':container/')}/{state.name}",
                "Networks": [network],
                **({"ExitCode": state.exit_code} if state.exit_code is not None else {}),
            }
        )
    return {
        "Cluster": task.cluster.arn,
        "TaskARN": task.arn,
        "Family": family,
        "Revision": revision,
        "DesiredStatus": task.desired_status,
        "KnownStatus": task.last_status,
        "Limits": {k: v for k, v in limits.items() if v is not None},
        "PullStartedAt": _iso(task.pull_started_at),
        "PullStoppedAt": _iso(task.pull_stopped_at),
        "AvailabilityZone": task.az,
        "LaunchType": task.launch_type,
        "Containers": containers,
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
