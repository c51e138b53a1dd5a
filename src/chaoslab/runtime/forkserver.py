"""Helpers forked from a warm Python process instead of each starting an interpreter.

A fault on every task of a service starts a stress worker in each, and each start of Python
is ~20 ms of CPU: 64 of them are most of a second on two cores, and that second is the fault's
onset. A fork of a Python that has already imported the helper's module costs about a
millisecond. The fork server (`forkserver_main.py`) is that Python, one per event loop, started
on first use and ended with the lab (`close_all`) or with the thread that started it.

A forked helper is a unit's program like any other: it leads its own session, joins its unit's
cgroups before it runs, and is recorded in the store before its gate opens (`startgate`'s rule),
so crash recovery finds it. `ForkedProcess` is its `UnitHandle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal as _signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.process import ProcessGroup, pid_gone
from chaoslab.store import Store

CHAOSLAB_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the chaoslab package
EXIT_CODE_WAIT_S = 1.0  # after the exit itself is seen, how long its code may take to arrive
START_TIMEOUT_S = 15.0
TITLE_ROOM = 1024  # blanks on the server's command line, rewritten as each child's (`forkserver_main._title`)

# How the lab starts a Python of its own (the fork server; a helper it cannot fork): `-S` skips
# site-packages and `-c` runpy, which `-m` imports: ~19 ms a start against ~42 ms as `python -m`.
PYTHON_S = (sys.executable, "-S", "-c")


def python_s_env() -> dict[str, str]:
    """A small, explicit environment: `python -S` reads no site-packages, so chaoslab's own
    directory goes on PYTHONPATH (with whatever the lab's had)."""
    paths = [CHAOSLAB_ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
    }


class ForkServer:
    """The warm Python of one event loop. `spawn` forks a helper from it."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._next_id = 0
        self._forks: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}  # by pid: the code the server reports
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, preload: Sequence[str]) -> ForkServer:
        proc = await asyncio.create_subprocess_exec(
            *PYTHON_S,
            "from chaoslab.runtime.forkserver_main import main; main()",
            str(os.getpid()),
            " " * TITLE_ROOM,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=python_s_env(),
            cwd="/",
            start_new_session=True,
        )
        server = cls(proc)
        server._tell({"preload": list(preload)})
        return server

    @property
    def alive(self) -> bool:
        return self._proc.returncode is None and not self._reader.done()

    async def spawn(
        self,
        name: str,
        module: str,
        argv: Sequence[str],
        *,
        cgroups: Sequence[str],
        cwd: str,
        store: Store,
        lab_run: str,
    ) -> ForkedProcess:
        """Fork `module.main(argv)` as a helper named `name`, in `cgroups` and `cwd`; it runs
        once its pid is recorded in `store`."""
        self._next_id += 1
        ask = self._next_id
        forked: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._forks[ask] = forked
        self._tell({"fork": ask, "module": module, "argv": list(argv), "cgroups": list(cgroups), "cwd": cwd})
        try:
            pid = await asyncio.wait_for(forked, START_TIMEOUT_S)
        except TimeoutError:
            raise ChaoslabError(f"the fork server did not fork {name} within {START_TIMEOUT_S:.0f} s") from None
        finally:
            self._forks.pop(ask, None)
        child = ForkedProcess(name, pid, self, store)
        if child.create_time is None:  # it ended already (a cgroup it could not join)
            self._tell({"close": pid})
        else:
            store.own_process(pid, child.create_time, name, lab_run)
            self._tell({"open": pid})
        child.watch()
        return child

    def exit_of(self, pid: int) -> asyncio.Future[int]:
        """The exit code of child `pid`, once the server reports it (kept until `forget`)."""
        return self._exits.setdefault(pid, asyncio.get_running_loop().create_future())

    def forget(self, pid: int) -> None:
        self._exits.pop(pid, None)

    async def close(self) -> None:
        """End the server (its helpers live on until their owners stop them)."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        self._reader.cancel()

    def _tell(self, message: dict[str, Any]) -> None:
        if self._proc.stdin is None or self._proc.stdin.is_closing():
            raise ChaoslabError("the fork server has ended")
        self._proc.stdin.write(json.dumps(message).encode() + b"\n")

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            message = json.loads(line)
            if "pid" in message:
                forked = self._forks.get(message["id"])
                if forked is not None and not forked.done():
                    forked.set_result(message["pid"])
            elif "exit" in message:
                code = self.exit_of(message["exit"])
                if not code.done():
                    code.set_result(message["code"])
        for forked in self._forks.values():
            if not forked.done():
                forked.set_exception(ChaoslabError("the fork server ended"))


class ForkedProcess(ProcessGroup):
    """A helper forked by the fork server: a process group the lab signals and measures like a
    `UnitProcess`. It is not the lab's child, so its exit is seen on a pidfd and its exit code
    comes from the server."""

    def __init__(self, name: str, pid: int, server: ForkServer, store: Store) -> None:
        super().__init__(name, pid)
        self._server = server
        self._store = store
        self._code: int | None = None
        try:
            process = psutil.Process(pid)
            alive = process.status() != psutil.STATUS_ZOMBIE
            self.create_time: float | None = process.create_time() if alive else None
        except psutil.Error:
            self.create_time = None

    def watch(self) -> None:
        asyncio.ensure_future(self._watch())

    def _exit_code(self) -> int | None:
        return self._code

    async def _watch(self) -> None:
        await pid_gone(self.pid)
        self._killpg(_signal.SIGKILL)  # a helper dies whole, as a unit's program does
        try:
            self._code = await asyncio.wait_for(asyncio.shield(self._server.exit_of(self.pid)), EXIT_CODE_WAIT_S)
        except TimeoutError:
            self._code = -_signal.SIGKILL  # the server went first: unknown
        self._server.forget(self.pid)
        if self.create_time is not None:
            self._store.disown_process(self.pid)
        self._mark_exited()


_servers: dict[asyncio.AbstractEventLoop, ForkServer] = {}


async def fork_server(preload: Sequence[str] = ()) -> ForkServer:
    """This event loop's fork server, started (with `preload` imported) on first use."""
    loop = asyncio.get_running_loop()
    server = _servers.get(loop)
    if server is None or not server.alive:
        server = _servers[loop] = await ForkServer.start(preload)
    return server


async def close_all() -> None:
    """End this event loop's fork server, if it has one (the lab's stop)."""
    server = _servers.pop(asyncio.get_running_loop(), None)
    if server is not None:
        await server.close()
