"""The runtime seam: `UnitRuntime.start(sandbox, name, spec) -> UnitHandle`.

Backends say *what* runs (a `ProcessSpec`: an image or a command, its environment, the port it
serves); a runtime decides *how* (the command line, the namespace it enters, where the port
really is). One small interface with a real implementation and an in-memory one keeps the
services' rules testable without processes and leaves room for other kinds (containers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chaoslab.errors import ChaoslabError

if TYPE_CHECKING:
    import psutil

    from chaoslab.runtime.sandbox import Sandbox

OutputCallback = Callable[[str, str], None]  # (stream, line)
HandleExitCallback = Callable[["UnitHandle"], None]


class ImageUnavailable(ChaoslabError):
    """A spec names an image that is neither local to an engine nor a bundled app, and gives no
    command to run instead (ECS: CannotPullContainerError). The message says how to get it."""


@dataclass(frozen=True)
class InImage:
    """How a program runs inside its image: the limits an engine enforces and the working
    directory inside the image (None: the image's own)."""

    cpus: float | None = None  # a hard cap in CPUs (a task's `cpu` / 1024)
    cpu_shares: int | None = None  # a relative weight (a container's `cpu`)
    memory_mib: int | None = None  # a hard limit: beyond it the kernel OOM-kills
    workdir: str | None = None


@dataclass(frozen=True)
class ProcessSpec:
    """One program to run in a unit, in the terms of whoever asked for it (a container
    definition, a launch template, a fault's helper)."""

    image: str | None = None  # a bundled app by image name; the runtime knows its command line
    # Set for a container of a task definition: run in its image where an engine has it locally.
    in_image: InImage | None = None
    # Overrides the image's command (ECS entryPoint + command, a helper's argv). A single string
    # with spaces is split as a shell would, so `"command": ["python -m app"]` works.
    command: list[str] = field(default_factory=list)
    env: Mapping[str, str] | None = None  # the complete environment; None inherits the lab's
    # The port the program is told to serve, as AWS sees it. The runtime adds HOST and PORT to
    # the environment: where the program must bind in this unit (env entries given win).
    port: int | None = None
    cwd: str | None = None
    # Who it runs as (ECS `user`: name, uid, name:group or uid:gid); None = the lab's own user.
    user: str | None = None
    # The cgroup.procs files the program joins before it starts (its unit's resource limits,
    # `runtime.cgroups`); empty where the host gives the lab no cgroups.
    cgroup: tuple[str, ...] = ()
    # A file descriptor the program reads as stdin (None: nothing), for an interactive exec; with
    # `tty` it is a PTY's terminal side, also its stdout, stderr and controlling terminal.
    stdin: int | None = None
    tty: bool = False
    # False for a helper that needs no network identity (a stress worker): it starts outside the
    # unit's network namespace, which saves `ip netns exec` and two bind mounts (~7 ms) a start.
    network: bool = True


class UnitHandle(Protocol):
    """A running (or finished) program of a unit, the whole process tree it forks included."""

    @property
    def name(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def create_time(self) -> float | None:
        """When its host process started (with `pid`, what names it in an undo record), if known."""

    @property
    def kind(self) -> str:
        """What runs it: "process", "container" (`chaoslab status` shows it)."""

    @property
    def oom_killed(self) -> bool:
        """Whether the kernel killed it for its memory limit (known once it has exited)."""

    @property
    def running(self) -> bool: ...

    @property
    def returncode(self) -> int | None:
        """Exit code once it has exited; negative for a signal, as in `subprocess`."""

    def on_exit(self, callback: HandleExitCallback) -> None:
        """Call `callback(handle)` once it has exited (soon, if it already has)."""

    async def wait(self) -> int: ...

    def signal(self, sig: int) -> None:
        """Send `sig` to every process of it; nothing once it has exited."""

    async def terminate(self, timeout: float = 10.0) -> int:
        """Stop it: SIGTERM, SIGKILL after `timeout`; returns the exit code."""

    async def kill(self) -> int:
        """Stop it at once (SIGKILL)."""

    def cpu_percent(self) -> float:
        """CPU used since the previous call, in percent of one core."""

    def memory_bytes(self) -> int:
        """Resident memory of all its processes."""

    def tree(self) -> list[psutil.Process]:
        """Its live host processes (kill-process faults pick from these)."""


class UnitRuntime(Protocol):
    """Runs a unit's programs inside the unit's network identity (its `Sandbox`)."""

    async def start(
        self,
        sandbox: Sandbox,
        name: str,
        spec: ProcessSpec,
        *,
        on_output: OutputCallback | None = None,
        on_exit: HandleExitCallback | None = None,
    ) -> UnitHandle:
        """Start one of the unit's own programs (a container, an instance's app)."""

    async def exec(self, sandbox: Sandbox, name: str, spec: ProcessSpec) -> UnitHandle:
        """Start a helper inside the unit (a stress worker, a fault proxy), as `docker exec`
        would: it shares the unit's network, counts in its stats and dies with it."""

    async def run(
        self, sandbox: Sandbox, argv: list[str], timeout: float, program: str | None = None
    ) -> tuple[int, str]:
        """Run a short command inside the unit (a container health check); (exit code, output).
        `program` names the one of its programs to run it in (a container runs it in its image)."""

    async def kind_for(self, sandbox: Sandbox, spec: ProcessSpec) -> str:
        """What `start` would run `spec` as in `sandbox` ("process", "container");
        ImageUnavailable if nothing."""

    async def serving(self, sandbox: Sandbox, port: int) -> bool:
        """Whether the unit accepts connections on `port` (AWS's view of the port) right now."""
