"""Process-table checks for the RDS integration tests: no postmaster may outlive its test."""

from __future__ import annotations

import time
from pathlib import Path

import psutil


def live_postgres(under: Path) -> list[psutil.Process]:
    """Non-zombie processes whose command line or cwd mentions `under` (our servers' dirs)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status", "name"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cmd = " ".join(proc.info["cmdline"] or [])
            if str(under) in cmd or str(under) in (proc.cwd() or ""):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_no_postgres_left(under: Path, wait: float = 5.0) -> None:
    deadline = time.monotonic() + wait
    while live_postgres(under) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_postgres(under) == []
