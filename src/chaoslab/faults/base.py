"""The one shape every fault family has, and the one error tree they raise.

A fault is built from its parameters (no effect yet), then `apply(journal)`:

1. `arm()` builds the undo record — everything `revert` needs, plus `target` — and may start
   helpers that do no harm yet (idle stress workers);
2. the record is handed to `journal(name, record)`, which persists it;
3. `go()` makes the fault take effect.

So no effect ever exists without a durable way to undo it. `revert(lab, record)` works from the
record alone — in the running lab, and after a crash with no lab objects at all — and is
idempotent: undoing what is already undone does nothing. Irreversible families (killing a
process) set `reversible = False` and journal nothing.

Errors, by what the caller should report::

    FaultError                 the fault cannot be applied
    ├── TargetStateError       the target cannot take it now (unit not running, no such process)
    ├── FaultConfigError       it cannot be applied as asked (a parameter, the lab's mode)
    │   └── NetworkFaultError  ... a network fault (needs netns mode, unknown sources)
    └── FaultStartError        its effect did not start, or conflicts with one already running
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

Journal = Callable[[str, dict[str, Any]], None]
"""Persists one undo record under the fault's name before the fault takes effect."""


class FaultError(Exception):
    """A fault that cannot be applied."""


class TargetStateError(FaultError):
    """The target cannot take the fault now: the unit is not running, no process matches."""


class FaultConfigError(FaultError):
    """The fault cannot be applied as asked: a bad parameter, or a lab mode that lacks it."""


class NetworkFaultError(FaultConfigError):
    """A network fault that cannot be set up as asked (netns mode only, unknown sources)."""


class FaultStartError(FaultError):
    """The fault's effect did not start, or would clash with one already running."""


class Fault(ABC):
    """One fault on one target. `name` is the journal kind, written only here, on the class."""

    name: ClassVar[str]
    reversible: ClassVar[bool] = True

    @abstractmethod
    async def arm(self) -> dict[str, Any]:
        """The undo record (with `target`); nothing takes effect yet."""

    @abstractmethod
    async def go(self) -> None:
        """Make the fault take effect (its record is already journaled)."""

    async def apply(self, journal: Journal) -> dict[str, Any]:
        """Arm, journal the record, then take effect; returns the record."""
        record = await self.arm()
        if self.reversible:
            journal(self.name, record)
        await self.go()
        return record

    @classmethod
    @abstractmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        """Undo the fault from its record; idempotent. `lab` is typed loosely on purpose: after a
        crash the watchdog reverts with no lab services at all."""

    @classmethod
    def describe(cls, record: dict[str, Any]) -> str:
        """What the record undoes, for revert failures and logs."""
        return f"{cls.name} on {record.get('target')}"
