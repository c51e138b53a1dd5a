"""Kill a named process inside a unit (what `killall -<signal> <name>` does in AWS's
Kill-Process document). Irreversible: there is nothing to undo, so nothing is journaled."""

from __future__ import annotations

import contextlib
import os
import signal as _signal
from typing import Any

from chaoslab.faults.base import Fault, FaultConfigError, TargetStateError
from chaoslab.runtime.unit import ComputeUnit

SIGNALS = {"SIGTERM": _signal.SIGTERM, "SIGKILL": _signal.SIGKILL}


class KillProcess(Fault):
    """`signal_name` to every process of the unit named `name` (or whose command line mentions
    it). No match is an error, as killall's "no process found"; `signalled` lists the pids."""

    name = "process.kill"
    reversible = False

    def __init__(
        self, unit: ComputeUnit, process: str, signal_name: str = "SIGTERM", target: str | None = None
    ) -> None:
        self.unit, self.process, self.signal_name = unit, process, signal_name
        self.target = target or unit.unit_id
        self.pids: list[int] = []
        self.signalled: list[int] = []

    async def arm(self) -> dict[str, Any]:
        if self.signal_name not in SIGNALS:
            raise FaultConfigError(f"signal must be one of {', '.join(SIGNALS)}, not {self.signal_name}")
        self.pids = self.unit.find_process(self.process)
        if not self.pids:
            raise TargetStateError(f"{self.process}: no process found")
        return {"target": self.target, "pids": self.pids}

    async def go(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, SIGNALS[self.signal_name])
                self.signalled.append(pid)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        """A killed process stays killed: nothing to undo."""
