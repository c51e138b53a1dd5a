"""UpdateService is checked as a whole: an unknown task definition changes nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ec2.models import Subnet
from chaoslab.services.ecs.backend import EcsBackend


def test_unknown_task_definition_leaves_desired_count(tmp_path: Path) -> None:
    subnet = Subnet("subnet-1", "vpc-1", "us-east-1a", "10.0.0.0/24")
    ecs = EcsBackend(
        SimpleNamespace(
            clock=LabClock(),
            config=LabConfig(home=tmp_path),
            events=EventLog(),
            ec2=SimpleNamespace(subnet=lambda _: subnet, resolve_groups=lambda _refs, _subnet: ("sg-default",)),
        ),
        FakeRuntime(),
    )
    ecs.create_cluster("c")
    ecs.task_definitions.register({"family": "web", "containerDefinitions": [{"name": "web", "image": "shop"}]})
    ecs.create_service("c", "svc", "web", 2, network_configuration={"awsvpcConfiguration": {"subnets": ["subnet-1"]}})
    with pytest.raises(AwsError):
        ecs.update_service("c", "svc", desired_count=5, task_definition="missing:1")
    svc = ecs.service("c", "svc")
    assert (svc.desired_count, svc.task_definition["family"]) == (2, "web")
