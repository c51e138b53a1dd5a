"""The awslogs driver as the ECS agent runs it, and the scheduler's answer to tasks that cannot
start: the group must exist unless `awslogs-create-group` is "true"; a service whose tasks fail
to start backs off and says so once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ec2.models import Subnet
from chaoslab.services.ecs.backend import EcsBackend, StartFailure, awslogs_of
from chaoslab.services.logs.backend import LogsBackend


def container(**options: str) -> dict:
    return {
        "name": "api",
        "image": "chaoslab/static",
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/ecs/api",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "web",
                **options,
            },
        },
    }


@pytest.fixture
def ecs(tmp_path: Path) -> EcsBackend:
    subnet = Subnet("subnet-1", "vpc-1", "us-east-1a", "10.0.0.0/24")
    lab = SimpleNamespace(
        clock=LabClock(),
        config=LabConfig(home=tmp_path),
        events=EventLog(),
        ec2=SimpleNamespace(subnet=lambda _: subnet, resolve_groups=lambda _refs, _subnet: ("sg-default",)),
    )
    lab.logs = LogsBackend(lab)
    backend = EcsBackend(lab, FakeRuntime())
    backend.create_cluster("c")
    return backend


def task_with(ecs: EcsBackend, c: dict):
    td = ecs.task_definitions.register({"family": "api", "containerDefinitions": [c]})
    return SimpleNamespace(task_id="abc123", task_definition=td)


def test_destination_follows_the_agents_naming() -> None:
    assert awslogs_of(container(), "abc123") == ("/ecs/api", "web/api/abc123", False)
    assert awslogs_of(container(**{"awslogs-create-group": "true"}), "t").create_group is True
    assert awslogs_of({"name": "x", "logConfiguration": {"logDriver": "json-file"}}, "t") is None
    assert awslogs_of({"name": "x"}, "t") is None


def test_missing_group_fails_the_start_naming_the_group(ecs: EcsBackend) -> None:
    with pytest.raises(StartFailure) as failure:
        ecs._open_log_streams(task_with(ecs, container()))
    assert str(failure.value) == (
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
        "exist. : exit status 1 (awslogs-group /ecs/api)"
    )
    assert ecs.lab.logs.groups == {}


def test_create_group_option_creates_group_and_stream(ecs: EcsBackend) -> None:
    ecs._open_log_streams(task_with(ecs, container(**{"awslogs-create-group": "true"})))
    assert list(ecs.lab.logs.groups["/ecs/api"].streams) == ["web/api/abc123"]


def test_an_existing_group_needs_no_option(ecs: EcsBackend) -> None:
    ecs.lab.logs.create_log_group("/ecs/api")
    ecs._open_log_streams(task_with(ecs, container()))
    assert list(ecs.lab.logs.groups["/ecs/api"].streams) == ["web/api/abc123"]


def test_failed_starts_throttle_the_service_and_are_reported_once(ecs: EcsBackend) -> None:
    ecs.task_definitions.register({"family": "api", "containerDefinitions": [container()]})
    svc = ecs.create_service(
        "c", "svc", "api", 1, network_configuration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    )
    ecs._start_failed(svc)
    first = svc.launch_after
    ecs._start_failed(svc)
    assert svc.launch_after > first and svc.start_failures == 2
    messages = [e["message"] for e in svc.events]
    assert (
        messages.count(
            "(service svc) is unable to consistently start tasks successfully. For more "
            "information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        )
        == 1
    )
    ecs.update_service("c", "svc", force_new_deployment=True)  # a new deployment ends the throttle
    assert (svc.start_failures, svc.launch_after) == (0, 0.0)
