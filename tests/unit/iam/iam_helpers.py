"""A tiny lab with only what IamBackend touches: config, a real SQLite store and an event log."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.iam.backend import IamBackend
from chaoslab.store import Store


def make_lab(home: Path) -> SimpleNamespace:
    lab = SimpleNamespace(config=LabConfig(home=home), store=Store(home / "state.db"), events=EventLog())
    lab.iam = IamBackend(lab)
    asyncio.run(lab.iam.start())
    return lab
