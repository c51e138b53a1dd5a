"""kill-process on a real unit: SIGTERM reaches every process of that name (gunicorn's arbiter
and workers), other processes of the unit live on, and an unknown name is an error."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import psutil
import pytest
from fault_lab import fault_lab, needs_netns, running_instance

from chaoslab.faults.base import FaultConfigError, TargetStateError
from chaoslab.faults.process import KillProcess

pytestmark = needs_netns


def alive(pid: int) -> bool:
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


async def settled_processes(unit, name: str) -> list[int]:
    """The unit's processes called `name` once the set has stayed the same for half a second."""
    last = unit.find_process(name)
    for _ in range(60):
        await asyncio.sleep(0.5)
        now = unit.find_process(name)
        if sorted(now) == sorted(last):
            return now
        last = now
    return last


def test_sigterm_kills_the_named_processes_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with fault_lab(tmp_path) as lab:
            inst = await running_instance(lab)
            unit = inst.unit
            bystander = await unit.spawn_extra("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
            pids = await settled_processes(unit, "gunicorn")  # the arbiter forks its workers after the app answers
            assert len(pids) >= 2  # arbiter + workers
            kill = KillProcess(unit, "gunicorn", "SIGTERM")
            journaled = []
            await kill.apply(lambda *entry: journaled.append(entry))
            assert sorted(kill.signalled) == sorted(pids) and journaled == []  # irreversible: nothing to undo
            for _ in range(200):
                if not any(alive(p) for p in pids):
                    break
                await asyncio.sleep(0.05)
            assert not any(alive(p) for p in pids)
            assert alive(bystander.pid)
            with pytest.raises(TargetStateError, match="no process found"):
                await KillProcess(unit, "gunicorn", "SIGKILL").apply(journaled.append)
            with pytest.raises(FaultConfigError, match="signal must be"):
                await KillProcess(unit, "python", "SIGHUP").apply(journaled.append)
            await unit.stop_extra("sleeper")

    asyncio.run(scenario())
