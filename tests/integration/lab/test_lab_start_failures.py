"""An app that cannot start here fails `chaoslab up` fast, with the app's own output, instead of
being relaunched while `up` waits for targets that will never be healthy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml
from lab_helpers import free_port

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab
from chaoslab.stack import resolve_stack_path
from realistic import needs_realistic_mode

pytestmark = needs_realistic_mode
FAILING_APP = ["python3", "-c", "import sys; print('cannot open /etc/petpay.conf', file=sys.stderr); sys.exit(3)"]


def _failing_stack(tmp: Path) -> Path:
    doc = yaml.safe_load(resolve_stack_path("pet-payment").read_text())
    doc["vpc"] = {"cidr": "10.96.0.0/16", "subnets": {"us-east-1a": "10.96.10.0/24", "us-east-1b": "10.96.11.0/24"}}
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    doc["ecs"]["task_definitions"][0]["containerDefinitions"][0]["command"] = FAILING_APP
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_an_app_that_dies_at_start_fails_up_with_its_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    started = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaoslab",
            "up",
            "--detach",
            "--fast",
            "--api-port",
            str(free_port()),
            str(_failing_stack(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHAOSLAB_HOME": str(home)},
    )
    took = time.monotonic() - started
    assert out.returncode == 1, out.stdout + out.stderr
    assert "exited with 3 at start" in out.stderr and "cannot open /etc/petpay.conf" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert took < 45, f"up took {took:.0f} s to give up"
    assert running_lab(LabConfig(home=home)) is None
