"""A lab per test module, started the way users start it (`chaoslab up --detach`), on its own
state dir, API port, VPC range and a free ALB port, so it can run beside other labs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab_helpers import RunningLab, free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached


@pytest.fixture(scope="module")
def default_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    tmp = tmp_path_factory.mktemp("lab")
    config = LabConfig(home=tmp / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp, 91)), fast=True, quiet=True)
    lab = RunningLab(config, info)
    yield lab
    lab.stop()
