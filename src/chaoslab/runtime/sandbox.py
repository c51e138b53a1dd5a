"""`Sandbox`: one unit's network identity — an awsvpc ENI in all but name.

In netns mode it is a network namespace with one veth (`eth0`) into the VPC bridge; in loopback
mode it is just a loopback address the unit is told to bind. Processes spawned through it live
inside that identity, and the sandbox can "unplug" it to emulate a powered-off machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.commands import run_command
from chaoslab.runtime.forkserver import ForkedProcess, fork_server
from chaoslab.runtime.process import ExitCallback, OutputCallback, UnitProcess
from chaoslab.store import Store

# Each unit's /etc/hosts and /etc/resolv.conf, bound over the host's in the private mount
# namespace `ip netns exec` gives every command it starts. Under /run (the lab's own tmpfs in
# userns mode), never in /etc: the host's /etc is not ours to write, and in a user namespace it
# cannot be. The resolver configuration names the VPC's DNS server (Cloud Map's names); a host
# whose /etc/resolv.conf is a dangling link has nothing to bind over, and its units keep none.
HOSTS_DIR = Path("/run/chaoslab/hosts")
RESOLV_DIR = Path("/run/chaoslab/resolv")
_BIND_FILES = (
    'mount --bind "$0" /etc/hosts && r=$1 && shift && '
    '{ [ ! -e /etc/resolv.conf ] || mount --bind "$r" /etc/resolv.conf; } && exec "$@"'
)
# Join the cgroups named by the first $1 arguments, then exec the rest: the program and all it
# forks start inside its unit's limits, with no moment outside them.
_JOIN_CGROUPS = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'
UNIT_IFNAME = "eth0"


class Sandbox:
    """One network identity. Made by `VpcNetwork.allocate`, never directly."""

    def __init__(
        self,
        *,
        store: Store,
        lab_run: str,
        ip: str,
        az: str,
        netns: str | None = None,
        veth: str | None = None,
        bridge: str | None = None,
        mac: str | None = None,
        lab_ip: str | None = None,
        release: Callable[[Sandbox], None] | None = None,
    ) -> None:
        self.ip = ip
        self.lab_ip = lab_ip  # the lab's own address on the VPC, where its probes of the unit come from
        self.az = az
        self.netns = netns
        self.mac = mac
        self.veth = veth
        self._bridge = bridge
        self._store = store
        self._lab_run = lab_run
        self._release = release
        self._processes: list[UnitProcess | ForkedProcess] = []
        self._link_up = True
        self._destroyed = False

    @property
    def link_up(self) -> bool:
        return self._link_up

    @property
    def processes(self) -> list[UnitProcess | ForkedProcess]:
        return list(self._processes)

    def _unit_prefix(self) -> list[str]:
        """What runs a unit's program inside: its namespace, its own /etc/hosts and resolver
        configuration (the shell execs in place, so the pid is still the program's)."""
        if not self.netns:
            return []
        files = [str(hosts_file(self.netns)), str(resolv_file(self.netns))]
        return ["ip", "netns", "exec", self.netns, "sh", "-c", _BIND_FILES, *files]

    async def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        on_exit: ExitCallback | None = None,
        cgroup: Sequence[str] = (),
        stdin: int | None = None,
        tty: bool = False,
        network: bool = True,
    ) -> UnitProcess:
        """Start `argv` inside this identity as its own process group. `env` is the complete
        environment (None inherits the lab's); `cgroup` the cgroup.procs files it joins first;
        `stdin` and `tty` as `UnitProcess.start` takes them (an interactive exec); `network`
        False leaves it in the host's network namespace (a helper that needs none).
        `ip netns exec` and the shells exec the command in place, so the pid is the command's own."""
        if self._destroyed:
            raise ChaoslabError(f"sandbox {self.ip} is destroyed")
        join = ["/bin/sh", "-c", _JOIN_CGROUPS, "sh", str(len(cgroup)), *cgroup] if cgroup else []
        unit = await UnitProcess.start(
            name,
            [*join, *(self._unit_prefix() if network else []), *argv],
            store=self._store,
            lab_run=self._lab_run,
            env=env,
            cwd=cwd,
            on_output=on_output,
            on_exit=on_exit,
            stdin=stdin,
            tty=tty,
        )
        self._processes.append(unit)
        unit.on_exit(self._forget)
        return unit

    def _forget(self, unit: UnitProcess | ForkedProcess) -> None:
        with contextlib.suppress(ValueError):
            self._processes.remove(unit)

    async def set_link(self, up: bool) -> None:
        """Plug or unplug the unit's network. Unplugged, the host's permanent neighbour entry
        still sends frames to the unit's MAC, which a down veth drops: SYNs time out like those
        to a powered-off machine. Loopback mode has no link to pull; it does nothing there (a
        stopped unit simply refuses connections)."""
        if self.netns is not None:
            await run_command(["ip", "-n", self.netns, "link", "set", UNIT_IFNAME, "up" if up else "down"])
        self._link_up = up

    async def run(self, argv: Sequence[str], timeout: float = 10.0) -> tuple[int, str]:
        """Run a short helper (e.g. iptables) inside the namespace; returns (exit code, output).
        Refused in loopback mode: there the command would hit the host, not the unit."""
        if self.netns is None:
            raise ChaoslabError("no network namespace in loopback mode; cannot run a command inside the unit")
        return await run_command([*self._unit_prefix(), *argv], check=False, timeout=timeout)

    async def fork(
        self, name: str, module: str, argv: Sequence[str], cwd: str, cgroup: Sequence[str] = ()
    ) -> ForkedProcess:
        """Run `module.main(argv)` as a helper forked from the fork server, in the host's network
        namespace (a helper that needs none: a stress worker): ~1 ms of CPU instead of a Python
        start. Owned, recorded and killed like the unit's own processes."""
        if self._destroyed:
            raise ChaoslabError(f"sandbox {self.ip} is destroyed")
        server = await fork_server(preload=(module,))
        helper = await server.spawn(
            name, module, argv, cgroups=cgroup, cwd=cwd, store=self._store, lab_run=self._lab_run
        )
        self._processes.append(helper)
        helper.on_exit(self._forget)
        return helper

    async def spawn_outside(
        self,
        name: str,
        argv: Sequence[str],
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        on_exit: ExitCallback | None = None,
    ) -> UnitProcess:
        """Start a program that runs the unit from outside its namespace (a container engine's
        client, which joins the namespace by path): owned and killed like the unit's own."""
        if self._destroyed:
            raise ChaoslabError(f"sandbox {self.ip} is destroyed")
        unit = await UnitProcess.start(
            name, argv, store=self._store, lab_run=self._lab_run, cwd=cwd, on_output=on_output, on_exit=on_exit
        )
        self._processes.append(unit)
        unit.on_exit(self._forget)
        return unit

    async def destroy(self) -> None:
        """Kill whatever still runs in here and remove namespace, veth and neighbour entry.
        Safe to call twice."""
        if self._destroyed:
            return
        self._destroyed = True
        for unit in list(self._processes):
            await unit.kill()
        if self.netns is not None:
            await kill_namespace_processes(self.netns)
            await remove_sandbox_resources(self._store, self.netns, self.veth, self._neigh_name())
        if self._release is not None:
            self._release(self)

    def _neigh_name(self) -> str | None:
        return f"{self.ip} dev {self._bridge}" if self._bridge else None


