"""Helpers for runner tests: labs with their own state dir, API port, VPC range and a free ALB
port, so they run beside other engineers' labs; each test checks that its lab left nothing behind."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import yaml

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab
from chaoslab.stack import resolve_stack_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def private_stack(tmp: Path, octet: int) -> Path:
    """The bundled default stack on 10.<octet>.0.0/16 with listener port 0."""
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def config_for(tmp: Path) -> LabConfig:
    return LabConfig(home=tmp / "home", api_port=free_port())


def assert_nothing_left(config: LabConfig, octet: int) -> None:
    assert running_lab(config) is None
    routes = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    assert f"10.{octet}." not in routes
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(config.home) not in ps
