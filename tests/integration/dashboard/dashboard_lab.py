"""A private copy of the bundled stack for dashboard tests: random 10.x VPC, listener port 0."""

from __future__ import annotations

import random
from typing import Any

import yaml

from chaoslab.stack import resolve_stack_path


def private_stack(octet: int | None = None) -> dict[str, Any]:
    octet = octet if octet is not None else random.randint(200, 249)
    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    return doc
