"""Lab-wide settings: where state lives, which ports, which account and region we pretend to be."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from chaoslab.timing import Timing

DEFAULT_HOST = "127.0.0.1"  # loopback: only this machine reaches the lab (docs/security.md)
DEFAULT_API_PORT = 4566
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
LAB_FILE = "lab.json"  # in the state dir: the running lab (pid, API, ready); here so reading it is cheap


def default_home() -> Path:
    """State dir: CHAOSLAB_HOME, else the XDG state dir (docs/ARCHITECTURE.md, "The stable interface")."""
    if os.environ.get("CHAOSLAB_HOME"):
        return Path(os.environ["CHAOSLAB_HOME"]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "chaoslab"


@dataclass
class LabConfig:
    """Everything a running lab needs to know before it builds any service."""

    home: Path = field(default_factory=default_home)
    host: str = DEFAULT_HOST
    api_port: int = DEFAULT_API_PORT
    region: str = DEFAULT_REGION
    account_id: str = field(default_factory=lambda: os.environ.get("CHAOSLAB_ACCOUNT_ID", DEFAULT_ACCOUNT))
    # Credentials the SigV4 verifier accepts: access key id -> secret.
    credentials: dict[str, str] = field(default_factory=lambda: {"test": "test"})
    # Scenario seconds per wall second (docs/timing.md): 60 runs a PT30M template in 30 s.
    time_scale: float = 1.0
    # How long AWS's recoveries and launches take (docs/timing.md): `aws` unless `--fast`.
    timing: Timing = field(default_factory=Timing)
    # Authorise every API call with the caller's IAM identity policies (docs/iam.md); off by default.
    enforce_iam: bool = False
    # ALB data-plane worker processes (net/albplane.py); None: one per usable core.
    alb_workers: int | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home
