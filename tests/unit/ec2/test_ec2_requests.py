"""EC2 multi-instance requests act as a whole: one bad ID or state and no instance changes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ec2.api import OPERATIONS
from chaoslab.services.ec2.backend import Ec2Backend
from chaoslab.services.ec2.models import Instance, Subnet


def backend(tmp_path: Path, **states: str) -> Ec2Backend:
    ec2 = Ec2Backend(
        SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog()), FakeRuntime()
    )
    subnet = Subnet("subnet-1", "vpc-1", "us-east-1a", "10.0.0.0/24")
    for iid, state in states.items():
        ec2.instances[iid] = Instance(iid, "app", "t3.micro", subnet, {}, 80, state=state)
    return ec2


@pytest.mark.parametrize("operation", ["stop_instances", "start_instances", "terminate_instances", "reboot_instances"])
def test_an_unknown_id_changes_no_instance(tmp_path: Path, operation: str) -> None:
    ec2 = backend(tmp_path, **{"i-running": "running", "i-stopped": "stopped"})
    with pytest.raises(AwsError) as err:
        asyncio.run(getattr(ec2, operation)(["i-running", "i-stopped", "i-missing"]))
    assert err.value.code == "InvalidInstanceID.NotFound"
    assert {i: inst.state for i, inst in ec2.instances.items()} == {"i-running": "running", "i-stopped": "stopped"}
    assert not ec2._tasks


def test_start_with_a_stopping_instance_starts_none(tmp_path: Path) -> None:
    ec2 = backend(tmp_path, **{"i-stopped": "stopped", "i-stopping": "stopping"})
    with pytest.raises(AwsError) as err:
        asyncio.run(ec2.start_instances(["i-stopped", "i-stopping"]))
    assert err.value.code == "IncorrectInstanceState"
    assert ec2.instances["i-stopped"].state == "stopped"


def test_delete_tags_follows_ec2_value_rules(tmp_path: Path) -> None:
    ec2 = backend(tmp_path, **{"i-a": "running"})
    ctx = SimpleNamespace(lab=SimpleNamespace(ec2=ec2))
    inst = ec2.instances["i-a"]
    inst.tags = {"Role": "web", "Team": "shop", "Env": "", "aws:autoscaling:groupName": "g"}
    OPERATIONS["DeleteTags"](ctx, {"Resources": ["i-a"], "Tags": [{"Key": "Role", "Value": "db"}]})
    assert inst.tags["Role"] == "web"  # a Value that does not match keeps the tag
    OPERATIONS["DeleteTags"](ctx, {"Resources": ["i-a"], "Tags": [{"Key": "Role", "Value": "web"}, {"Key": "Team"}]})
    assert inst.tags == {"Env": "", "aws:autoscaling:groupName": "g"}
    with pytest.raises(AwsError):
        OPERATIONS["DeleteTags"](ctx, {"Resources": ["i-a", "i-missing"]})
    assert "Env" in inst.tags  # a bad ID changes nothing
    OPERATIONS["DeleteTags"](ctx, {"Resources": ["i-a"]})  # no tag list: every user tag
    assert inst.tags == {"aws:autoscaling:groupName": "g"}
