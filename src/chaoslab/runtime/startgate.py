"""A program the lab starts runs only once its pid is recorded in the store.

A pid is known only after the fork, so a lab SIGKILLed between fork and record would leave a
process no crash recovery knows of (it once left an instance's volume server mounting after the
watchdog had cleaned up). Every recorded program therefore starts behind a gate: a `/bin/sh`
that waits for one line on its stdin pipe and then execs the program in place — same pid, same
start time, stdin from /dev/null. The lab writes the line once the pid is in the store; a lab
killed before that closes the pipe, and the shell exits without running anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

_GATE = ["/bin/sh", "-c", 'read -r go && exec "$@" </dev/null', "sh"]


def gated(argv: Sequence[str]) -> list[str]:
    """`argv` behind the gate; start it with stdin=PIPE and call `open_gate` after recording."""
    return [*_GATE, *argv]


def open_gate(proc: asyncio.subprocess.Process, recorded: bool) -> None:
    """Let the program run if its pid was recorded; otherwise (it exited already) end the gate."""
    if proc.stdin is None:
        return
    if recorded:
        proc.stdin.write(b"go\n")
    proc.stdin.close()
