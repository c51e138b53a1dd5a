"""Crash recovery for processes: a lab that died left its units running; the next start kills
exactly those (by pid *and* start time, so a reused pid is never hit) and forgets them."""

from __future__ import annotations

import contextlib
import os
import signal

import psutil

from chaoslab.runtime.sandbox import wait_gone
from chaoslab.store import Store

# psutil derives create_time from boot time + start ticks; two reads of one process agree to
# well under this, while a reused pid starts at least a clock tick later.
_SAME_START = 0.005


async def kill_leftover_processes(store: Store) -> list[int]:
    """SIGKILL the group of every recorded unit that still runs with its recorded start time,
    then disown every record. Returns the pids that were killed."""
    killed: list[int] = []
    for pid, create_time, _what in store.owned_processes():
        members = _group_members(pid, create_time)
        if members:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            await wait_gone(members, 5.0)
            killed.append(pid)
        store.disown_process(pid)
    return killed


def _group_members(pgid: int, create_time: float) -> list[int]:
    """Processes of our unit's group: the leader with the recorded start time, or — when the
    leader is gone — members of group `pgid` started after it (a pgid is never reused while its
    group lives). Empty when the pid now belongs to someone else."""
    try:
        leader_start = psutil.Process(pgid).create_time()
        if abs(leader_start - create_time) > _SAME_START:
            return []  # pid reused: our unit's group is gone
    except psutil.NoSuchProcess:
        pass
    members = []
    for proc in psutil.process_iter(["create_time"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == pgid and proc.info["create_time"] >= create_time - _SAME_START:
                members.append(proc.pid)
    return members
