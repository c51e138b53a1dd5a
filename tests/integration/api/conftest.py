"""One real lab per test module (a VPC and nothing else), reached only through the AWS APIs."""

from __future__ import annotations

import pytest
from api_lab import LabHandle, stack_doc, start_lab, stop_and_check


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> LabHandle:
    handle = start_lab(tmp_path_factory.mktemp("lab"), stack_doc("apitest"))
    yield handle
    stop_and_check(handle)
