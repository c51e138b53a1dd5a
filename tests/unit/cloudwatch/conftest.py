import types

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock(1_795_306_200.0)  # 2026-11-22 00:10:00 UTC


@pytest.fixture
def lab(tmp_path):
    return types.SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog())


@pytest.fixture
def cw(lab, clock):
    return CloudWatchBackend(lab, clock=clock)
