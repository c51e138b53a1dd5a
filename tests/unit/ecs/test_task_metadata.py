"""The ECS task metadata endpoint v4's documents and paths, as AWS documents them:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import make_mocked_request

from chaoslab.services.ecs import task_metadata as tm

ARN = "arn:aws:ecs:us-east-1:123456789012:task/web/abc123"
TASK = SimpleNamespace(
    task_id="abc123",
    arn=ARN,
    cluster=SimpleNamespace(arn="arn:aws:ecs:us-east-1:123456789012:cluster/web"),
    task_definition={
        "family": "web",
        "revision": 3,
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "app", "memory": 256}, {"name": "sidecar"}],
    },
    containers=[
        SimpleNamespace(name="app", image="chaoslab/static", last_status="RUNNING", exit_code=None),
        SimpleNamespace(name="sidecar", image="busybox", last_status="STOPPED", exit_code=137),
    ],
    private_ip="10.0.10.4",
    desired_status="RUNNING",
    last_status="RUNNING",
    pull_started_at=1.0,
    pull_stopped_at=2.0,
    az="us-east-1a",
    launch_type="FARGATE",
)


def get(path: str) -> tuple[int, Any]:
    handler = tm.handler(
        lambda: tm.task_document(TASK, "02:00:0a:00:0a:04", "10.0.10.0/24"),
        lambda cid: tm.docker_stats(1.5, 1000, 2000, 10.0),
    )
    response = asyncio.run(handler(make_mocked_request("GET", path)))
    return response.status, json.loads(response.body)  # type: ignore[attr-defined]


def test_container_task_and_stats_paths() -> None:
    app = tm.container_id("abc123", "app")
    assert tm.uri("abc123", "app") == f"http://169.254.170.2/v4/{app}"
    status, container = get(f"/v4/{app}")
    assert status == 200 and container["Name"] == "app" and container["DockerId"] == app
    assert container["Labels"]["com.amazonaws.ecs.task-arn"] == ARN
    assert container["Limits"]["Memory"] == 256
    assert container["Networks"][0]["IPv4Addresses"] == ["10.0.10.4"]
    status, task = get(f"/v4/{app}/task")
    assert task["TaskARN"] == ARN and task["Family"] == "web" and task["Revision"] == "3"
    assert task["Limits"] == {"CPU": 0.25, "Memory": 512}
    assert [c["Name"] for c in task["Containers"]] == ["app", "sidecar"]
    assert task["Containers"][1]["ExitCode"] == 137
    status, stats = get(f"/v4/{app}/stats")
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] == 1_500_000_000
    assert stats["memory_stats"] == {"usage": 1000, "limit": 2000, "stats": {}}
    status, all_stats = get(f"/v4/{app}/task/stats")
    assert set(all_stats) == {app, tm.container_id("abc123", "sidecar")}


def test_unknown_container_is_404() -> None:
    assert get("/v4/not-a-container")[0] == 404
    assert get("/v4/not-a-container/task")[0] == 404
    assert get(f"/v4/{tm.container_id('abc123', 'app')}/nope")[0] == 404
