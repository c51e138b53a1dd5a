"""`ContainerRuntime`: a unit's program as a real container of a locally present image.

`podman run` joins the unit's network namespace by path, so the ALB, health checks and network
faults reach the container exactly as they reach a process unit. The client runs attached: its
output is the container's, shipped as any unit's output is, and its exit code is the
container's. The task definition's limits become the engine's (`--cpus`, `--cpu-shares`) and a
memory limit on a parent cgroup (`memcg`) that tells an OOM kill apart after the exit. The
container's processes are host processes, so kill-process and the CPU and memory measurements
see them as they see any unit's; fault helpers join the container's cgroups and so run inside
its limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal as _signal
import tempfile
import time
from pathlib import Path

import psutil

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.commands import run_command
from chaoslab.runtime.kinds.base import HandleExitCallback, InImage, OutputCallback, ProcessSpec
from chaoslab.runtime.kinds.engine import Engine
from chaoslab.runtime.kinds.memcg import MemoryParent
from chaoslab.runtime.kinds.process import environment
from chaoslab.runtime.process import CpuMeter, UnitProcess, tree_cpu_seconds, tree_memory_bytes
from chaoslab.runtime.sandbox import Sandbox, hosts_file, resolv_file
from chaoslab.store import Store

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds from `podman run` to the container's first process
LABEL = "io.chaoslab.unit"  # every container the lab starts carries it (its program's name)
RESOURCE_KIND = "container"  # in the store: a container (and its memory parent) this lab made


def container_name(name: str) -> str:
    """An engine-safe container name for a program named `<unit id>/<program>`."""
    return "chaoslab-" + re.sub(r"[^a-zA-Z0-9_.-]", "-", name)


def run_argv(engine: Engine, cname: str, netns: str, parent: str, spec: ProcessSpec, env_file: str) -> list[str]:
    """The `podman run` command line of one container, attached (its output is ours)."""
    opts = spec.in_image or InImage()
    argv = [engine.path, "run", "--name", cname, "--replace", "--pull=never", "--label", f"{LABEL}={cname}"]
    argv += engine.run_options()
    argv += ["--network", f"ns:/run/netns/{netns}", "--no-hosts", "-v", f"{hosts_file(netns)}:/etc/hosts:ro"]
    argv += ["-v", f"{resolv_file(netns)}:/etc/resolv.conf:ro"]  # the VPC's DNS server, as the unit's programs have
    argv += ["--cgroup-parent", parent, "--env-file", env_file]
    if opts.cpus is not None:
        argv.append(f"--cpus={opts.cpus:g}")
    if opts.cpu_shares is not None:
        argv.append(f"--cpu-shares={max(2, opts.cpu_shares)}")
    if opts.workdir:
        argv += ["--workdir", opts.workdir]
    if spec.user:
        argv += ["--user", spec.user]
    command = list(spec.command)
    if command:  # ECS: entryPoint and command together replace the image's
        argv += ["--entrypoint", command[0]]
    argv.append(spec.image or "")
    return argv + command[1:]


def write_env_file(env: dict[str, str]) -> str:
    """The container's environment as a file (not on the command line, where `ps` shows it)."""
    fd, path = tempfile.mkstemp(prefix="chaoslab-env-")
    with os.fdopen(fd, "w") as f:
        for key, value in env.items():
            f.write(f"{key}={value.replace(chr(10), ' ')}\n")
    return path


