"""ECS names and tags as ECS checks them (its model does not): each was accepted or a 500 before."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.errors import AwsError
from chaoslab.events import EventLog
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.services.ecs.api import OPERATIONS
from chaoslab.services.ecs.backend import EcsBackend


@pytest.fixture
def ctx(tmp_path: Path) -> SimpleNamespace:
    lab = SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())
    lab.ecs = EcsBackend(lab, FakeRuntime())
    return SimpleNamespace(lab=lab, account_id="123456789012", region="us-east-1")


@pytest.mark.parametrize(
    "operation, params, code",
    [
        ("CreateCluster", {"clusterName": "a" * 256}, "InvalidParameterException"),
        ("CreateCluster", {"clusterName": "has space"}, "InvalidParameterException"),
        ("CreateCluster", {"clusterName": "c", "tags": [{"value": "v"}]}, "InvalidParameterException"),
        (
            "CreateService",
            {"serviceName": "s", "taskDefinition": "t", "healthCheckGracePeriodSeconds": -1},
            "InvalidParameterException",
        ),
        (
            "RegisterTaskDefinition",
            {"family": "f", "containerDefinitions": [{"name": "a" * 256, "image": "i"}]},
            "ClientException",
        ),
    ],
)
def test_refused(ctx: SimpleNamespace, operation: str, params: dict, code: str) -> None:
    with pytest.raises(AwsError) as err:
        OPERATIONS[operation](ctx, params)
    assert err.value.code == code


def test_a_valid_cluster_is_made(ctx: SimpleNamespace) -> None:
    out = OPERATIONS["CreateCluster"](ctx, {"clusterName": "ok_name-1", "tags": [{"key": "k", "value": "v"}]})
    assert out["cluster"]["clusterName"] == "ok_name-1"
