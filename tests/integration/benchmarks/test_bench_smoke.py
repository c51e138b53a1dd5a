"""Smoke test of benchmarks/run.py (slow, not in `make test`): the stop-condition section against
a real lab stops the experiment and reverts both faults within its target (PASS), and the lab it
started is gone afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.slow, pytest.mark.netns_here]


def _bench_daemons() -> list[int]:
    """Lab daemons whose state dir is a benchmark temp dir."""
    out = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            if "chaoslab.daemon" in " ".join(p.info["cmdline"] or []) and "chaoslab-bench-" in (
                (p.info["environ"] or {}).get("CHAOSLAB_HOME", "")
            ):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


def test_stop_condition_section_runs_and_cleans_up() -> None:
    before = set(_bench_daemons())
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "stop", "--no-write"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| 4 stop condition")]
    assert len(rows) == 4, out.stdout
    # The stop condition must have stopped the experiment and reverted both faults within the
    # section's 2 s target: the reaction does not depend on --quick, so a MISS is a regression.
    reverted = next(r for r in rows if "every fault reverted (2 faults)" in r)
    assert "| PASS |" in reverted and "experiment stopped; stress workers gone: True" in reverted, reverted
    assert set(_bench_daemons()) - before == set()