class ContainerHandle:
    """One running container, seen through its attached client and its first process."""

    kind = "container"

    def __init__(self, name: str, cname: str, engine: Engine, parent: MemoryParent, store: Store) -> None:
        self.name = name
        self._store = store
        self.cname = cname
        self._engine = engine
        self._parent = parent
        self._client: UnitProcess | None = None
        self._init: psutil.Process | None = None
        self._callbacks: list[HandleExitCallback] = []
        self._exited = asyncio.Event()
        self._code: int | None = None
        self._oom = False
        self._cpu = CpuMeter()
        self._finisher: asyncio.Future[None] | None = None

    async def attach(self, client: UnitProcess) -> None:
        """Follow `client` (the `podman run`) until the container's first process exists."""
        self._client = client
        client.on_exit(self._client_exited)
        deadline = time.monotonic() + START_TIMEOUT
        while self._init is None and client.running and time.monotonic() < deadline:
            rc, out = await run_command(
                [self._engine.path, "inspect", "--format", "{{.State.Pid}}", self.cname], check=False
            )
            pid = int(out.strip()) if rc == 0 and out.strip().isdigit() else 0
            if pid > 0:
                with contextlib.suppress(psutil.Error):
                    self._init = psutil.Process(pid)
            else:
                await asyncio.sleep(0.05)

    def _client_exited(self, _client: UnitProcess) -> None:
        self._finisher = asyncio.ensure_future(self._finish())

    @property
    def pid(self) -> int:
        return self._init.pid if self._init is not None else (self._client.pid if self._client else 0)

    @property
    def create_time(self) -> float | None:
        with contextlib.suppress(psutil.Error):
            return self._init.create_time() if self._init is not None else None
        return None

    @property
    def running(self) -> bool:
        return not self._exited.is_set()

    @property
    def returncode(self) -> int | None:
        return self._code

    @property
    def oom_killed(self) -> bool:
        return self._oom

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
        """SIGSTOP/SIGCONT freeze and thaw every process of it (a paused machine); any other
        signal goes to its first process, as `podman kill --signal` sends it."""
        members = self.tree()
        targets = members if sig in (_signal.SIGSTOP, _signal.SIGCONT) else members[:1]
        for p in targets:
            with contextlib.suppress(psutil.Error):
                p.send_signal(sig)

    async def terminate(self, timeout: float = 10.0) -> int:
        """`podman stop`: SIGTERM, SIGKILL after `timeout` (the container's stopTimeout)."""
        if self.running:
            self.signal(_signal.SIGCONT)
            await run_command(
                [self._engine.path, "stop", "-t", str(max(0, round(timeout))), self.cname],
                check=False,
                timeout=timeout + 30,
            )
        return await self.wait()

    async def kill(self) -> int:
        if self.running:
            await run_command([self._engine.path, "kill", self.cname], check=False, timeout=30)
        return await self.wait()

    def tree(self) -> list[psutil.Process]:
        """Its first process and all it forked, alive now."""
        if not self.running or self._init is None:
            return []
        try:
            return [self._init, *self._init.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_percent(self) -> float:
        """CPU used by its processes since the previous call, in percent of one core."""
        return self._cpu.percent(tree_cpu_seconds(self.tree()))

    def memory_bytes(self) -> int:
        return tree_memory_bytes(self.tree())

    def cgroup_procs(self) -> list[Path]:
        """The cgroup.procs files of its first process's cgroups (one per v1 hierarchy)."""
        if self._init is None:
            return []
        try:
            text = Path(f"/proc/{self._init.pid}/cgroup").read_text()
        except OSError:
            return []
        files: list[Path] = []
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            for mount in _mounts(controllers):
                files.append(mount / path.lstrip("/") / "cgroup.procs")
        return [f for f in files if f.exists()]

    async def _finish(self) -> None:
        """The client has exited: note an OOM kill (any in the container's limit while it ran,
        as Docker's OOMKilled says), remove the container and its parent."""
        assert self._client is not None
        code = self._client.returncode
        self._oom = self._parent.oom_killed()
        await run_command([self._engine.path, "rm", "-f", "-t", "0", self.cname], check=False, timeout=60)
        self._parent.remove()
        self._store.disown_resource(RESOURCE_KIND, self.cname)
        self._code = code if code is not None else -1
        self._exited.set()
        for callback in self._callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("on_exit callback of %s failed", self.name)
        self._callbacks.clear()


def _mounts(controllers: str) -> list[Path]:
    """Where a /proc/<pid>/cgroup line's hierarchy is mounted (v2: the root itself)."""
    root = Path("/sys/fs/cgroup")
    if controllers == "":
        return [root / "unified"] if (root / "unified").is_dir() else [root]
    names = [c.removeprefix("name=") for c in controllers.split(",")]
    for candidate in (",".join(names), *names):
        if (root / candidate).is_dir():
            return [root / candidate]
    return []


class ContainerRuntime:
    """Starts programs as containers of `engine`; the unit's other operations act on them."""

    def __init__(self, engine: Engine, store: Store, lab_run: str) -> None:
        self.engine = engine
        self._store = store
        self._lab_run = lab_run
        self._handles: dict[str, ContainerHandle] = {}

    async def start(
        self,
        sandbox: Sandbox,
        name: str,
        spec: ProcessSpec,
        *,
        on_output: OutputCallback | None = None,
        on_exit: HandleExitCallback | None = None,
    ) -> ContainerHandle:
        if sandbox.netns is None:
            raise ChaoslabError("a container needs the unit's network namespace (the netns mode)")
        cname = container_name(name)
        self._store.own_resource(RESOURCE_KIND, cname, self._lab_run)  # before it exists: see cleanup
        parent = MemoryParent(cname)
        parent.create((spec.in_image or InImage()).memory_mib)
        env_file = write_env_file(environment(sandbox, spec) or {})  # HOST and PORT as for a process
        handle = ContainerHandle(name, cname, self.engine, parent, self._store)
        try:
            argv = run_argv(self.engine, cname, sandbox.netns, parent.path, spec, env_file)
            # In the unit's scratch directory: the engine's monitor leaves a file there on an OOM kill.
            client = await sandbox.spawn_outside(name, argv, cwd=spec.cwd, on_output=on_output)
            await handle.attach(client)
        finally:  # the engine has read it once the container's first process exists (or failed)
            with contextlib.suppress(OSError):
                os.unlink(env_file)
        if on_exit is not None:
            handle.on_exit(on_exit)
        self._handles[name] = handle
        handle.on_exit(lambda _h: self._forget(name))
        return handle

    def _forget(self, name: str) -> None:
        self._handles.pop(name, None)

    def handle(self, name: str) -> ContainerHandle | None:
        return self._handles.get(name)

    def in_sandbox(self, unit_prefix: str) -> ContainerHandle | None:
        """The first running container of a unit (by its `<unit id>/` prefix)."""
        return next((h for n, h in self._handles.items() if n.startswith(unit_prefix) and h.running), None)

    async def exec_in(self, handle: ContainerHandle, argv: list[str], timeout: float) -> tuple[int, str]:
        """`podman exec`: a short command inside the container, its image's files included."""
        try:
            return await run_command([self.engine.path, "exec", handle.cname, *argv], check=False, timeout=timeout)
        except Exception as exc:  # a timed-out health check is a failed one
            return 1, str(exc)


async def cleanup_containers(store: Store) -> list[str]:
    """Remove every container (and memory parent) `store` records, left by a lab that died: its
    monitor outlives the lab's processes. Only names the lab gives are touched."""
    podman = shutil.which("podman")
    removed: list[str] = []
    for cname in store.owned_resources(RESOURCE_KIND):
        if cname.startswith("chaoslab-"):
            if podman is not None:
                await run_command([podman, "rm", "-f", "-t", "0", cname], check=False, timeout=60)
            MemoryParent(cname).remove()
            removed.append(cname)
        store.disown_resource(RESOURCE_KIND, cname)
    return removed
