"""The workload on Locust (`workload.locust`): the user's locustfile, headless, for loads one
machine's generator cannot make (runs against AWS endpoints), with every request in the journal.

With `workers: 0` and no `expect_workers` one Locust process runs the users. Otherwise chaoslab
starts a master (bound to `master_bind`, default a free loopback port) and `workers` local worker
processes; the master waits for `expect_workers` workers in all (default `workers`), so workers on
other machines join with `locust -f theirs.py,<locust_plugin.py> --worker --master-host …`.
`locust_plugin.py`, loaded beside the locustfile, sends each request's record to the process
chaoslab started, which writes them to a pipe this side reads: records have the workload's shape,
and each gets the run's phase at the moment it was sent. A stop is SIGTERM to that process: Locust
stops its users, its workers hand in what they still hold, and it exits.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.processes import kill_and_reap
from chaoslab.experiment.workload import Record

# Locust loads it by path; importing it here would import Locust, which patches the socket module.
PLUGIN = Path(__file__).with_name("locust_plugin.py")

STOP_GRACE_S = 15.0  # Locust's own stop (users ended, workers' last batches) before it is killed
PHASE_POLL_S = 0.01
LOG_TAIL = 20  # lines of Locust's output kept to explain a failed start


class LocustWorkload:
    """`Workload`'s surface (`run`, `stop`, `started`) over a Locust run."""

    def __init__(
        self,
        base_url: str,
        settings: dict[str, Any],
        *,
        on_record: Callable[[Record], None],
        phase: Callable[[], str],
        **_: Any,
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.on_record = on_record
        self.phase = phase
        self.started = asyncio.Event()  # the first record has arrived: users are sending
        self.pids: list[int] = []
        self._stop = asyncio.Event()
        self._phase_times: list[float] = []  # wall time each phase began, for records sent then
        self._phases: list[str] = []
        self._output: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)  # Locust's last lines

    def stop(self) -> None:
        self._stop.set()

    def _note_phase(self) -> None:
        phase = self.phase()
        if not self._phases or self._phases[-1] != phase:
            self._phase_times.append(time.time())
            self._phases.append(phase)

    def phase_at(self, when: float) -> str:
        """The run's phase at wall time `when` (the first one for a record older than all)."""
        return self._phases[max(0, bisect.bisect_right(self._phase_times, when) - 1)]

    async def run(self) -> None:
        """Start Locust, pass its records on until `stop()`, then stop it and reap every process."""
        self._note_phase()
        read_fd, write_fd = os.pipe()
        records = os.fdopen(read_fd, "rb", buffering=0)  # closed once, by whoever gets there first
        procs: list[asyncio.subprocess.Process] = []
        try:
            distributed = self.settings.get("workers", 0) > 0 or "expect_workers" in self.settings
            host, port = _master_address(self.settings.get("master_bind"))
            main = await self._spawn(self._main_args(distributed, host, port), write_fd)
            procs.append(main)
            os.close(write_fd)
            write_fd = -1
            connect_to = "127.0.0.1" if host in ("0.0.0.0", "") else host
            for _ in range(self.settings.get("workers", 0)):
                procs.append(await self._spawn(["--worker", "--master-host", connect_to, "--master-port", str(port)]))
            reading = asyncio.create_task(self._read(records))
            logs = [asyncio.create_task(self._keep_output(p)) for p in procs]
            ended = asyncio.create_task(main.wait())
            while not self._stop.is_set() and not ended.done():
                self._note_phase()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), PHASE_POLL_S)
            if not ended.done():
                main.send_signal(signal.SIGTERM)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(ended), STOP_GRACE_S)
            await reading  # the pipe ends when the main process does
            await asyncio.gather(*logs, return_exceptions=True)
            tail = "\n".join(self._output)
            if main.returncode not in (0, 1, -signal.SIGTERM):  # 1: Locust saw failed requests
                raise ChaoslabError(f"Locust exited with {main.returncode}:\n{tail}")
            if not self.started.is_set():
                raise ChaoslabError(f"Locust made no request:\n{tail}", hint="run the locustfile with locust alone")
        finally:
            await kill_and_reap(procs)
            records.close()
            if write_fd >= 0:
                os.close(write_fd)

    def _main_args(self, distributed: bool, host: str, port: int) -> list[str]:
        users = int(self.settings["users"])
        args = [
            "--headless",
            "--host",
            self.base_url,
            "--users",
            str(users),
            "--spawn-rate",
            str(self.settings.get("spawn_rate", users)),
            "--only-summary",
        ]
        if distributed:
            expect = self.settings.get("expect_workers", self.settings.get("workers", 0))
            args += ["--master", "--master-bind-host", host, "--master-bind-port", str(port)]
            args += ["--expect-workers", str(expect)]
        return args

    async def _spawn(self, args: list[str], records_fd: int | None = None) -> asyncio.subprocess.Process:
        locustfile = Path(self.settings["locustfile"])
        env = {**os.environ, "CHAOSLAB_PARENT_PID": str(os.getpid())}
        if records_fd is not None:
            env["CHAOSLAB_LOCUST_FD"] = str(records_fd)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "locust",
            "-f",
            f"{locustfile},{PLUGIN}",
            "--loglevel",
            "WARNING",
            *args,
            cwd=str(locustfile.parent),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            pass_fds=() if records_fd is None else (records_fd,),
        )
        self.pids.append(proc.pid)
        return proc

    async def _keep_output(self, proc: asyncio.subprocess.Process) -> None:
        """Locust's own output, the last lines kept to explain a failure."""
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            self._output.append(line.decode(errors="replace").rstrip())

    async def _read(self, pipe: Any) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while line := await reader.readline():
                for record in json.loads(line)["batch"]:
                    record["phase"] = self.phase_at(record["sent"])
                    self.on_record(record)
                self.started.set()
        finally:
            transport.close()


def _master_address(bind: str | None) -> tuple[str, int]:
    """`host:port` from `master_bind`, or a free port on loopback (workers of this machine only)."""
    if bind:
        host, _, port = bind.rpartition(":")
        return host, int(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return "127.0.0.1", s.getsockname()[1]
