"""A workload shared by several generator processes (`workload.processes: N`).

One Python process sends about as fast as one core lets it; N processes (`worker.py`) each take
every N-th slot of each request's schedule, so together they keep the one schedule a single
generator would, at N times the rate it could hold alone. They start their schedules at one
moment on the machine's monotonic clock, follow the run's phase, and send their records and
observed writes back as JSON lines; this side hands them to the same `on_record`/`on_write` a
single `Workload` calls, so the journal, the hypothesis and the integrity check see one workload.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.workload import Record, RequestSpec, WriteObserver

START_MARGIN_S = 0.05  # from "start" being written to the schedules' first slot
READY_TIMEOUT_S = 30.0  # a process that has not answered by then is not coming (import, start-up)
PHASE_POLL_S = 0.01  # how often the run's phase is read and passed on


class WorkloadProcesses:
    """`Workload`'s surface (`run`, `stop`) over `processes` generator processes."""

    def __init__(
        self,
        base_url: str,
        docs: list[dict[str, Any]],
        *,
        processes: int,
        on_record: Callable[[Record], None],
        phase: Callable[[], str],
        timeout_s: float = 5.0,
        connect_timeout_s: float = 3.0,
        on_write: WriteObserver | None = None,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.docs = docs  # the experiment file's requests, as the workers read them
        self.specs = [RequestSpec.from_doc(d) for d in docs]
        self.processes = processes
        self.on_record = on_record
        self.phase = phase
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.on_write = on_write
        self.seed = seed
        self.pids: list[int] = []
        self.started = asyncio.Event()  # set when the schedules start: every process is ready
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Start the processes, run them until `stop()`, collect every record, reap them."""
        procs: list[asyncio.subprocess.Process] = []
        try:
            for slot in range(self.processes):
                procs.append(await self._spawn(slot))
            self.pids = [p.pid for p in procs]
            await asyncio.wait_for(asyncio.gather(*(self._ready(p) for p in procs)), READY_TIMEOUT_S)
            readers = [asyncio.create_task(self._read(p)) for p in procs]
            start = {"start": time.monotonic() + START_MARGIN_S, "phase": self.phase()}
            self._tell(procs, start)
            self.started.set()
            await self._follow_phase(procs)
            self._tell(procs, {"stop": True})
            await asyncio.gather(*readers)
            for proc in procs:
                if await proc.wait() != 0:
                    raise ChaoslabError(f"workload process {proc.pid} exited with {proc.returncode}")
        except TimeoutError:
            raise ChaoslabError(f"the workload's processes did not start within {READY_TIMEOUT_S:g} s") from None
        finally:
            await kill_and_reap(procs)

    async def _spawn(self, slot: int) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chaoslab.experiment.worker",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        settings = {
            "base_url": self.base_url,
            "requests": self.docs,
            "timeout_s": self.timeout_s,
            "connect_timeout_s": self.connect_timeout_s,
            "seed": None if self.seed is None else self.seed + slot,
            "slot": slot,
            "of": self.processes,
        }
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(settings).encode() + b"\n")
        return proc

    async def _ready(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line or not json.loads(line).get("ready"):
            raise ChaoslabError(f"workload process {proc.pid} ended before it was ready")

    def _tell(self, procs: list[asyncio.subprocess.Process], message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        for proc in procs:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.write(data)

    async def _follow_phase(self, procs: list[asyncio.subprocess.Process]) -> None:
        """Pass each change of the run's phase on, until `stop()`."""
        phase = self.phase()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), PHASE_POLL_S)
            if self.phase() != phase:
                phase = self.phase()
                self._tell(procs, {"phase": phase})

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            received = json.loads(line)
            for message in received.get("batch", [received]):
                if "r" in message:
                    self.on_record(message["r"])
                elif "w" in message and self.on_write is not None:
                    index, body, key, attempts = message["w"]
                    self.on_write(self.specs[index], body, key, [tuple(a) for a in attempts])


async def kill_and_reap(procs: list[asyncio.subprocess.Process]) -> None:
    """Kill each helper that still runs and wait for every one: a run leaves none behind."""
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
