"""Run short host helper commands (`ip`, `iptables`) without blocking the lab's event loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

# Where a Linux system keeps its programs, sbin included: `iptables` lives in /usr/sbin.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def use_system_path() -> None:
    """Add the system's directories to the end of PATH, for this process and what it starts.
    The lab runs `ip` and `iptables`, and an ordinary user's PATH (Debian's has no sbin) finds
    `ip` but not `iptables`: a lab started by one failed at its first security group."""
    current = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    os.environ["PATH"] = os.pathsep.join(current + [d for d in SYSTEM_PATH.split(":") if d not in current])


class CommandError(RuntimeError):
    """A helper command failed; carries its output so the caller can say why."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}: {output.strip()}")
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output


async def run_command(
    argv: Sequence[str], *, check: bool = True, timeout: float = 10.0, stdin: str | None = None
) -> tuple[int, str]:
    """Run `argv` to completion, `stdin` as its input; returns (exit code, stdout+stderr). Raises
    CommandError when `check` and the exit code is not 0; kills the command if it outlives `timeout`."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(None if stdin is None else stdin.encode()), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise CommandError(argv, -9, f"timed out after {timeout}s") from None
    except asyncio.CancelledError:  # a cancelled caller leaves no command behind
        proc.kill()
        await proc.wait()
        raise
    rc = proc.returncode if proc.returncode is not None else -1
    text = out.decode(errors="replace")
    if check and rc != 0:
        raise CommandError(argv, rc, text)
    return rc, text