async def kill_namespace_processes(netns: str) -> None:
    """SIGKILL every process left in a namespace (strays a unit forked into a new group)."""
    rc, out = await run_command(["ip", "netns", "pids", netns], check=False)
    if rc != 0:
        return
    pids = [int(p) for p in out.split() if p.isdigit()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    await wait_gone(pids, 3.0)


async def wait_gone(pids: list[int], timeout: float) -> None:
    """Wait until none of `pids` is alive; a zombie counts as gone (it holds no resources and
    its parent, not us, must reap it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return
        if loop.time() >= deadline:
            raise ChaoslabError(f"processes {alive} survived SIGKILL")
        await asyncio.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def remove_sandbox_resources(store: Store, netns: str, veth: str | None, neigh: str | None) -> None:
    """Delete neighbour entry, veth and namespace (each only if present), then disown them."""
    if neigh is not None:
        ip, _, dev = neigh.split()
        await run_command(["ip", "neigh", "del", ip, "dev", dev], check=False)
        store.disown_resource("neigh", neigh)
    if veth is not None:
        await run_command(["ip", "link", "del", veth], check=False)
        store.disown_resource("link", veth)
    await run_command(["ip", "netns", "del", netns], check=False)
    hosts_file(netns).unlink(missing_ok=True)
    resolv_file(netns).unlink(missing_ok=True)
    store.disown_resource("netns", netns)


def hosts_file(netns: str) -> Path:
    return HOSTS_DIR / netns


def resolv_file(netns: str) -> Path:
    return RESOLV_DIR / netns
