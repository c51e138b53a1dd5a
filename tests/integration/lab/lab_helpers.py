"""Helpers for lab tests: a private stack, a free port, the lab's status."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from chaoslab.config import LabConfig
from chaoslab.labctl import stop_lab
from chaoslab.stack import resolve_stack_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_stack(tmp: Path, cidr_octet: int, **overrides: Any) -> Path:
    """The bundled default stack on a private VPC range with a free listener port."""
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{cidr_octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{cidr_octet}.10.0/24", "us-east-1b": f"10.{cidr_octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    for key, value in overrides.items():
        doc[key] = value
    path = tmp / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def status(info: dict[str, Any]) -> dict[str, Any]:
    with urllib.request.urlopen(f"{info['api']}/_chaoslab/status", timeout=5) as resp:
        return json.loads(resp.read())


def alb_url(info: dict[str, Any]) -> str:
    return status(info)["load_balancers"][0]["listeners"][0]


class RunningLab:
    def __init__(self, config: LabConfig, info: dict[str, Any]) -> None:
        self.config, self.info = config, info

    def status(self) -> dict[str, Any]:
        return status(self.info)

    @property
    def alb(self) -> str:
        return alb_url(self.info)

    def stop(self) -> None:
        stop_lab(self.config, quiet=True)
