"""Host-state probes for runtime tests: prove that nothing we create outlives a test."""

from __future__ import annotations

import os
import subprocess

import pytest

needs_netns = pytest.mark.netns_here  # skipped or failed by the one rule in tests/conftest.py


def host_netns() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def host_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def host_routes() -> str:
    return subprocess.run(["ip", "route", "show"], capture_output=True, text=True).stdout


def unit_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"}
