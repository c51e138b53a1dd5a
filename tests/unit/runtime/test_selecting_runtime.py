"""The lab's choice of runtime where no container engine can be used: a container's command runs
as a process (said once), a bundled app as before, and an image with neither cannot be pulled,
with the reason there are no containers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from chaoslab.runtime.kinds.base import ImageUnavailable, InImage, ProcessSpec
from chaoslab.runtime.kinds.engine import Engine
from chaoslab.runtime.kinds.select import SelectingRuntime
from chaoslab.runtime.sandbox import Sandbox
from chaoslab.store import Store


@pytest.fixture
def runtime(tmp_path: Path) -> SelectingRuntime:
    return SelectingRuntime(None, Store(tmp_path / "state.db"), "run1", "no container engine installed")


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(store=Store(tmp_path / "state.db"), lab_run="run1", ip="127.0.1.4", az="us-east-1a")


def test_without_an_engine_a_container_runs_its_command(
    runtime: SelectingRuntime, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    spec = ProcessSpec(image="localhost/api:1", command=["python3", "app.py"], in_image=InImage())
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(runtime.kind_for(sandbox, spec)) == "process"
        assert asyncio.run(runtime.kind_for(sandbox, spec)) == "process"
    assert [r.getMessage() for r in caplog.records] == [
        "container images run as their command: no container engine installed; "
        "containers run their command on this host"
    ]
    assert asyncio.run(runtime.kind_for(sandbox, ProcessSpec(image="chaoslab/static", in_image=InImage()))) == "process"


def test_without_an_engine_an_image_alone_cannot_run(runtime: SelectingRuntime, sandbox: Sandbox) -> None:
    with pytest.raises(ImageUnavailable) as refused:
        asyncio.run(runtime.kind_for(sandbox, ProcessSpec(image="localhost/api:1", in_image=InImage())))
    assert "localhost/api:1 is not a chaoslab app and the container has no command" in str(refused.value)
    assert "no container engine installed" in str(refused.value) and "chaoslab/static" in str(refused.value)
    assert runtime.describe() == "container images run as their command: no container engine installed"


def test_with_an_engine_a_unit_without_a_namespace_still_runs_the_command(tmp_path: Path, sandbox: Sandbox) -> None:
    """Loopback mode: no namespace for a container to join, so the engine is never asked."""
    runtime = SelectingRuntime(Engine("/nonexistent/podman", None), Store(tmp_path / "state.db"), "run1")
    spec = ProcessSpec(image="localhost/api:1", command=["python3", "app.py"], in_image=InImage())
    assert asyncio.run(runtime.kind_for(sandbox, spec)) == "process"
    assert runtime.describe("loopback") == (
        "container images run as their command: units have no network namespace in loopback mode"
    )
    assert runtime.describe("netns") == "container images run as containers (podman)"
