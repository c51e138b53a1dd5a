"""The lab's choice of runtime where no container engine can be used: a container's command runs
as a process (said once), a bundled app as before, and an image with neither cannot be pulled,
with the reason there are no containers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from chaoslab.runtime.kinds.base import ImageUnavailable, InImage, ProcessSpec
from chaoslab.runtime.kinds.select import SelectingRuntime
from chaoslab.store import Store


@pytest.fixture
def runtime(tmp_path: Path) -> SelectingRuntime:
    return SelectingRuntime(None, Store(tmp_path / "state.db"), "run1", "no container engine installed")


def test_without_an_engine_a_container_runs_its_command(
    runtime: SelectingRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    spec = ProcessSpec(image="localhost/api:1", command=["python3", "app.py"], in_image=InImage())
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(runtime.kind_for(spec)) == "process"
        assert asyncio.run(runtime.kind_for(spec)) == "process"
    assert [r.getMessage() for r in caplog.records] == [
        "container images run as their command: no container engine installed; "
        "containers run their command on this host"
    ]
    assert asyncio.run(runtime.kind_for(ProcessSpec(image="chaoslab/static", in_image=InImage()))) == "process"


def test_without_an_engine_an_image_alone_cannot_run(runtime: SelectingRuntime) -> None:
    with pytest.raises(ImageUnavailable) as refused:
        asyncio.run(runtime.kind_for(ProcessSpec(image="localhost/api:1", in_image=InImage())))
    assert "localhost/api:1 is not a chaoslab app and the container has no command" in str(refused.value)
    assert "no container engine installed" in str(refused.value) and "chaoslab/static" in str(refused.value)
    assert runtime.describe() == "container images run as their command: no container engine installed"
