"""Kill a named process inside a unit (what `killall -<signal> <name>` does in AWS's
Kill-Process document). Irreversible: there is nothing to undo, so no record."""

from __future__ import annotations

import contextlib
import os
import signal as _signal

from chaoslab.faults import FaultError
from chaoslab.runtime.unit import ComputeUnit

SIGNALS = {"SIGTERM": _signal.SIGTERM, "SIGKILL": _signal.SIGKILL}


def kill_process(unit: ComputeUnit, name: str, signal_name: str = "SIGTERM") -> list[int]:
    """Send `signal_name` to every process of the unit named `name` (or whose command line
    mentions it); returns their pids. No match is an error, as killall's "no process found"."""
    if signal_name not in SIGNALS:
        raise FaultError(f"signal must be one of {', '.join(SIGNALS)}, not {signal_name}")
    pids = unit.find_process(name)
    if not pids:
        raise FaultError(f"{name}: no process found")
    signalled = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, SIGNALS[signal_name])
            signalled.append(pid)
    return signalled
