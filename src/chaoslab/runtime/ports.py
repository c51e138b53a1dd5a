"""Where a unit's port really is. In loopback mode an ordinary user cannot bind ports below the
kernel's `ip_unprivileged_port_start` (1024 by default), so a unit told to serve port 80 would
exit at once. There, a unit's privileged port `p` is served at `p + LOOPBACK_PORT_OFFSET` on its
loopback address; the AWS view (target registrations, task definitions) keeps `p`, and everything
that opens a socket to a unit — the ALB, its health checks, boot waits — goes through
`unit_port`. In netns and userns mode each unit owns its namespace's ports and nothing moves."""

from __future__ import annotations

import functools
import ipaddress
import os

LOOPBACK_PORT_OFFSET = 10000
_SYSCTL = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


@functools.lru_cache(maxsize=1)
def unprivileged_port_start() -> int:
    """The lowest port this process may bind (0 for root)."""
    if os.geteuid() == 0:
        return 0
    try:
        with open(_SYSCTL) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024


def is_loopback_unit(ip: str) -> bool:
    """Loopback-mode unit addresses are 127.0.<az>.<n> with az ≥ 1 (127.0.0.x is the host's)."""
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    return addr.is_loopback and addr.packed[1] == 0 and addr.packed[2] >= 1


def unit_port(ip: str, port: int) -> int:
    """The port a unit at `ip` really serves `port` on."""
    if is_loopback_unit(ip) and 0 < port < unprivileged_port_start():
        return port + LOOPBACK_PORT_OFFSET
    return port


def remapped() -> bool:
    """Whether loopback units here serve their privileged ports elsewhere (`status` says so)."""
    return unprivileged_port_start() > 1
