"""The realistic mode without root: `chaoslab up --network userns` puts the lab in a user namespace
of its own, builds the VPC inside it, and still serves its API, ALB and DB endpoint on the host's
loopback. Run here as root (CI is root), the lab takes exactly the path an ordinary user's lab
takes: it re-runs itself under `unshare --user --map-root-user`, PostgreSQL runs in a nested user
namespace as a non-root uid, and the host's own routes and links are never touched."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pg8000.native
import psutil
import pytest
from lab_helpers import RunningLab, free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import running_lab, start_detached
from chaoslab.store import Store
from realistic import needs_realistic_mode

pytestmark = needs_realistic_mode
CIDR_OCTET = 94


@pytest.fixture(scope="module")
def userns_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    tmp = tmp_path_factory.mktemp("userns")
    config = LabConfig(home=tmp / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp, CIDR_OCTET)), fast=True, network="userns", quiet=True)
    lab = RunningLab(config, info)
    yield lab
    lab.stop()


def _get(url: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    return (time.perf_counter() - started) * 1000, body


def _ms_by_instance(alb: str, n: int = 24) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    for _ in range(n):
        ms, body = _get(alb + "/")
        samples.setdefault(body.get("instance_id", "?"), []).append(ms)
    return {k: statistics.median(v) for k, v in samples.items()}


def test_lab_serves_the_host_from_its_own_namespace(userns_lab: RunningLab) -> None:
    st = userns_lab.status()
    assert st["network_mode"] == "userns"
    seen = {_get(userns_lab.alb + "/")[1]["availability_zone"] for _ in range(6)}
    assert seen == {"us-east-1a", "us-east-1b"}
    # Everything the lab listens on for the host is in the host's own socket table, owned by the
    # lab: the API, the ALB listener and the DB endpoints (writer and reader) on 127.0.0.1. The
    # ALB's listening socket is shared with its worker processes, so it may be listed under one.
    lab = psutil.Process(userns_lab.info["pid"])
    ours = {lab.pid} | {
        p.pid for p in lab.children(recursive=True) if "chaoslab.net.albworker" in " ".join(p.cmdline())
    }
    listening = {
        c.laddr.port
        for c in psutil.net_connections("tcp")
        if c.pid in ours and c.status == psutil.CONN_LISTEN and c.laddr.ip == "127.0.0.1"
    }
    alb_port = int(userns_lab.alb.rsplit(":", 1)[1])
    db_ports = listening - {userns_lab.config.api_port, alb_port}
    assert {userns_lab.config.api_port, alb_port} <= listening and len(db_ports) == 2
    counts = []
    for port in db_ports:
        conn = pg8000.native.Connection(
            "chaosadmin", password="chaos-lab-secret", host="127.0.0.1", port=port, database="chaosshop", timeout=5
        )
        try:
            counts.append(conn.run("SELECT count(*) FROM products")[0][0])
        finally:
            conn.close()
    assert counts == [10, 10]


def test_the_host_network_is_untouched(userns_lab: RunningLab) -> None:
    """Nothing of this lab's VPC on the host: no route, and no interface holding one of its
    addresses (a bridge or veth the lab made would). Other labs on the host (root ones make
    clb-/clv- links of their own) are none of this test's business."""
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
    assert f"10.{CIDR_OCTET}." not in routes
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert f" 10.{CIDR_OCTET}." not in addresses


def test_postgres_runs_as_a_non_root_uid_inside_its_namespace(userns_lab: RunningLab) -> None:
    lab_pid = userns_lab.info["pid"]
    postmasters = [p for p in psutil.Process(lab_pid).children() if p.name() == "postgres"]
    assert postmasters
    for proc in postmasters:
        with open(f"/proc/{proc.pid}/uid_map") as f:
            inner, _outer, count = f.readline().split()
        assert inner != "0" and count == "1"


def test_network_latency_fault_applies_and_reverts(userns_lab: RunningLab) -> None:
    ssm = boto3.client(
        "ssm",
        endpoint_url=userns_lab.info["api"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    victim = sorted(i["id"] for i in userns_lab.status()["instances"] if i["state"] == "running")[0]
    before = _ms_by_instance(userns_lab.alb)
    command = ssm.send_command(
        DocumentName="AWSFIS-Run-Network-Latency",
        InstanceIds=[victim],
        Parameters={"DurationSeconds": ["60"], "DelayMilliseconds": ["200"]},
    )
    command_id = command["Command"]["CommandId"]
    deadline = time.monotonic() + 10
    during = _ms_by_instance(userns_lab.alb)
    while during.get(victim, 0) < before[victim] + 150 and time.monotonic() < deadline:
        time.sleep(0.3)
        during = _ms_by_instance(userns_lab.alb)
    ssm.cancel_command(CommandId=command_id)
    after = _ms_by_instance(userns_lab.alb)
    assert during[victim] >= before[victim] + 150, (before, during)
    assert after[victim] < before[victim] + 50, (before, after)
    assert Store(userns_lab.config.home / "state.db").journal_pending() == []


def test_exec_enters_a_task_inside_the_labs_namespace(userns_lab: RunningLab) -> None:
    """`chaoslab exec` reaches a task whose namespace lives in the lab's user namespace."""
    ecs = boto3.client(
        "ecs",
        endpoint_url=userns_lab.info["api"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    ecs.create_cluster(clusterName="exec")
    web = {"name": "web", "image": "chaoslab/static", "portMappings": [{"containerPort": 8084}]}
    ecs.register_task_definition(family="exec", networkMode="awsvpc", containerDefinitions=[web])
    arn = ecs.run_task(cluster="exec", taskDefinition="exec")["tasks"][0]["taskArn"]
    deadline = time.monotonic() + 30
    while (task := ecs.describe_tasks(cluster="exec", tasks=[arn])["tasks"][0])["lastStatus"] != "RUNNING":
        assert time.monotonic() < deadline, "the task did not reach RUNNING"
        time.sleep(0.2)
    ip = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
    env = {**os.environ, "CHAOSLAB_HOME": str(userns_lab.config.home)}
    cli = [sys.executable, "-m", "chaoslab", "exec", arn, "--", "hostname", "-I"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.split()) == (0, [ip]), done.stderr
    ecs.stop_task(cluster="exec", task=arn)


def test_down_leaves_no_process(tmp_path) -> None:
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, CIDR_OCTET + 1)), fast=True, network="userns", quiet=True)
    lab = psutil.Process(info["pid"])
    tree = [lab.pid, info["launcher"], *(p.pid for p in lab.children(recursive=True))]
    RunningLab(config, info).stop()
    assert running_lab(config) is None
    alive = [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes of the lab survived down: {alive}"


def test_a_killed_userns_lab_is_cleaned_up_from_the_host(tmp_path) -> None:
    """SIGKILL of the lab: its launcher exits with it, and `down` (run on the host, outside the
    dead lab's namespace) kills what was left; the VPC never appeared on the host."""
    config = LabConfig(home=tmp_path / "home", api_port=free_port())
    info = start_detached(config, str(lab_stack(tmp_path, CIDR_OCTET + 2)), fast=True, network="userns", quiet=True)
    lab = psutil.Process(info["pid"])
    tree = [p.pid for p in lab.children(recursive=True)]
    lab.kill()
    lab.wait(5)
    psutil.Process(info["launcher"]).wait(5)
    out = subprocess.run(
        [sys.executable, "-m", "chaoslab", "down"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CHAOSLAB_HOME": str(config.home)},
    )
    assert out.returncode == 0, out.stderr
    alive = [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"processes of the killed lab survived down: {alive}"
    assert f"10.{CIDR_OCTET + 2}." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
