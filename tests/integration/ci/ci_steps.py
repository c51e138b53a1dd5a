"""Runs CI definitions' shell steps as their runners would: bash, -e and pipefail, the step's
environment, and the runner's files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, …) in a temp dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
VENV = Path(sys.executable).parent.parent  # the test's own venv has chaoslab installed
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def run_bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def github_outputs(path: Path) -> dict[str, str]:
    """`name=value` lines a step appended to GITHUB_OUTPUT."""
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def evaluate(value: Any, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    """The two kinds of expression the action uses in `env`: an input, a step's output."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if found:
            return steps.get(found.group(1), {}).get(found.group(2), "")
        raise AssertionError(f"an expression this runner does not evaluate: {expr}")

    return EXPRESSION.sub(one, str(value))
