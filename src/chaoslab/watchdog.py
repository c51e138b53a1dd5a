"""The dead man's switch: faults never outlive the lab that controls them.

FIS promises that an experiment's faults end when the experiment can no longer be controlled.
The lab keeps that promise when it stops (it reverts every fault), and at its next start after a
crash (it replays the undo journal). Between the two, a SIGKILLed lab would leave stress workers
burning CPU, iptables rules dropping packets, delay proxies and fill files — until somebody
runs `chaoslab up` or `down`. So every lab starts a watchdog: a small process in its own session
that waits on the lab's pidfd and, the moment the lab is gone, does the crash recovery itself —
replays the undo journal, kills every process the lab recorded, removes its namespaces, links,
routes and PostgreSQL directories. After a clean stop there is nothing left to do and it exits.

A lab starting in the same state dir first waits for a previous lab's watchdog to finish, so the
two never clean up at the same time (the old one could otherwise kill the new lab's units).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from chaoslab.runtime.commands import use_system_path
from chaoslab.store import Store

log = logging.getLogger("chaoslab.watchdog")
STORE_KIND, STORE_ID = "runtime", "watchdog"
_PREVIOUS_WAIT_SECONDS = 30.0


def start(home: Path, store: Store) -> subprocess.Popen[bytes]:
    """Start the watchdog of this process (the lab) and record it in the store."""
    log_file = open(home / "watchdog.log", "ab")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaoslab.watchdog", "--home", str(home), "--lab-pid", str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log_file.close()
    store.put(STORE_KIND, STORE_ID, {"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time()})
    return proc


def stop(proc: subprocess.Popen[bytes], store: Store) -> None:
    """After a clean stop: nothing is left to revert, so end the watchdog at once."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    store.delete(STORE_KIND, STORE_ID)


async def wait_for_previous(store: Store) -> None:
    """A lab starting where another lab died lets that lab's watchdog finish first."""
    record = store.get(STORE_KIND, STORE_ID)
    if record is None:
        return
    deadline = time.monotonic() + _PREVIOUS_WAIT_SECONDS
    while time.monotonic() < deadline and _same_process(record):
        await asyncio.sleep(0.05)
    store.delete(STORE_KIND, STORE_ID)


def _same_process(record: dict[str, Any]) -> bool:
    try:
        proc = psutil.Process(int(record["pid"]))
        return abs(proc.create_time() - float(record["create_time"])) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, ValueError, TypeError):
        return False


def wait_for_exit(pid: int) -> None:
    """Block until `pid` exits: a pidfd where the kernel has one, else polling."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.1)
        return
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while not poller.poll(1000):
            pass
    finally:
        os.close(fd)


async def recover(store: Store) -> dict[str, Any]:
    """Everything a dead lab left: faults reverted first (while their units still exist), then
    processes killed, then namespaces/links/routes, volume mounts, containers and PostgreSQL directories removed."""
    from chaoslab.faults.replay import revert_entries
    from chaoslab.runtime.cgroups import cleanup_cgroups
    from chaoslab.runtime.kinds.container import cleanup_containers
    from chaoslab.runtime.network import cleanup_leftovers
    from chaoslab.runtime.recovery import kill_leftover_processes
    from chaoslab.runtime.volume import cleanup_mounts
    from chaoslab.services.rds.postgres import cleanup_owned

    reverted: list[str] = []
    failed = await revert_entries(_DeadLab(), store, store.journal_pending(), lambda e: reverted.append(e["fault"]))
    killed = await kill_leftover_processes(store)
    removed = await cleanup_leftovers(store) + await cleanup_mounts(store) + await cleanup_containers(store)
    removed += cleanup_cgroups(store)  # after the containers: a cgroup with processes cannot go
    cleanup_owned(store)
    return {"reverted": reverted, "revert_failed": failed, "killed": killed, "removed": removed}


class _DeadLab:
    """What reverts see when the lab is gone: no live units, no services to call."""

    ec2 = ecs = ssm = gateway = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaoslab.watchdog")
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--lab-pid", required=True, type=int)
    args = parser.parse_args(argv)
    use_system_path()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s watchdog %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the lab stopped cleanly
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the lab's terminal is the lab's to handle
    wait_for_exit(args.lab_pid)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # from here on, finish the job
    started = time.monotonic()
    store = Store(args.home / "state.db")
    try:
        outcome = asyncio.run(recover(store))
    finally:
        store.close()
    log.info("lab %d is gone; recovered in %.2f s: %s", args.lab_pid, time.monotonic() - started, outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
