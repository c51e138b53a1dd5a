"""`ComputeUnit`: what an ECS task and an EC2 instance have in common — one network identity
(a sandbox from the VPC's network) running one or more real processes whose output goes to a
log shipper. Services add AWS semantics on top; this module only runs and stops things, and
knows nothing of the lab: its runtime, its working directory and where log lines go are passed
in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from chaoslab.runtime.cgroups import Cgroups, Limits, UnitCgroup
from chaoslab.runtime.forkserver import PYTHON_S, python_s_env
from chaoslab.runtime.kinds.base import OutputCallback, ProcessSpec, UnitHandle, UnitRuntime
from chaoslab.runtime.linklocal import Handler
from chaoslab.runtime.network import VpcNetwork
from chaoslab.runtime.process import CpuMeter
from chaoslab.runtime.sandbox import Sandbox

log = logging.getLogger(__name__)


@dataclass
class ContainerSpec:
    """One program of a unit (an ECS container, or an instance's app): what runs, and how the
    unit treats it."""

    name: str
    run: ProcessSpec
    essential: bool = True
    stop_timeout: float = 30.0
    log_group: str | None = None
    log_stream: str | None = None
    on_output: Callable[[str, str], None] | None = None  # (stream, line): e.g. an instance's console
    limits: Limits | None = None  # its own, within the unit's (an ECS container's cpu and memory)


# Where a unit's output lines go: ship(log_group, log_stream, line, epoch seconds).
LogShipper = Callable[[str, str, str, float], None]
# The cgroup leaf of fault helpers: within the unit's limits, not any program's. No container
# can be named so (ECS names have no dots).
HELPERS = "chaoslab.helpers"
OUTPUT_TAIL_LINES = 20  # what an exit keeps of a process's output, to say why it died


@dataclass
class ExitInfo:
    name: str
    code: int
    essential: bool
    at: float = field(default_factory=time.time)
    output: list[str] = field(default_factory=list)  # its last lines (stdout and stderr)
    oom_killed: bool = False  # the kernel killed it for its (or its unit's) memory limit


class ComputeUnit:
    """A sandbox plus its processes. `on_exit(info)` is called for every process that ends on its
    own (not when we stop it), so owners can apply their service's rules."""

    def __init__(
        self,
        network: VpcNetwork,
        az: str,
        unit_id: str,
        *,
        runtime: UnitRuntime,
        workdir: Path,
        ship_log: LogShipper | None = None,
        on_exit: Callable[[ExitInfo], None] | None = None,
        cgroups: Cgroups | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.network = network
        self.az = az
        self.unit_id = unit_id
        self.runtime = runtime
        self.sandbox: Sandbox | None = None
        self.processes: dict[str, UnitHandle] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self.exits: list[ExitInfo] = []
        self.extras: dict[str, UnitHandle] = {}  # fault helpers (stress workers, proxies) living in the unit
        self._on_exit = on_exit
        self._tails: dict[str, deque[str]] = {}
        self._stopping = False
        self._ship_log = ship_log
        self.workdir = workdir
        self._execs = 0  # commands run by `exec_command`, to name their helpers
        self._cgroups = cgroups
        self.limits = limits or Limits()  # the unit's: a task's cpu/memory, an instance type's
        self.cgroup: UnitCgroup | None = None  # made at provision where the host allows
        self._cpu = CpuMeter()

    @property
    def ip(self) -> str | None:
        return self.sandbox.ip if self.sandbox else None

    async def provision(self, hosts: dict[str, str] | None = None) -> str:
        """Get the unit its address (the ENI attach step); returns the private IP."""
        self.sandbox = await self.network.allocate(self.az, hosts=hosts)
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o777)  # apps may run as another user; the unit owns its scratch space
        if self._cgroups is not None and self.cgroup is None:
            self.cgroup = self._cgroups.unit(self.unit_id, self.limits)
            self._cpu = CpuMeter(self.cgroup.cpu_seconds())
        return self.sandbox.ip

    async def start(self, specs: list[ContainerSpec]) -> None:
        assert self.sandbox is not None, "provision() first"
        self._stopping = False
        for spec in specs:
            self.specs[spec.name] = spec
            proc = await self.runtime.start(
                self.sandbox,
                f"{self.unit_id}/{spec.name}",
                replace(spec.run, cwd=spec.run.cwd or str(self.workdir), cgroup=self._leaf(spec.name, spec.limits)),
                on_output=self._recorder(spec),
                on_exit=self._exited(spec),
            )
            self.processes[spec.name] = proc

    async def spawn_extra(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, *, network: bool = True
    ) -> UnitHandle:
        """Run a helper process inside the unit (a stress worker, a fault proxy): it counts in
        its CPU/memory metrics and dies with it, and shares its network identity unless
        `network` is False (a helper that needs none starts faster)."""
        assert self.sandbox is not None, "provision() first"
        spec = ProcessSpec(
            command=list(argv), env=env, cwd=str(self.workdir), cgroup=self._leaf(HELPERS), network=network
        )
        proc = await self.runtime.exec(self.sandbox, f"{self.unit_id}/{name}", spec)
        self._track_extra(name, proc)
        return proc

    async def fork_helper(self, name: str, module: str, argv: list[str]) -> UnitHandle:
        """A helper like `spawn_extra`'s with no network identity, forked from a warm Python
        (`runtime/forkserver.py`) where every program of the unit is a plain process; started
        as `python -S` with `module` otherwise (a container's helpers join its cgroups, which
        only its runtime knows)."""
        assert self.sandbox is not None, "provision() first"
        if not self.processes or any(kind != "process" for kind in self.kinds().values()):
            code = f"import sys; from {module} import main; sys.exit(main())"
            return await self.spawn_extra(name, [*PYTHON_S, code, *argv], python_s_env(), network=False)
        proc = await self.sandbox.fork(
            f"{self.unit_id}/{name}", module, argv, cwd=str(self.workdir), cgroup=self._leaf(HELPERS)
        )
        self._track_extra(name, proc)
        return proc

    async def exec_command(
        self,
        argv: list[str],
        container: str | None,
        on_output: OutputCallback | None = None,
        *,
        stdin: int | None = None,
        tty: bool = False,
    ) -> UnitHandle:
        """Run a command as `docker exec` would: in the unit's network identity, with one of its
        programs' environment, working directory and user (`container`; the first if None). It
        counts as a helper, so it dies with the unit. KeyError names an unknown program.
        `stdin` and `tty` are `docker exec -i` and `-t`: a descriptor it reads, a PTY's terminal
        side it runs on."""
        assert self.sandbox is not None, "provision() first"
        name = container or next(iter(self.specs), "")
        spec = self.specs[name].run
        cwd = spec.cwd or str(self.workdir)
        run = replace(spec, image=None, command=list(argv), cwd=cwd, cgroup=self._leaf(name), stdin=stdin, tty=tty)
        self._execs += 1
        helper = f"exec-{self._execs}"
        proc = await self.runtime.start(self.sandbox, f"{self.unit_id}/{helper}", run, on_output=on_output)
        self._track_extra(helper, proc)
        return proc

    def _leaf(self, name: str, limits: Limits | None = None) -> tuple[str, ...]:
        """The cgroup a program of this unit joins (none where the host gives no cgroups)."""
        return tuple(self.cgroup.leaf(name, limits)) if self.cgroup is not None else ()

    def _track_extra(self, name: str, proc: UnitHandle) -> None:
        self.extras[name] = proc

        def forget(ended: UnitHandle) -> None:
            if self.extras.get(name) is ended:
                del self.extras[name]

        proc.on_exit(forget)

    async def serve(self, address: str, port: int, handler: Handler) -> bool:
        """Answer this unit's requests to a link-local endpoint (the instance metadata service)
        with `handler`; False where units have no network namespace (loopback mode)."""
        assert self.sandbox is not None, "provision() first"
        return await self.network.serve(address, port, self.sandbox.ip, handler)

    async def stop_extra(self, name: str, timeout: float = 5.0) -> None:
        proc = self.extras.pop(name, None)
        if proc is not None:
            await proc.terminate(timeout=timeout)

    async def run(self, argv: list[str], timeout: float, container: str | None = None) -> tuple[int, str]:
        """A short command inside the unit (a health check; in `container`'s image if it runs
        in one); (exit code, output)."""
        assert self.sandbox is not None, "provision() first"
        program = f"{self.unit_id}/{container}" if container else None
        return await self.runtime.run(self.sandbox, argv, timeout, program)

    def kinds(self) -> dict[str, str]:
        """What runs each of its programs ("process", "container"), for `chaoslab status`."""
        return {name: proc.kind for name, proc in self.processes.items()}

    async def wait_serving(self, port: int, timeout: float) -> bool:
        """Wait until the unit accepts connections on `port` (its app has started); False if
        it stopped running or `timeout` seconds passed first."""
        assert self.sandbox is not None, "provision() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            if await self.runtime.serving(self.sandbox, port):
                return True
            await asyncio.sleep(0.05)
        return False

    def _recorder(self, spec: ContainerSpec) -> Callable[[str, str], None]:
        """Keep the last lines of the process's output and ship every line to its log stream."""
        tail = self._tails[spec.name] = deque(maxlen=OUTPUT_TAIL_LINES)
        ship = self._shipper(spec)
        also = spec.on_output

        def record(stream: str, line: str) -> None:
            tail.append(line.rstrip("\n"))
            ship(stream, line)
            if also is not None:
                also(stream, line)

        return record

    def _shipper(self, spec: ContainerSpec) -> Callable[[str, str], None]:
        ship_log = self._ship_log
        if ship_log is None or not spec.log_group or not spec.log_stream:
            return lambda stream, line: None
        group, stream_name = spec.log_group, spec.log_stream

        def ship(_stream: str, line: str) -> None:
            with contextlib.suppress(Exception):
                ship_log(group, stream_name, line.rstrip("\n"), time.time())

        return ship

    def _exited(self, spec: ContainerSpec) -> Callable[[UnitHandle], None]:
        def exited(proc: UnitHandle) -> None:
            if self.processes.get(spec.name) is proc:
                del self.processes[spec.name]
            info = ExitInfo(
                spec.name,
                proc.returncode if proc.returncode is not None else -1,
                spec.essential,
                output=list(self._tails.get(spec.name, ())),
                oom_killed=proc.oom_killed or (self.cgroup is not None and self.cgroup.oom_killed(spec.name)),
            )
            self.exits.append(info)
            if not self._stopping and self._on_exit:
                self._on_exit(info)

        return exited

    @property
    def running(self) -> bool:
        return any(p.running for p in self.processes.values())

    def signal(self, sig: int) -> None:
        """Send `sig` to every container process without stopping the unit: a warning the
        application may act on (a Fargate Spot interruption's SIGTERM), the stop comes later."""
        for proc in list(self.processes.values()):
            proc.signal(sig)

    async def stop(self) -> None:
        """SIGTERM every process, SIGKILL after its stop timeout (docker stop semantics)."""
        self._stopping = True
        procs = [(self.specs[n].stop_timeout, p) for n, p in list(self.processes.items())]
        procs += [(2.0, p) for p in list(self.extras.values())]
        await asyncio.gather(*(p.terminate(timeout=t) for t, p in procs), return_exceptions=True)

    async def kill(self) -> None:
        self._stopping = True
        everything = [*self.processes.values(), *self.extras.values()]
        await asyncio.gather(*(p.kill() for p in everything), return_exceptions=True)

    async def set_power(self, on: bool) -> None:
        """Unplug/replug the network: a powered-off machine's address stops answering at all."""
        if self.sandbox:
            await self.sandbox.set_link(on)

    async def destroy(self) -> None:
        await self.stop()
        if self.sandbox:
            self.network.unserve(self.sandbox.ip)
        if self.sandbox:
            await self.sandbox.destroy()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def cpu_percent(self) -> float:
        """CPU used since the previous call, in percent of one core: the unit's cgroup's, or
        the sum of its programs' where it has none."""
        if not self._cgroup_measures:
            return sum(p.cpu_percent() for p in [*self.processes.values(), *self.extras.values()])
        assert self.cgroup is not None
        return self._cpu.percent(self.cgroup.cpu_seconds())

    def memory_bytes(self) -> int:
        """Memory in use: the cgroup's (page cache left out) or its programs' resident sum."""
        if not self._cgroup_measures:
            return sum(p.memory_bytes() for p in [*self.processes.values(), *self.extras.values()])
        assert self.cgroup is not None
        return self.cgroup.memory_bytes()

    @property
    def _cgroup_measures(self) -> bool:
        """The unit's cgroup holds all its programs: not so for a program in a container, which
        the engine places in cgroups of its own (its handle measures those)."""
        return self.cgroup is not None and all(p.kind != "container" for p in self.processes.values())

    def find_process(self, name: str) -> list[int]:
        """Pids in this unit whose process name or command line mentions `name` (kill-process)."""
        found: list[int] = []
        for proc in self.processes.values():
            for member in proc.tree():
                with contextlib.suppress(Exception):
                    if member.name() == name or name in " ".join(member.cmdline()):
                        found.append(member.pid)
        return found
