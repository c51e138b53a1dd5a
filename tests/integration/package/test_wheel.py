"""The built wheel, installed alone into a clean virtual environment (its dependencies from the
package index), runs the demo: sample apps, stacks, report templates and dashboard assets are all
inside it. Slow (about a minute, and it needs the package index): run with `-m slow`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_wheel_installs_in_a_clean_venv_and_runs_the_demo(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(ROOT)], check=True
    )
    (wheel,) = (tmp_path / "dist").glob("chaoslab-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "-q", str(wheel)], check=True, timeout=600)
    version = subprocess.run([str(bin_dir / "chaoslab"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("chaoslab ")
    env = {**os.environ, "CHAOSLAB_HOME": str(tmp_path / "home")}
    demo = subprocess.run(
        [str(bin_dir / "chaoslab"), "demo", "--fast", "--report", str(tmp_path / "report")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert demo.returncode in (0, 1), demo.stdout + demo.stderr  # held or refuted: it ran
    assert (tmp_path / "report" / "report.html").exists()
    ours = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert not ours, "the demo left processes behind"
