"""`ProcessRuntime`: a unit's programs as process groups on this host, inside the unit's network
namespace (netns and userns modes) or bound to its loopback address (loopback mode).

This is where a spec becomes a command line: an image names a bundled app whose command the
registry knows; HOST and PORT say where the program binds — everything in its own namespace,
or only its loopback address, with privileged ports moved (`runtime.ports`)."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shlex

from chaoslab.apps.registry import is_bundled, resolve_image
from chaoslab.errors import ChaoslabError
from chaoslab.runtime.commands import run_command
from chaoslab.runtime.kinds.base import HandleExitCallback, ImageUnavailable, OutputCallback, ProcessSpec
from chaoslab.runtime.ports import unit_port
from chaoslab.runtime.process import UnitProcess
from chaoslab.runtime.sandbox import Sandbox

CONNECT_TIMEOUT = 1.0  # seconds one `serving` probe waits for the handshake


def environment(sandbox: Sandbox, spec: ProcessSpec) -> dict[str, str] | None:
    """The program's environment: the spec's, plus HOST and PORT when it serves a port."""
    env = None if spec.env is None else dict(spec.env)
    if spec.port is None:
        return env
    bind = {
        "HOST": sandbox.ip if sandbox.netns is None else "0.0.0.0",
        "PORT": str(unit_port(sandbox.ip, spec.port)),
    }
    return {**bind, **(env or {})}


def command_line(spec: ProcessSpec, env: dict[str, str] | None) -> list[str]:
    """The spec's own command, or its image's (raises ChaoslabError for an image we cannot run)."""
    if spec.command:
        argv = list(spec.command)
        return shlex.split(argv[0]) if len(argv) == 1 and " " in argv[0] else argv
    argv_of_image = resolve_image(spec.image or "", env)
    if argv_of_image is None:
        raise ChaoslabError(f"{spec.image!r} is not a chaoslab app and the spec has no command")
    return argv_of_image


def as_user(user: str) -> list[str]:
    """The argv prefix that runs a program as `user`, as a container runtime's `--user` does: a
    name takes its passwd entry's group and groups, a bare uid without an entry group 0. Only a
    lab that is really root can switch users; otherwise this says so (the task fails to start)."""
    name, _, group = user.partition(":")
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        entry = None
        if not name.isdigit():
            raise ChaoslabError(f"user {name!r} does not exist on this host (units share its users)") from None
    uid = entry.pw_uid if entry else int(name)
    gid = entry.pw_gid if entry else 0
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise ChaoslabError(f"group {group!r} does not exist on this host") from None
    if uid != os.geteuid() and not _can_switch_users():
        raise ChaoslabError(
            f"cannot run as user {user!r}: the lab is not running as root (run it as root to honour `user`)"
        )
    groups = ["--init-groups"] if entry and not group else ["--clear-groups"]
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", *groups, "--"]


def _can_switch_users() -> bool:
    """Root with the whole uid range mapped: not an ordinary user's one-uid namespace."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return sum(int(line.split()[2]) for line in f if line.strip()) > 1
    except OSError:
        return True


class ProcessRuntime:
    """The lab's runtime: real processes. Stateless; the sandbox records what it starts."""

    async def start(
        self,
        sandbox: Sandbox,
        name: str,
        spec: ProcessSpec,
        *,
        on_output: OutputCallback | None = None,
        on_exit: HandleExitCallback | None = None,
    ) -> UnitProcess:
        env = environment(sandbox, spec)
        argv = command_line(spec, env)
        if spec.user:
            argv = [*as_user(spec.user), *argv]
        return await sandbox.spawn(
            name,
            argv,
            env=env,
            cwd=spec.cwd,
            on_output=on_output,
            on_exit=on_exit,
            cgroup=spec.cgroup,
            stdin=spec.stdin,
            tty=spec.tty,
            network=spec.network,
        )

    async def exec(self, sandbox: Sandbox, name: str, spec: ProcessSpec) -> UnitProcess:
        """A helper is a process like the unit's own, in the same identity."""
        return await self.start(sandbox, name, spec)

    async def kind_for(self, sandbox: Sandbox, spec: ProcessSpec) -> str:
        """Everything is a process here; only an unknown image with no command cannot run."""
        if spec.command or is_bundled(spec.image or ""):
            return "process"
        raise ImageUnavailable(f"{spec.image!r} is not a chaoslab app and the spec has no command")

    async def run(
        self, sandbox: Sandbox, argv: list[str], timeout: float, program: str | None = None
    ) -> tuple[int, str]:
        """Inside the namespace; in loopback mode the unit has none, so on the host."""
        if sandbox.netns is not None:
            return await sandbox.run(argv, timeout=timeout)
        return await run_command(argv, check=False, timeout=timeout)

    async def serving(self, sandbox: Sandbox, port: int) -> bool:
        """Whether the unit accepts connections on `port`, asked from the lab's own address,
        which security groups admit (as AWS's status checks ignore them)."""
        source = (sandbox.lab_ip, 0) if sandbox.lab_ip else None
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(sandbox.ip, unit_port(sandbox.ip, port), local_addr=source), CONNECT_TIMEOUT
            )
        except (TimeoutError, OSError):
            return False
        writer.close()
        return True
