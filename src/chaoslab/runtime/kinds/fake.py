"""`FakeRuntime`: units that only pretend to run, for unit tests of the services' rules (a service
replaces a task whose container exits; a stopped instance's app is stopped) without processes,
namespaces or sockets. A handle "runs" until it is signalled, stopped or told to `exit(code)`."""

from __future__ import annotations

import asyncio
import itertools
import signal as _signal

import psutil

from chaoslab.apps.registry import is_bundled
from chaoslab.runtime.kinds.base import HandleExitCallback, ImageUnavailable, OutputCallback, ProcessSpec
from chaoslab.runtime.sandbox import Sandbox

# Fake pids start above Linux's largest pid_max (2**22), so none can name a real process.
_PIDS = itertools.count(2**22 + 1)


class FakeHandle:
    """One pretend program. `cpu` and `rss` are what its stats report; `signals` what it got;
    `oom_killed` what its exit reports."""

    kind = "fake"

    def __init__(
        self, name: str, spec: ProcessSpec, on_output: OutputCallback | None, on_exit: HandleExitCallback | None
    ) -> None:
        self.name = name
        self.pid = next(_PIDS)
        self.create_time: float | None = None
        self.spec = spec
        self.cpu = 0.0
        self.rss = 0
        self.paused = False
        self.oom_killed = False
        self.signals: list[int] = []
        self._on_output = on_output
        self._callbacks: list[HandleExitCallback] = [on_exit] if on_exit is not None else []
        self._code: int | None = None
        self._exited = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._code is None

    @property
    def returncode(self) -> int | None:
        return self._code

    def say(self, line: str, stream: str = "stdout") -> None:
        """Write a line of output, as the program would."""
        if self._on_output is not None:
            self._on_output(stream, line)

    def exit(self, code: int) -> None:
        """End on its own with `code` (a crash, a clean exit); exit callbacks run now."""
        if not self.running:
            return
        self._code = code
        self._exited.set()
        for callback in self._callbacks:
            callback(self)
        self._callbacks.clear()

    def on_exit(self, callback: HandleExitCallback) -> None:
        if self.running:
            self._callbacks.append(callback)
        else:
            asyncio.get_running_loop().call_soon(callback, self)

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._code is not None
        return self._code

    def signal(self, sig: int) -> None:
        """SIGSTOP/SIGCONT pause and resume it; any other signal ends it, as by default."""
        if not self.running:
            return
        self.signals.append(sig)
        if sig in (_signal.SIGSTOP, _signal.SIGCONT):
            self.paused = sig == _signal.SIGSTOP
        else:
            self.exit(-sig)

    async def terminate(self, timeout: float = 10.0) -> int:
        self.signal(_signal.SIGTERM)
        return await self.wait()

    async def kill(self) -> int:
        self.signal(_signal.SIGKILL)
        return await self.wait()

    def cpu_percent(self) -> float:
        return self.cpu if self.running else 0.0

    def memory_bytes(self) -> int:
        return self.rss if self.running else 0

    def tree(self) -> list[psutil.Process]:
        return []  # no host process behind it


class FakeRuntime:
    """Records every program started and every command run. `run_result` is what commands
    (health checks) answer; `serves` whether units accept connections."""

    def __init__(self) -> None:
        self.handles: list[FakeHandle] = []
        self.commands: list[list[str]] = []
        self.run_result: tuple[int, str] = (0, "")
        self.serves = True
        self.images: set[str] = set()

    async def start(
        self,
        sandbox: Sandbox,
        name: str,
        spec: ProcessSpec,
        *,
        on_output: OutputCallback | None = None,
        on_exit: HandleExitCallback | None = None,
    ) -> FakeHandle:
        handle = FakeHandle(name, spec, on_output, on_exit)
        self.handles.append(handle)
        return handle

    async def exec(self, sandbox: Sandbox, name: str, spec: ProcessSpec) -> FakeHandle:
        return await self.start(sandbox, name, spec)

    async def run(
        self, sandbox: Sandbox, argv: list[str], timeout: float, program: str | None = None
    ) -> tuple[int, str]:
        self.commands.append(list(argv))
        return self.run_result

    async def kind_for(self, sandbox: Sandbox, spec: ProcessSpec) -> str:
        """As the lab's: a command, a bundled app or an image in `images` (present locally) runs."""
        if spec.command or is_bundled(spec.image or "") or spec.image in self.images:
            return "fake"
        raise ImageUnavailable(f"{spec.image}: image not found in local storage")

    async def serving(self, sandbox: Sandbox, port: int) -> bool:
        return self.serves

    def running(self, name: str) -> list[FakeHandle]:
        """The handles still running whose name (`<unit id>/<program>`) ends with `name`."""
        return [h for h in self.handles if h.running and h.name.endswith(name)]
