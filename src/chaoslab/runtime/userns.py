"""The realistic mode without root: the lab runs inside a user namespace of its own.

`chaoslab.daemon` started by an ordinary user re-runs itself under
`unshare --user --map-root-user --net --mount`: inside, the lab is root over namespaces it
created, so it builds bridges, veths, unit namespaces and iptables rules exactly as a root lab
does on the host — but in a private network namespace that stands in for the host. That private
"host" claims the VPC range like a root lab; the real host's routes and links are never touched,
and all of it vanishes with the lab's processes.

Two things make that namespace livable:
* `/run` is a private tmpfs, because `ip netns` keeps its namespace handles in /run/netns and
  the host's /run belongs to the real root. (An overlay of the host's /run would keep its
  contents visible, but the kernel refuses one in a user namespace whenever /run has submounts,
  as it does on most systemd machines.) Units' hosts files never need /etc (`runtime.sandbox`).
* The process that started the lab stays on the host as a *socket broker*
  (`chaoslab.net.hostsock`): the lab's client-facing listeners (API, ALB, DB endpoints on
  127.0.0.1) are bound there and passed in, so users reach the lab on the host's loopback as always.

The outer process forwards stop signals inward and exits with the lab's exit code; the lab stops
itself (reverting every fault) if the outer process dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Sequence

from chaoslab.errors import ChaoslabError
from chaoslab.net.hostsock import serve_broker, use_broker

_PR_SET_PDEATHSIG = 1
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def unshare_argv(inner: Sequence[str]) -> list[str]:
    return ["unshare", "--user", "--map-root-user", "--net", "--mount", "--propagation", "private", "--", *inner]


def run_outside(inner: Sequence[str]) -> int:
    """Start `inner` (a `python -m chaoslab.daemon ...` argv, to which `--broker-fd N` is added)
    in a new user namespace, serve it host sockets, forward stop signals, and return its exit code."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    argv = unshare_argv([*inner, "--broker-fd", str(theirs.fileno())])
    try:
        child = subprocess.Popen(argv, pass_fds=(theirs.fileno(),))
    except OSError as exc:
        raise ChaoslabError(
            f"cannot start the lab in a user namespace: {exc}", hint="use `--network loopback`, or run as root"
        ) from None
    theirs.close()

    def forward(signum: int, _frame: object) -> None:
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for sig in _FORWARDED:
        signal.signal(sig, forward)
    broker = threading.Thread(target=serve_broker, args=(ours,), name="host-socket-broker", daemon=True)
    broker.start()
    code = child.wait()  # a forwarded signal interrupts nothing: Python retries the wait (PEP 475)
    ours.close()
    return code if code >= 0 else 128 - code


def enter_inside(broker_fd: int) -> None:
    """First thing the lab does inside its namespace: die with its parent, give `ip netns` a
    private /run, bring up loopback, and take host listeners from the broker."""
    _die_with_parent()
    _run(["mount", "-t", "tmpfs", "-o", "mode=0755", "chaoslab-run", "/run"])
    for directory in ("/run/netns", "/run/lock"):
        os.mkdir(directory)
    os.symlink("/dev/shm", "/run/shm")
    _run(["ip", "link", "set", "lo", "up"])
    use_broker(broker_fd)


def _die_with_parent() -> None:
    """SIGTERM when the broker (our parent) dies, so the lab stops and reverts its faults.
    (Entering the user namespace reset any earlier setting, so it is set from inside.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChaoslabError(
            f"setting up the lab's user namespace: {' '.join(argv)}: {(done.stderr or done.stdout).strip()}",
            hint="use `--network loopback`, or run as root",
        )
