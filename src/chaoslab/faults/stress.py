"""CPU, I/O, memory and disk-fill stress inside a compute unit, as real worker processes.

`cpu()`/`io()`/`memory()`/`disk_fill()` size a `Stress` fault from their parameters. Its `arm`
starts idle workers in the unit, so the undo record is durable before any load runs; `go`
starts the load. `Stress.revert(lab, record)` stops the workers (through the unit if it still
exists, else by pid + create time, so it works after a lab crash) and deletes the directory.
It is idempotent. This module knows nothing about FIS or SSM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from chaoslab.faults.base import Fault, TargetStateError
from chaoslab.faults.lookup import live_unit
from chaoslab.faults.worker import GO_FILE, READY_PREFIX
from chaoslab.runtime.kinds.base import UnitHandle
from chaoslab.runtime.unit import ComputeUnit

MiB = 1024 * 1024
# Lab limits, so a fault never endangers the host: bytes per I/O worker, per disk fill and per
# memory-stress run. Override with the environment variables of the same name.
IO_MAX_BYTES_ENV = "CHAOSLAB_IO_STRESS_MAX_BYTES"
DISK_FILL_MAX_BYTES_ENV = "CHAOSLAB_DISK_FILL_MAX_BYTES"
MEMORY_MAX_BYTES_ENV = "CHAOSLAB_MEMORY_STRESS_MAX_BYTES"
DEFAULT_MAX_BYTES = 256 * MiB
MAX_WORKERS = 64  # a lab host has few cores; more workers only add process overhead
FAULT_DIR_PREFIX = "chaoslab-fault-"
READY_WAIT_SECONDS = 15.0  # a loaded host starts Python slowly; a worker slower than this is broken
READY_POLL_SECONDS = 0.002  # a forked worker is ready within a few ms; 10 ms steps made arming 64 units wait


def lab_limit(env_name: str) -> int:
    """The byte cap for a fault family: the environment's override or 256 MiB."""
    raw = os.environ.get(env_name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_BYTES


class Stress(Fault):
    """Worker processes of one `kind` (cpu, io, memory, disk-fill) in a unit. `arm` starts them
    idle and records each (name, pid, create time) and the directory holding their files; `go`
    tells them to start."""

    name = "stress.workers"

    def __init__(
        self, unit: ComputeUnit, kind: str, count: int, duration: float, target: str | None, **options: float | int
    ) -> None:
        self.unit, self.kind, self.count, self.duration = unit, kind, count, duration
        self.target = target or unit.unit_id
        self.options = options
        self.record: dict[str, Any] = {}

    async def arm(self) -> dict[str, Any]:
        unit = self.unit
        if unit.sandbox is None or not unit.sandbox.link_up:  # its app may have died; the machine has not
            raise TargetStateError(f"unit {unit.unit_id} is not running")
        fault_id = uuid.uuid4().hex[:12]
        workdir = unit.workdir / f"{FAULT_DIR_PREFIX}{fault_id}"
        workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(workdir, 0o777)
        record: dict[str, Any] = {
            "kind": self.kind,
            "unit_id": unit.unit_id,
            "target": self.target,
            "dir": str(workdir),
            "workers": [],
            **self.options,
        }
        handles: dict[str, UnitHandle] = {}
        try:
            for index in range(self.count):
                name = f"fault-{fault_id}-{self.kind}-{index}"
                argv = [
                    self.kind,
                    "--dir",
                    str(workdir),
                    "--index",
                    str(index),
                    "--duration",
                    f"{self.duration:.3f}",
                ]
                argv += [f"--{key}={value}" for key, value in self.options.items()]
                proc = await unit.fork_helper(name, "chaoslab.faults.worker", argv)
                record["workers"].append({"name": name, "pid": proc.pid, "create_time": proc.create_time})
                handles[name] = proc
            await _until_ready(workdir, record["workers"], handles)
        except BaseException:
            await _undo(unit, record)
            raise
        self.record = record
        return record

    async def go(self) -> None:
        (Path(self.record["dir"]) / GO_FILE).touch()

    async def wait(self) -> None:
        """Until every worker has ended (they stop on their own at their deadline)."""
        while any(_alive(w) for w in self.record["workers"]):
            await asyncio.sleep(0.05)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        """Stop every worker of the fault and delete its files. Safe to run twice or after a crash."""
        await _undo(live_unit(lab, record["unit_id"]), record)


async def _until_ready(workdir: Path, workers: list[dict[str, Any]], handles: dict[str, UnitHandle]) -> None:
    """Wait for every worker to have started its interpreter, so that `go` turns the load on at
    once and nothing of the start-up cost is counted as the fault's."""
    deadline = time.monotonic() + READY_WAIT_SECONDS
    for index, worker in enumerate(workers):
        while not (workdir / f"{READY_PREFIX}{index}").exists():
            if not _alive(worker):
                code = handles[worker["name"]].returncode
                raise TargetStateError(f"stress worker {worker['name']} exited before it was ready (code {code})")
            if time.monotonic() > deadline:
                raise TargetStateError(f"stress worker {worker['name']} did not start in {READY_WAIT_SECONDS:.0f} s")
            await asyncio.sleep(READY_POLL_SECONDS)


def cpu(unit: ComputeUnit, *, percent: float, workers: int, duration: float, target: str | None = None) -> Stress:
    """`workers` processes (0 = one per CPU) each busy `percent` % of one core, so the unit
    uses about `percent` % of the cores it stresses."""
    count = min(workers or os.cpu_count() or 1, MAX_WORKERS)
    return Stress(unit, "cpu", count, duration, target, percent=float(percent))


def io_bytes_per_worker(free: int, percent: float, workers: int, cap: int) -> int:
    """`percent` % of the free space shared by the workers, never above the lab's cap."""
    return max(MiB, min(int(free * percent / 100 / max(1, workers)), cap))


def io(
    unit: ComputeUnit,
    *,
    percent: float,
    workers: int,
    duration: float,
    max_bytes: int | None = None,
    target: str | None = None,
) -> Stress:
    """Workers writing and fsyncing 1 MiB chunks in the unit's workdir, each within its share
    of `percent` % of the free space (capped by CHAOSLAB_IO_STRESS_MAX_BYTES)."""
    count = min(max(1, workers), MAX_WORKERS)
    free = shutil.disk_usage(unit.workdir).free
    per_worker = io_bytes_per_worker(free, percent, count, max_bytes or lab_limit(IO_MAX_BYTES_ENV))
    return Stress(unit, "io", count, duration, target, bytes=per_worker)


def memory(unit: ComputeUnit, *, size: int, workers: int, duration: float, target: str | None = None) -> Stress:
    """`size` bytes held resident in total, split across `workers` processes, capped by
    CHAOSLAB_MEMORY_STRESS_MAX_BYTES."""
    count = min(max(1, workers), MAX_WORKERS)
    total = min(size, lab_limit(MEMORY_MAX_BYTES_ENV))
    return Stress(unit, "memory", count, duration, target, bytes=total // count)


def disk_fill_bytes(total: int, used: int, percent: float, cap: int) -> int:
    """Bytes that bring the file system to `percent` % used, never above the lab's cap."""
    return max(0, min(int(total * percent / 100) - used, cap))


def disk_fill(
    unit: ComputeUnit, *, percent: float, duration: float, max_bytes: int | None = None, target: str | None = None
) -> Stress:
    """One file in the unit's workdir filling the disk towards `percent` % used (capped by
    CHAOSLAB_DISK_FILL_MAX_BYTES: the lab's disk is the host's)."""
    usage = shutil.disk_usage(unit.workdir)
    size = disk_fill_bytes(usage.total, usage.used, percent, max_bytes or lab_limit(DISK_FILL_MAX_BYTES_ENV))
    return Stress(unit, "disk-fill", 1, duration, target, bytes=size)


def io_stats(record: dict[str, Any]) -> list[dict[str, float]]:
    """The I/O workers' running totals (bytes written, fsyncs), as they last published them."""
    out = []
    for path in sorted(Path(record["dir"]).glob("io-*.json")):
        with contextlib.suppress(OSError, ValueError):
            out.append(json.loads(path.read_text()))
    return out


def _process(worker: dict[str, Any]) -> psutil.Process | None:
    """The worker's process if it is still the one we started (pid reuse is checked)."""
    try:
        proc = psutil.Process(worker["pid"])
        if worker.get("create_time") is None or abs(proc.create_time() - worker["create_time"]) < 0.05:
            return proc if proc.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        pass
    return None


def _alive(worker: dict[str, Any]) -> bool:
    return _process(worker) is not None


async def _undo(unit: ComputeUnit | None, record: dict[str, Any]) -> None:
    if unit is not None:
        await asyncio.gather(
            *(unit.stop_extra(w["name"], timeout=2.0) for w in record["workers"]), return_exceptions=True
        )
    leftovers = [w for w in record["workers"] if _alive(w)]
    for worker in leftovers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker["pid"], signal.SIGKILL)  # workers lead their own process group
    for _ in range(100):
        if not any(_alive(w) for w in leftovers):
            break
        await asyncio.sleep(0.02)
    shutil.rmtree(record["dir"], ignore_errors=True)
