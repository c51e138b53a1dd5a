"""A real detached lab for the fuzzer: private CHAOSLAB_HOME, free API and listener ports, a VPC
range no other lab on this host routes, and an ALB in front of one ECS task of the static app,
the target whose latency shows whether API abuse reaches the data plane."""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached, stop_lab
from chaoslab.timing import Timing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_vpc(rng: random.Random) -> tuple[str, dict[str, str]]:
    """A /16 in 10.128.0.0/9 that no host route covers (other engineers' labs may be running)."""
    routes = subprocess.run(["ip", "route", "show"], capture_output=True, text=True).stdout.splitlines()
    taken = []
    for line in routes:
        for word in line.split()[:2]:
            try:
                taken.append(ipaddress.IPv4Network(word, strict=False))
                break
            except ValueError:
                continue
    for _ in range(100):
        second = rng.randint(200, 254)
        cidr = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if not any(n.overlaps(cidr) for n in taken if n.prefixlen > 0):
            return str(cidr), {"us-east-1a": f"10.{second}.10.0/24", "us-east-1b": f"10.{second}.11.0/24"}
    raise RuntimeError("no free 10.x.0.0/16 on this host")


def fuzz_stack(alb_port: int) -> dict[str, Any]:
    cidr, subnets = free_vpc(random.Random())
    return {
        "name": "fuzz",
        "vpc": {"cidr": cidr, "subnets": subnets},
        "target_groups": [
            {
                "name": "fuzz-tg",
                "port": 8080,
                "target_type": "ip",
                "health_check": {
                    "path": "/health",
                    "interval": 5,
                    "timeout": 2,
                    "healthy_threshold": 2,
                    "unhealthy_threshold": 3,
                },
            }
        ],
        "load_balancers": [{"name": "fuzz-alb", "listeners": [{"port": alb_port, "target_group": "fuzz-tg"}]}],
        "ecs": {
            "clusters": ["fuzz"],
            "task_definitions": [
                {
                    "family": "fuzz-static",
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "cpu": "256",
                    "memory": "512",
                    "containerDefinitions": [
                        {
                            "name": "web",
                            "image": "chaoslab/static",
                            "essential": True,
                            "portMappings": [{"containerPort": 8080}],
                        }
                    ],
                }
            ],
            "services": [
                {
                    "name": "fuzz-static",
                    "cluster": "fuzz",
                    "task_definition": "fuzz-static",
                    "desired_count": 1,
                    "launch_type": "FARGATE",
                    "azs": ["us-east-1a"],
                    "load_balancer": {"target_group": "fuzz-tg", "container_name": "web", "container_port": 8080},
                }
            ],
        },
    }


@dataclass
class FuzzLab:
    config: LabConfig
    alb_port: int

    @property
    def endpoint(self) -> str:
        return self.config.endpoint_url

    @property
    def api_address(self) -> tuple[str, int]:
        return "127.0.0.1", self.config.api_port

    def alive(self) -> bool:
        """The API answers its status route and the ALB its static target."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_chaoslab/status", timeout=10) as resp:
                json.loads(resp.read())
            with urllib.request.urlopen(f"http://127.0.0.1:{self.alb_port}/", timeout=10) as resp:
                return json.loads(resp.read()).get("service") == "static"
        except (OSError, urllib.error.URLError, ValueError):
            return False


def start_fuzz_lab(home: Path) -> FuzzLab:
    home.mkdir(parents=True, exist_ok=True)
    alb_port = free_port()
    path = home / "stack.yaml"
    path.write_text(yaml.safe_dump(fuzz_stack(alb_port)))
    config = LabConfig(
        home=home, api_port=free_port(), timing=Timing("fast")
    )  # fuzzed failovers must not take AWS's minute
    start_detached(config, str(path), quiet=True)
    lab = FuzzLab(config, alb_port)
    deadline = time.monotonic() + 60
    while not lab.alive():
        if time.monotonic() > deadline:
            stop_lab(config, quiet=True)
            raise AssertionError(f"the fuzz lab's ALB never served its target; see {home / 'lab.log'}")
        time.sleep(0.5)
    return lab


def stop_fuzz_lab(lab: FuzzLab) -> None:
    stop_lab(lab.config, quiet=True)
