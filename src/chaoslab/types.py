"""The lab as its rooms see it: one narrow protocol in a leaf module, so a backend, a fault or a
reverter can type its `lab` without importing `chaoslab.lab` (which imports every backend, and
would close an import cycle through each of them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.store import Store


class LabLike(Protocol):
    """What every room may use of the lab: its settings, store and event log, and the other
    rooms by name. Rooms are typed loosely on purpose: a room reaches another only through that
    room's public methods, never through its class."""

    config: LabConfig
    clock: LabClock
    store: Store
    events: EventLog
    run_id: str
    stack_name: str | None
    iam: Any
    cloudwatch: Any
    logs: Any
    ec2: Any
    elbv2: Any
    rds: Any
    autoscaling: Any
    ecs: Any
    applicationautoscaling: Any
    servicediscovery: Any
    ssm: Any
    fis: Any
    gateway: Any


ApiHandler = Callable[[Any, dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]] | None"]
"""One AWS operation: (request context, parsed parameters) -> response members; may be a coroutine."""
