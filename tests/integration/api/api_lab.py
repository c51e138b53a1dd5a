"""A real detached lab for the client-compatibility tests: its own CHAOSLAB_HOME, a free API port
and a VPC range no other lab on this host routes, driven only through the AWS wire protocols
(boto3, the AWS CLI, Chaos Toolkit) as a user would. On the way down it proves that every
process, namespace, link and route it made is gone."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil
import yaml
from botocore.config import Config

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached, stop_lab
from chaoslab.services.rds.postgres import pg_root
from chaoslab.timing import Timing

AWS_CLI = str(Path(sys.executable).with_name("aws"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _host_routes() -> list[str]:
    return subprocess.run(["ip", "route", "show"], capture_output=True, text=True, check=True).stdout.splitlines()


def free_vpc() -> tuple[str, dict[str, str]]:
    """A /16 in 10.200-254 (the band of the shared-range test stream) that no route covers: other engineers' labs use 10.0.0.0/16."""
    nets = []
    for line in _host_routes():
        for word in line.split()[:2]:
            try:
                nets.append(ipaddress.IPv4Network(word, strict=False))
                break
            except ValueError:
                continue
    for _ in range(100):
        second = random.randint(200, 254)
        cidr = ipaddress.IPv4Network(f"10.{second}.0.0/16")
        if not any(n.overlaps(cidr) for n in nets if n.prefixlen > 0):
            return str(cidr), {"us-east-1a": f"10.{second}.10.0/24", "us-east-1b": f"10.{second}.11.0/24"}
    raise RuntimeError("no free 10.x.0.0/16 on this host")


def stack_doc(name: str = "apitest", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A stack with a VPC and whatever `extra` adds; everything else comes through the API."""
    cidr, subnets = free_vpc()
    return {"name": name, "vpc": {"cidr": cidr, "subnets": subnets}, **(extra or {})}


@dataclass
class LabHandle:
    """One running lab and the ways a user reaches it."""

    config: LabConfig
    info: dict[str, Any]
    cidr: str
    seen_units: set[str] = field(default_factory=set)
    seen_pids: set[int] = field(default_factory=set)

    @property
    def endpoint(self) -> str:
        return self.config.endpoint_url

    def env(self) -> dict[str, str]:
        """What a user exports for the AWS CLI / Chaos Toolkit; no profile file is read."""
        home = self.config.home / "awshome"
        home.mkdir(exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, **config: Any) -> Any:
        return boto3.session.Session().client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
        )

    def aws(self, *args: str, cwd: Path | None = None, check: bool = True) -> Any:
        """Run the real AWS CLI (JSON output); returns the parsed output, or the completed process
        when check=False so a test can read a failure's stderr."""
        proc = subprocess.run(
            [AWS_CLI, "--endpoint-url", self.endpoint, "--region", "us-east-1", "--output", "json", *args],
            env=self.env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if not check:
            return proc
        assert proc.returncode == 0, f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.endpoint}/_chaoslab/status", timeout=10) as resp:
            return json.loads(resp.read())

    def events(self, since: int = 0, kinds: str = "") -> list[dict[str, Any]]:
        query = f"since={since}" + (f"&kinds={kinds}" if kinds else "")
        with urllib.request.urlopen(f"{self.endpoint}/_chaoslab/events?{query}", timeout=10) as resp:
            body = json.loads(resp.read())
        return body["events"] if isinstance(body, dict) else body

    def remember_units(self) -> None:
        """Note the lab's processes and the namespaces on its VPC bridge now, so teardown can
        prove each one is gone (other labs on this host make namespaces too)."""
        lab = psutil.Process(int(self.info["pid"]))
        self.seen_pids |= {p.pid for p in lab.children(recursive=True)}
        for bridge in self._bridges():
            out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
            for line in out.splitlines():
                veth = line.split(": ")[1].split("@")[0]
                self.seen_units.add("cl-" + veth.removeprefix("clv-"))

    def _bridges(self) -> set[str]:
        net = ipaddress.IPv4Network(self.cidr)
        bridges = set()
        for line in _host_routes():
            words = line.split()
            try:
                if ipaddress.IPv4Network(words[0], strict=False).subnet_of(net) and "dev" in words:
                    bridges.add(words[words.index("dev") + 1])
            except (ValueError, IndexError):
                continue
        return bridges

    def leftovers(self) -> list[str]:
        """Everything of this lab still on the host after it stopped."""
        left = [f"process {pid}" for pid in self.seen_pids if _alive(pid)]
        marks = (str(self.config.home), str(pg_root(self.config.home)))
        for proc in psutil.process_iter(["pid", "cmdline"]):  # anything still naming our state dirs
            if any(m in arg for arg in proc.info["cmdline"] or [] for m in marks) and _alive(proc.info["pid"]):
                left.append(f"process {proc.info['pid']} {' '.join(proc.info['cmdline'])[:80]}")
        with open("/proc/self/mounts") as mounts:  # volume mounts (FUSE) under the state dir
            left += [f"mount {line.split()[1]}" for line in mounts if line.split()[1].startswith(marks[0])]
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        names = {line.split()[0] for line in netns.splitlines() if line.strip()}
        left += [f"netns {n}" for n in self.seen_units & names]
        net = ipaddress.IPv4Network(self.cidr)
        for line in _host_routes():
            try:
                if ipaddress.IPv4Network(
                    line.split()[1 if line.startswith("unreachable") else 0], strict=False
                ).subnet_of(net):
                    left.append(f"route {line}")
            except (ValueError, IndexError):
                continue
        return left


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_lab(home: Path, doc: dict[str, Any], fast: bool = True) -> LabHandle:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "stack.yaml"
    path.write_text(yaml.safe_dump(doc))
    config = LabConfig(home=home, api_port=free_port())
    config.timing = Timing("fast")  # no AWS delays in API tests, even those that want full health checks
    info = start_detached(config, str(path), fast=fast, quiet=True)
    return LabHandle(config, info, doc["vpc"]["cidr"])


def stop_and_check(lab: LabHandle) -> None:
    lab.remember_units()
    stop_lab(lab.config, quiet=True)  # it reaps the lab, which is this process's child
    left = lab.leftovers()
    assert not left, f"the lab left behind: {left}"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
