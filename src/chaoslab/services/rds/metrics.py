"""AWS/RDS metrics read from the process table: CPU of a postmaster's tree and its client backends.

PostgreSQL retitles every backend (`postgres: <user> <db> <host>(<port>) <state>`), so counting
client connections needs no SQL — and keeps working while the server refuses connections.
"""

from __future__ import annotations

import re
import time

import psutil

_CLIENT_BACKEND = re.compile(r"^postgres: (?!walsender )\S+ \S+ (\[local\]|\S+\(\d+\))")


def is_client_backend(title: str) -> bool:
    return bool(_CLIENT_BACKEND.match(title))


class TreeSampler:
    """CPUUtilization and DatabaseConnections of one postmaster, between consecutive calls."""

    def __init__(self) -> None:
        self._cpu: dict[int, float] = {}
        self._at: float | None = None

    def sample(self, pid: int) -> tuple[float, int]:
        """(percent of the machine's CPUs used since the previous call, client backends now)."""
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            self._cpu, self._at = {}, None
            return 0.0, 0
        now = time.monotonic()
        cpu: dict[int, float] = {}
        connections = 0
        for proc in procs:
            try:
                times = proc.cpu_times()
                cpu[proc.pid] = times.user + times.system
                if proc is not root and is_client_backend(" ".join(proc.cmdline())):
                    connections += 1
            except psutil.NoSuchProcess:
                continue
        used = sum(total - self._cpu.get(p, 0.0) for p, total in cpu.items())
        percent = 0.0
        if self._at is not None and now > self._at:
            percent = max(0.0, min(100.0, used / (now - self._at) * 100.0 / (psutil.cpu_count() or 1)))
        self._cpu, self._at = cpu, now
        return round(percent, 2), connections
