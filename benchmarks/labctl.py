"""A private detached lab for benchmarks: own CHAOSLAB_HOME, free API port, listener port 0 and a
VPC range (10.60.0.0/16) no other engineer's tests use; plus boto3 clients and the event stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from common import free_port

REGION, ACCOUNT = "us-east-1", "123456789012"


def bench_stack(tmp: Path, *, octet: int = 60, ecs: bool = False) -> Path:
    """The bundled default stack on 10.<octet>.0.0/16 with a free listener port; with `ecs`, also a
    one-task ECS service of the static app (the target of the ECS task faults)."""
    from chaoslab.stack import resolve_stack_path

    doc = yaml.safe_load(resolve_stack_path("default").read_text())
    doc["vpc"] = {
        "cidr": f"10.{octet}.0.0/16",
        "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
    }
    doc["load_balancers"][0]["listeners"][0]["port"] = 0
    if ecs:
        doc["ecs"] = {
            "clusters": ["bench"],
            "task_definitions": [
                {
                    "family": "bench-static",
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
                    "name": "bench-static",
                    "cluster": "bench",
                    "task_definition": "bench-static",
                    "desired_count": 1,
                    "launch_type": "FARGATE",
                    "azs": ["us-east-1a"],
                }
            ],
        }
    path = tmp / f"bench-stack-{octet}{'-ecs' if ecs else ''}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class BenchLab:
    """`chaoslab up --detach` / `chaoslab down` through the real CLI, in a private state dir."""

    def __init__(self, home: Path, stack: Path) -> None:
        self.home, self.stack = home, stack
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.env = {
            **os.environ,
            "CHAOSLAB_HOME": str(home),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
        }

    def cli(self, *args: str, timeout: float = 180) -> float:
        """Run `chaoslab <args>`; return its wall time; raise with its output if it failed."""
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "chaoslab", *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        elapsed = time.perf_counter() - start
        if out.returncode != 0:
            raise RuntimeError(f"chaoslab {' '.join(args)} failed: {out.stdout[-2000:]}{out.stderr[-2000:]}")
        return elapsed

    def up(self, fast: bool = False) -> float:
        return self.cli(
            "up", "--detach", *(["--fast"] if fast else []), "--api-port", str(self.api_port), str(self.stack)
        )

    def down(self) -> float:
        return self.cli("down")

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=10) as resp:
            return json.loads(resp.read())

    def status(self) -> dict[str, Any]:
        return self.get("/_chaoslab/status")

    def events(self, since: int = 0, kinds: str = "") -> list[dict[str, Any]]:
        return self.get(f"/_chaoslab/events?since={since}" + (f"&kinds={kinds}" if kinds else ""))["events"]

    def last_seq(self) -> int:
        events = self.events()
        return events[-1]["seq"] if events else 0

    def client(self, service: str, **creds: str) -> Any:
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(
            region_name=REGION,
            aws_access_key_id=creds.get("key", "test"),
            aws_secret_access_key=creds.get("secret", "test"),
            aws_session_token=creds.get("token"),
        )
        return session.client(
            service, endpoint_url=self.api, config=Config(retries={"max_attempts": 1, "mode": "standard"})
        )
