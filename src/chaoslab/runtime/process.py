"""`UnitProcess`: one compute unit's process group, as the lab sees it.

A unit is the leader of its own session, so signals reach every worker it forks (gunicorn's
workers included) and nothing the unit does can signal the lab. Output is read continuously so
a chatty unit never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal as _signal
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Self

import psutil

from chaoslab.runtime import startgate
from chaoslab.store import Store

log = logging.getLogger(__name__)

OutputCallback = Callable[[str, str], None]
ExitCallback = Callable[["UnitProcess"], None]

_CHUNK = 65536
_MAX_LINE = 65536  # longer lines are passed on in pieces rather than buffered without bound
_DRAIN_GRACE = 0.5  # seconds to let the last output lines arrive before exit callbacks run


class CpuMeter:
    """CPU seconds read now and then, as percent of one core between two readings."""

    def __init__(self, seconds: float = 0.0) -> None:
        self._mark = (time.monotonic(), seconds)

    def percent(self, seconds: float) -> float:
        now = time.monotonic()
        (last_t, last_seconds), self._mark = self._mark, (now, seconds)
        return max(0.0, (seconds - last_seconds) / (now - last_t) * 100.0) if now > last_t else 0.0


def tree_cpu_seconds(tree: Sequence[psutil.Process]) -> float:
    """User and system CPU of the processes, and of the children they reaped (which have left
    the tree: no double count)."""
    total = 0.0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def tree_memory_bytes(tree: Sequence[psutil.Process]) -> int:
    """Resident memory of the processes."""
    total = 0
    for p in tree:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class ProcessGroup:
    """A process group the lab owns, led by `pid`: signalled as a whole, measured as a tree, its
    end marked by `_mark_exited` (with the code `_exit_code` gives). `UnitProcess` is one the lab
    started; `forkserver.ForkedProcess` one its fork server forked."""

    kind = "process"
    oom_killed = False  # a process unit's memory is not limited here
    _exit_callbacks: list[Callable[[Self], None]]

    def __init__(self, name: str, pid: int) -> None:
        self.name = name
        self.pid = pid
        self._exit_callbacks = []
        self._exited = asyncio.Event()
        self._cpu = CpuMeter()

    def _exit_code(self) -> int | None:
        raise NotImplementedError

    # lifecycle -------------------------------------------------------------------------------
    @property
    def returncode(self) -> int | None:
        """Exit code once the leader has exited; negative for a signal, as in `subprocess`."""
        return self._exit_code() if self._exited.is_set() else None

    @property
    def running(self) -> bool:
        return not self._exited.is_set()

    def on_exit(self, callback: Callable[[Self], None]) -> None:
        """Call `callback(self)` as soon as the leader has exited (at once if it already has)."""
        if self._exited.is_set():
            asyncio.get_running_loop().call_soon(self._safe_call, callback)
        else:
            self._exit_callbacks.append(callback)

    async def wait(self) -> int:
        await self._exited.wait()
        code = self._exit_code()
        assert code is not None  # known once the exit is marked
        return code

    def signal(self, sig: int) -> None:
        """Send `sig` to the whole process group. Once it has exited this does nothing, so a
        late signal can never reach a group that reused the pid."""
        if self.running:
            self._killpg(sig)

    def _killpg(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM the group (waking it if paused), SIGKILL it after `timeout`; returns the exit
        code. Workers still alive after the leader exits are killed too: a unit dies whole."""
        if not self.running:
            return await self.wait()
        self._killpg(_signal.SIGTERM)
        self._killpg(_signal.SIGCONT)
        try:
            await asyncio.wait_for(asyncio.shield(self._exited.wait()), timeout)
        except TimeoutError:
            self._killpg(_signal.SIGKILL)
        code = await self.wait()
        self._killpg(_signal.SIGKILL)  # stragglers; the group id stays ours while it has members
        return code

    async def kill(self) -> int:
        """SIGKILL the group at once (a container runtime's hard stop)."""
        if self.running:
            self._killpg(_signal.SIGKILL)
        return await self.wait()

    def pause(self) -> None:
        self.signal(_signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(_signal.SIGCONT)

    # measurement -----------------------------------------------------------------------------
    def tree(self) -> list[psutil.Process]:
        """The leader and all its descendants that are alive now (empty once the leader is gone)."""
        if not self.running:
            return []
        try:
            leader = psutil.Process(self.pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_percent(self) -> float:
        """CPU used by the whole tree since the previous call (or the start), in percent of one
        core, as `psutil` and CloudWatch's ECS CPUUtilization count it."""
        return self._cpu.percent(tree_cpu_seconds(self.tree()))

    def memory_bytes(self) -> int:
        """Resident memory of the whole tree."""
        return tree_memory_bytes(self.tree())

    # internals -------------------------------------------------------------------------------
    def _mark_exited(self: Self) -> None:
        self._exited.set()
        for callback in self._exit_callbacks:
            self._safe_call(callback)
        self._exit_callbacks.clear()

    def _safe_call(self, callback: Callable[[Self], None]) -> None:
        try:
            callback(self)
        except Exception:
            log.exception("on_exit callback of %s failed", self.name)


async def pid_gone(pid: int) -> None:
    """Return once `pid` itself has exited, whoever reaps it and whoever still holds its pipes
    (a pidfd becomes readable at exit; without one, the process table is polled)."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already exited and reaped
    except (AttributeError, OSError):  # no pidfd (not Linux, or a kernel before 5.3): poll
        while True:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
            await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        await gone
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


class UnitProcess(ProcessGroup):
    """A running (or finished) unit process group. Create with `UnitProcess.start`."""

    def __init__(
        self, name: str, proc: asyncio.subprocess.Process, store: Store, on_output: OutputCallback | None
    ) -> None:
        super().__init__(name, proc.pid)
        self._proc = proc
        self._store = store
        self._on_output = on_output
        try:
            self.create_time: float | None = psutil.Process(self.pid).create_time()
        except psutil.Error:
            self.create_time = None
        self._readers = [
            asyncio.ensure_future(self._pump("stdout", proc.stdout)),
            asyncio.ensure_future(self._pump("stderr", proc.stderr)),
        ]
        self._watcher = asyncio.ensure_future(self._watch())

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        store: Store,
        lab_run: str,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        on_exit: ExitCallback | None = None,
        stdin: int | None = None,
        tty: bool = False,
    ) -> UnitProcess:
        """Start `argv` as a new session and record its pid in the store before it runs (`startgate`).
        `stdin` is a file descriptor it reads (None: nothing; an interactive exec, which has
        one, is not gated). With `tty`, `stdin` is a PTY's
        terminal side, which becomes its stdout, stderr and controlling terminal too (`setsid
        --ctty` makes the session: the child is not a group leader, so it execs in place and the
        pid stays the program's); its output is then read from the PTY, not here."""
        if tty and stdin is None:
            raise ValueError("a terminal needs its PTY's terminal side as stdin")
        out = stdin if tty else asyncio.subprocess.PIPE
        gated = stdin is None
        proc = await asyncio.create_subprocess_exec(
            *(startgate.gated(argv) if gated else ["setsid", "--ctty", *argv] if tty else argv),
            stdin=asyncio.subprocess.PIPE if gated else stdin,
            stdout=out,
            stderr=out,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=not tty,
        )
        unit = cls(name, proc, store, on_output)
        if unit.create_time is not None:
            store.own_process(unit.pid, unit.create_time, name, lab_run)
        startgate.open_gate(proc, recorded=unit.create_time is not None)
        if on_exit is not None:
            unit.on_exit(on_exit)
        return unit

    def _exit_code(self) -> int | None:
        return self._proc.returncode

    # internals -------------------------------------------------------------------------------
    async def _pump(self, stream: str, reader: asyncio.StreamReader | None) -> None:
        if reader is None:
            return
        pending = b""
        while True:
            chunk = await reader.read(_CHUNK)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._emit(stream, line)
            while len(pending) >= _MAX_LINE:
                self._emit(stream, pending[:_MAX_LINE])
                pending = pending[_MAX_LINE:]
        if pending:
            self._emit(stream, pending)

    def _emit(self, stream: str, line: bytes) -> None:
        if self._on_output is None:
            return
        try:
            self._on_output(stream, line.rstrip(b"\r").decode(errors="replace"))
        except Exception:  # a broken log shipper must not kill the unit's output pump
            log.exception("on_output callback of %s failed", self.name)

    async def _watch(self) -> None:
        await pid_gone(self.pid)
        # A unit dies whole, as a container does when its main process ends. Workers the leader
        # left behind would otherwise keep serving and hold the output pipes open, and
        # `Process.wait()` only returns once those pipes close: the death would go unnoticed.
        self._killpg(_signal.SIGKILL)
        await self._proc.wait()
        # Give the pumps a moment so the unit's last words are shipped before owners react;
        # grandchildren may hold the pipes open, so do not wait for them to close.
        await asyncio.wait(self._readers, timeout=_DRAIN_GRACE)
        self._store.disown_process(self.pid)
        self._mark_exited()
