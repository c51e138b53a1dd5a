"""What an instance runs at first boot when its user data is a `#!` script.

The lab has no machine images: every `ami-*` id boots the host's own userland. The script is
written to the instance's scratch directory and run by a small init that then stays up, so the
programs the script leaves in the background (`app &`) live as long as the instance (a unit's
processes die with their group's leader). Package managers cannot reach anything from inside a
unit, so `yum`, `dnf`, `apt-get` and `pip` are shims that say what they skipped; the lab's own
Python (`python3`, with Flask, gunicorn and pg8000) comes first on PATH after them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chaoslab.runtime.commands import SYSTEM_PATH

SCRIPT_NAME = "user-data"
SHIM_DIR = ".chaoslab-bin"

# The init: run the script once, report its status on the console, then stay up as the group's
# leader (what keeps the script's background programs alive).
_INIT = (
    'sh_status=0; "$1" || sh_status=$?; echo "[chaoslab] user data exited with status $sh_status"; exec sleep infinity'
)

_PACKAGE_SHIM = """#!/bin/sh
echo "[chaoslab] skipped '$(basename "$0") $*': units have no package manager or network; the host's tools are on PATH" >&2
exit 0
"""

# pip: say which requested distributions the lab's Python already has and which it has not (the
# program that imports those will fail with its own ImportError).
_PIP_SHIM = """#!{python}
import sys
from importlib import metadata

args = sys.argv[1:]
wanted = []
if args[:1] == ["install"]:
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("-r", "--requirement"):
            print(f"[chaoslab] skipped pip install -r {{next(rest, '')}}: the file is not read", file=sys.stderr)
        elif not arg.startswith("-"):
            wanted.append(arg)
for spec in wanted:
    name = spec.split("==")[0].split(">=")[0].split("[")[0]
    try:
        have = "already there (" + metadata.version(name) + ")"
    except metadata.PackageNotFoundError:
        have = "NOT available in the lab's Python"
    print(f"[chaoslab] skipped pip install {{spec}}: {{have}}", file=sys.stderr)
"""


def install(workdir: Path, script: str) -> Path:
    """Write the script and the shims into the instance's scratch directory; returns the script."""
    shims = workdir / SHIM_DIR
    shims.mkdir(parents=True, exist_ok=True)
    for tool in ("yum", "dnf", "apt-get", "apt", "amazon-linux-extras"):
        _write_executable(shims / tool, _PACKAGE_SHIM)
    for tool in ("pip", "pip3"):
        _write_executable(shims / tool, _PIP_SHIM.format(python=sys.executable))
    path = workdir / SCRIPT_NAME
    _write_executable(path, script)
    return path


def init_command(script: Path) -> list[str]:
    return ["/bin/sh", "-c", _INIT, "init", str(script)]


def environment(workdir: Path) -> dict[str, str]:
    """PATH (shims, the lab's Python, the host's tools) and HOME (the instance's own directory)."""
    python_bin = os.path.dirname(sys.executable)
    return {"PATH": f"{workdir / SHIM_DIR}:{python_bin}:{SYSTEM_PATH}", "HOME": str(workdir)}


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)
