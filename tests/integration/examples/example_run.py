"""Run one `examples/<scenario>` through the real CLI as CI does: `chaoslab up --detach --fast`
(or `--time-scale N` instead, for the 30-minute scenarios) with the example's stack moved to a
private VPC range and a free listener port, `chaoslab run [--fast] --report`, `chaoslab down`;
returns the exit code and the journal, and checks nothing is left."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaoslab.config import LabConfig
from chaoslab.experiment.schema import load_experiment
from chaoslab.labctl import running_lab
from chaoslab.runtime.network import unused_vpc_octet
from chaoslab.stack import relocated, resolve_stack_path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
CLI = [sys.executable, "-m", "chaoslab.cli"]


@dataclass
class Result:
    code: int
    journal: dict[str, Any]
    output: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_stack(experiment: Path, tmp: Path, octet: int) -> Path:
    """The experiment's stack on 10.<octet>.0.0/16 (subnets keep their third octet), listeners on port 0."""
    exp = load_experiment(experiment)
    doc = relocated(yaml.safe_load(resolve_stack_path(exp.get("stack")).read_text()), octet)
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_example(
    scenario: str,
    tmp: Path,
    octet: int,
    experiment: str = "experiment.yaml",
    timeout: float = 150,
    time_scale: float | None = None,
) -> Result:
    octet = unused_vpc_octet(octet)
    speed = ["--time-scale", f"{time_scale:g}"] if time_scale else ["--fast"]
    run_fast = [] if time_scale else ["--fast"]  # a scaled run uses the running lab's scale
    exp_path = EXAMPLES / scenario / experiment
    config = LabConfig(home=tmp / "home", api_port=free_port())
    env = {**os.environ, "CHAOSLAB_HOME": str(config.home)}
    stack = private_stack(exp_path, tmp, octet)
    up = subprocess.run(
        [*CLI, "up", "--detach", *speed, "--api-port", str(config.api_port), str(stack)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        run = subprocess.run(
            [*CLI, "run", str(exp_path), *run_fast, "--report", str(tmp / "report")],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        subprocess.run([*CLI, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert_nothing_left(config, octet)
    journal_path = tmp / "report" / "journal.json"
    assert journal_path.exists(), run.stdout + run.stderr
    return Result(run.returncode, json.loads(journal_path.read_text()), run.stdout + run.stderr)


def assert_nothing_left(config: LabConfig, octet: int) -> None:
    assert running_lab(config) is None
    routes = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    assert f"10.{octet}." not in routes
    links = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    assert f"10.{octet}." not in links
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(config.home) not in ps
