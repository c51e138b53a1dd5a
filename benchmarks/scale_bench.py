"""Section "scale": what each unit (an ECS task: a real process tree in its own network namespace)
costs the lab, at 2, 8, 32 and 64 units of the static app and of the Chaos Shop.

One private lab per app (`chaoslab up --fast`, its own VPC range): an ECS service behind the ALB,
scaled 0 → N → 0 with UpdateService for each size. At each size: time to ready (UpdateService →
every target healthy in DescribeTargetHealth), the lab daemon's RSS, the units' own process trees
(RSS and PSS, psutil), open file descriptors (daemon + units), CPU at idle, ALB throughput across
all targets, boto3 p50 of the describe calls a controller polls, and the onset of a CPU stress
on every unit at once (StartExperiment → a stress worker running in each task).
"""

from __future__ import annotations

import contextlib
import http.client
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import yaml
from common import Row, fmt, load, load_tool, pct
from faults_bench import Fis
from labctl import BenchLab

SIZES = (2, 8, 32, 64)
MiB = 1024 * 1024
CLUSTER, SERVICE, GROUP = "scale", "scale-web", "scale-tg"
# The app in each unit: the static responder, and the Chaos Shop on one gunicorn worker (its
# PostgreSQL cluster comes with it). Both run as the task's one container.
APPS = {
    "static": {"image": "chaoslab/static", "database": False},
    "chaos-shop": {"image": "chaoslab/chaos-shop", "database": True},
}


def scale_stack(tmp: Path, app: str, octet: int) -> Path:
    """A VPC on 10.<octet>.0.0/16, an ALB (free port) → an ip target group → an ECS service of
    `app` with no tasks yet; the Chaos Shop also gets its database."""
    spec = APPS[app]
    service: dict[str, Any] = {
        "name": SERVICE,
        "cluster": CLUSTER,
        "task_definition": "scale-app",
        "desired_count": 0,
        "launch_type": "FARGATE",
        "load_balancer": {"target_group": GROUP, "container_name": "web", "container_port": 80},
        "health_check_grace_period": 60,
    }
    doc: dict[str, Any] = {
        "name": f"scale-{app}",
        "vpc": {
            "cidr": f"10.{octet}.0.0/16",
            "subnets": {"us-east-1a": f"10.{octet}.10.0/24", "us-east-1b": f"10.{octet}.11.0/24"},
        },
        "target_groups": [
            {
                "name": GROUP,
                "port": 80,
                "target_type": "ip",
                "health_check": {
                    "path": "/health",
                    "interval": 10,
                    "timeout": 5,
                    "healthy_threshold": 2,
                    "unhealthy_threshold": 3,
                    "matcher": "200",
                },
                # scaled back to zero between sizes: nothing to drain
                "attributes": {"deregistration_delay.timeout_seconds": 0},
            }
        ],
        "load_balancers": [{"name": "scale-alb", "listeners": [{"port": 0, "target_group": GROUP}]}],
        "ecs": {
            "clusters": [CLUSTER],
            "task_definitions": [
                {
                    "family": "scale-app",
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "cpu": "256",
                    "memory": "512",
                    "containerDefinitions": [
                        {
                            "name": "web",
                            "image": spec["image"],
                            "essential": True,
                            "portMappings": [{"containerPort": 80}],
                            "environment": [{"name": "WORKERS", "value": "1"}],
                        }
                    ],
                }
            ],
            "services": [service],
        },
    }
    if spec["database"]:
        doc["database"] = {
            "cluster": "scale-db",
            "engine": "aurora-postgresql",
            "database": "chaosshop",
            "username": "chaosadmin",
            "password": "chaos-lab-secret",
            "instances": [{"id": "scale-db-1", "az": "us-east-1a"}],
        }
        service["database"] = "scale-db"
    path = tmp / f"scale-{app}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@dataclass
class Size:
    """The figures of one app at one size."""

    units: int
    ready_s: float
    daemon_rss: float = 0.0  # MiB
    unit_rss: float = 0.0  # MiB per unit, its own process tree
    unit_pss: float = 0.0  # MiB per unit, shared pages split between the processes sharing them
    fds: int = 0
    daemon_fds: int = 0
    idle_cpu: dict[str, float] = field(default_factory=dict)  # % of one core: daemon, units
    rps: float | None = None
    api_p50: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # ms: lab, boto3, round trip
    onset_ms: float | None = None
    note: str = ""


class Fleet:
    """The bench lab of one app, seen from outside: boto3 clients and the processes it runs."""

    def __init__(self, lab: BenchLab) -> None:
        self.lab = lab
        self.ecs, self.elbv2, self.ec2 = lab.client("ecs"), lab.client("elbv2"), lab.client("ec2")
        self.tg_arn = self.elbv2.describe_target_groups(Names=[GROUP])["TargetGroups"][0]["TargetGroupArn"]
        status = lab.status()
        self.daemon = psutil.Process(int(status["pid"]))
        self.alb = status["load_balancers"][0]["listeners"][0]  # http://host:port

    def healthy(self) -> int:
        health = self.elbv2.describe_target_health(TargetGroupArn=self.tg_arn)["TargetHealthDescriptions"]
        return sum(d["TargetHealth"]["State"] == "healthy" for d in health)

    def scale(self, units: int, timeout: float = 180) -> float:
        """UpdateService to `units` tasks; seconds until exactly that many targets are healthy
        (for 0: until no task of the service is left at all)."""
        start = time.perf_counter()
        self.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=units)
        deadline = start + timeout
        while time.perf_counter() < deadline:
            if units == 0:
                if not self.task_ids(desired="STOPPED") and not self.task_ids():
                    return time.perf_counter() - start
            elif self.healthy() == units:
                return time.perf_counter() - start
            time.sleep(0.05)
        states = sorted((t["state"], t["desired"]) for t in self.lab.status()["tasks"] if t["service"] == SERVICE)
        raise TimeoutError(f"{units} units not ready in {timeout:.0f} s: {self.healthy()} healthy, tasks {states}")

    def task_ids(self, desired: str = "RUNNING") -> list[str]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE, desiredStatus=desired)["taskArns"]
        if desired == "STOPPED":  # stopped ones stay listed a while; only those still tearing down count
            described = self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"] if arns else []
            return [t["taskArn"].rsplit("/", 1)[-1] for t in described if t["lastStatus"] != "STOPPED"]
        return [a.rsplit("/", 1)[-1] for a in arns]

    def units(self) -> dict[str, list[psutil.Process]]:
        """Each running task's process tree (its leader is a child of the daemon with the task's
        id as INSTANCE_ID), fault helpers included."""
        ids = set(self.task_ids())
        out: dict[str, list[psutil.Process]] = {}
        for child in self.daemon.children():
            with contextlib.suppress(psutil.Error):
                unit = child.environ().get("INSTANCE_ID")
                if unit in ids:
                    out.setdefault(unit, []).extend([child, *child.children(recursive=True)])
        return out


def _mib(procs: list[psutil.Process], what: Callable[[psutil.Process], int]) -> float:
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += what(p)
    return total / MiB


def _fds(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.num_fds()
    return total


def _cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def idle_cpu(fleet: Fleet, units: dict[str, list[psutil.Process]], seconds: float) -> dict[str, float]:
    """CPU in percent of one core over `seconds` of idling (health checks, metrics, the
    scheduler): the daemon's, and the units' per unit."""
    everyone = [p for tree in units.values() for p in tree]
    d0, u0, t0 = _cpu_seconds([fleet.daemon]), _cpu_seconds(everyone), time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - t0
    d1, u1 = _cpu_seconds([fleet.daemon]), _cpu_seconds(everyone)
    return {
        "daemon": (d1 - d0) / elapsed * 100,
        "unit": (u1 - u0) / elapsed * 100 / max(1, len(units)),
    }


class Stopwatch:
    """The HTTP round trip inside a boto3 call (request sent → response read, before botocore
    parses it), and the signed request it sent, to replay."""

    def __init__(self, *clients: Any) -> None:
        self.sent = self.read = 0.0
        self.request: Any = None
        for client in clients:
            client.meta.events.register("before-send", self._sent)
            client.meta.events.register("before-parse", self._read)

    def _sent(self, request: Any, **_: Any) -> None:
        self.request = request
        self.sent = time.perf_counter()

    def _read(self, **_: Any) -> None:
        self.read = time.perf_counter()

    def round_trip_ms(self) -> float:
        return (self.read - self.sent) * 1000


def replay_ms(request: Any, calls: int) -> list[float]:
    """The lab's own answer time: the signed request boto3 sent, sent again `calls` times on one
    keep-alive connection by a plain HTTP client, the whole reply read (no signing, no parsing).
    A SigV4 signature stays valid for minutes, as on AWS."""
    url = urlsplit(request.url)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = dict(request.headers.items())
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    out = []
    try:
        for _ in range(calls):
            start = time.perf_counter()
            conn.request(request.method, path, body=request.body, headers=headers)
            reply = conn.getresponse()
            reply.read()
            out.append((time.perf_counter() - start) * 1000)
            if reply.status != 200:
                raise RuntimeError(f"replayed {request.method} {path}: HTTP {reply.status}")
    finally:
        conn.close()
    return out


def api_p50(fleet: Fleet, calls: int) -> dict[str, tuple[float, float, float]]:
    """p50 (ms) of the describe calls a controller polls, at the current size: the lab's answer
    (`replay_ms`), the boto3 call, and the HTTP round trip inside that call (the rest of the
    call is botocore signing and parsing, which a client pays against AWS as well)."""
    arns = fleet.ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"][:100]
    watch = Stopwatch(fleet.ecs, fleet.ec2, fleet.elbv2)
    named: dict[str, Callable[[], Any]] = {
        "DescribeTasks": lambda: fleet.ecs.describe_tasks(cluster=CLUSTER, tasks=arns),
        "DescribeInstances": fleet.ec2.describe_instances,
        "DescribeTargetHealth": lambda: fleet.elbv2.describe_target_health(TargetGroupArn=fleet.tg_arn),
    }
    out = {}
    for name, call in named.items():
        call()  # connection set-up and model loading are not the call's cost
        ms, wire = [], []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            ms.append((time.perf_counter() - start) * 1000)
            wire.append(watch.round_trip_ms())
        lab = replay_ms(watch.request, calls)
        out[name] = (pct(lab, 0.5), pct(ms, 0.5), pct(wire, 0.5))
    return out


def stressed(ids: list[str]) -> set[str]:
    """The tasks among `ids` whose stress load is on: a worker of theirs is running and its
    directory holds the go file the lab writes once every unit's workers are armed (a worker
    polls for it every 20 ms). One scan of the process table."""
    out = set()
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or []).split()  # a forked worker's title is one string
        if "--dir" in cmd and any("chaoslab.faults.worker" in part for part in cmd):
            workdir = Path(cmd[cmd.index("--dir") + 1])
            if (workdir / "go").exists():
                out.update(task for task in ids if task in str(workdir))
    return out


def onset_ms(fleet: Fleet, fis: Fis, template: str, units: int) -> float:
    """StartExperiment → the CPU stress on in every task; then stopped and awaited."""
    ids = fleet.task_ids()
    exp_id, t0 = fis.start(template)
    try:
        deadline, asked = time.time() + 60, time.time()
        while time.time() < deadline:
            if len(stressed(ids)) == len(ids):
                return (time.time() - t0) * 1000
            time.sleep(0.01)
            if time.time() - asked > 1.0:  # an experiment that failed never turns the load on
                asked = time.time()
                state = fis.fis.get_experiment(id=exp_id)["experiment"]["state"]
                if state["status"] not in ("initiating", "pending", "running"):
                    raise RuntimeError(f"the stress experiment ended {state['status']}: {state.get('reason')}")
        raise TimeoutError(f"stress not on all {units} units within 60 s")
    finally:
        with contextlib.suppress(Exception):  # it may have ended on its own (failed)
            fis.stop(exp_id)
        fis.wait_end(exp_id, timeout=180)


def measure_size(fleet: Fleet, fis: Fis, template: str, units: int, quick: bool) -> Size:
    size = Size(units, fleet.scale(units))
    time.sleep(1.0)  # the first health checks and metric flushes after start are not idling
    trees = fleet.units()
    everyone = [p for tree in trees.values() for p in tree]
    size.daemon_rss = _mib([fleet.daemon], lambda p: p.memory_info().rss)
    size.unit_rss = _mib(everyone, lambda p: p.memory_info().rss) / max(1, len(trees))
    size.unit_pss = _mib(everyone, lambda p: p.memory_full_info().pss) / max(1, len(trees))
    size.fds = _fds([fleet.daemon, *everyone])
    size.daemon_fds = _fds([fleet.daemon])
    size.idle_cpu = idle_cpu(fleet, trees, 2.0 if quick else 5.0)
    if len(trees) != units:
        size.note = f"found {len(trees)} unit process trees for {units} tasks"
    size.rps = load(f"{fleet.alb}/health", connections=64, seconds=2.0 if quick else 5.0)["rps"]
    size.api_p50 = api_p50(fleet, 30 if quick else 100)
    try:  # a failed experiment must not lose the size's other figures
        size.onset_ms = onset_ms(fleet, fis, template, units)
    except (RuntimeError, TimeoutError) as exc:
        size.note = "; ".join(filter(None, [size.note, f"{units} units: no onset ({exc})"]))
    fleet.scale(0)
    return size


def stress_template(fis: Fis) -> str:
    """CPU stress (one worker at 10 % of a core) on every task of the service at once."""
    return fis.template(
        {
            "Tasks": {
                "resourceType": "aws:ecs:task",
                "selectionMode": "ALL",
                "parameters": {"cluster": CLUSTER, "service": SERVICE},
            }
        },
        {
            "stress": {
                "actionId": "aws:ecs:task-cpu-stress",
                "targets": {"Tasks": "Tasks"},
                "parameters": {"duration": "PT1M", "percent": "10", "workers": "1"},
            }
        },
    )


@contextlib.contextmanager
def app_lab(tmp: Path, app: str) -> Iterator[BenchLab]:
    from chaoslab.runtime.network import unused_vpc_octet

    lab = BenchLab(tmp / f"scale-{app}-home", scale_stack(tmp, app, unused_vpc_octet(63)))
    lab.up(fast=True)
    try:
        yield lab
    finally:
        lab.down()


def measure_app(tmp: Path, app: str, sizes: tuple[int, ...], quick: bool) -> tuple[float, list[Size]]:
    """The daemon's RSS with no unit, then every size, one after another."""
    with app_lab(tmp, app) as lab:
        fleet = Fleet(lab)
        fis = Fis(lab)
        template = stress_template(fis)
        base_rss = _mib([fleet.daemon], lambda p: p.memory_info().rss)
        out = []
        for units in sizes:
            print(f"[bench] scale: {app} × {units} ...", flush=True)
            out.append(measure_size(fleet, fis, template, units, quick))
            print(f"[bench] scale: {out[-1]}", flush=True)
        return base_rss, out


def app_rows(app: str, base_rss: float, sizes: list[Size]) -> list[Row]:
    """One row per measure, its figure at the largest size, every size in its note."""
    sec = f"scale: {app}"
    top = sizes[-1]
    n = top.units

    def by_size(value: Callable[[Size], float | None], unit: str) -> str:
        return "by size: " + ", ".join(f"{s.units}: {fmt(value(s))}" for s in sizes) + f" {unit}"

    def target(t: float, units: int = 64) -> float | None:
        return t if n >= units else None

    growth = [(s.daemon_rss - base_rss) / s.units for s in sizes]
    per_unit = top.unit_rss + growth[-1]
    rows = [
        Row(
            sec,
            f"{n} units: UpdateService → all targets healthy",
            top.ready_s,
            "s",
            target=target(15.0) if app == "static" else None,
            note=by_size(lambda s: s.ready_s, "s"),
        ),
        Row(
            sec,
            f"{n} units: lab daemon RSS",
            top.daemon_rss,
            "MiB",
            note=f"{fmt(base_rss)} MiB with no unit; growth per unit "
            + ", ".join(f"{s.units}: {fmt(g)}" for s, g in zip(sizes, growth, strict=True))
            + " MiB",
        ),
        Row(
            sec,
            f"{n} units: RSS per unit (its processes' RSS summed + the daemon's growth)",
            per_unit,
            "MiB",
            target=target(25.0),
            note="counts twice the pages gunicorn's forked worker shares with its arbiter; "
            + by_size(lambda s: s.unit_rss, "MiB of the unit's own processes"),
        ),
        Row(
            sec,
            f"{n} units: memory per unit (its processes' PSS + the daemon's growth)",
            top.unit_pss + growth[-1],
            "MiB",
            target=target(25.0),
            note="shared pages split between their sharers: what the unit adds to the host; "
            + by_size(lambda s: s.unit_pss, "MiB PSS of the unit's own processes"),
        ),
        Row(
            sec,
            f"{n} units: open file descriptors (daemon + units)",
            float(top.fds),
            "fds",
            note=f"the daemon's own {top.daemon_fds}; " + by_size(lambda s: float(s.fds), "in all"),
        ),
        Row(
            sec,
            f"{n} units: CPU at idle per unit (its processes + the daemon's share)",
            top.idle_cpu["unit"] + top.idle_cpu["daemon"] / n,
            "% of a core",
            note=f"daemon {fmt(top.idle_cpu['daemon'])} % in all; "
            + by_size(lambda s: s.idle_cpu["unit"], "% per unit, its own processes"),
        ),
        Row(
            sec,
            f"{n} units: ALB throughput across all targets, 64 conns",
            top.rps,
            "req/s",
            note=f"GET /health, {load_tool()}; " + by_size(lambda s: s.rps, "req/s"),
        ),
    ]
    for call, (lab, p50, wire) in top.api_p50.items():
        rows.append(
            Row(
                sec,
                f"{n} units: {call} p50, the lab's answer (plain HTTP client, signed request replayed)",
                lab,
                "ms",
                target=target(5.0),
                note=by_size(lambda s, c=call: s.api_p50[c][0], "ms")
                + ("; no EC2 instance in this lab: the call's floor" if call == "DescribeInstances" else ""),
            )
        )
        rows.append(
            Row(
                sec,
                f"{n} units: {call} p50 through boto3",
                p50,
                "ms",
                note=f"HTTP round trip inside the call p50 {fmt(wire)} ms; the rest is botocore's signing and "
                "its parse of the reply, the client's cost against AWS too; "
                + by_size(lambda s, c=call: s.api_p50[c][1], "ms"),
            )
        )
    rows.append(
        Row(
            sec,
            f"{n} units: CPU stress on all at once, StartExperiment → load on in every unit",
            top.onset_ms,
            "ms",
            target=target(500.0),
            note=by_size(lambda s: s.onset_ms, "ms"),
        )
    )
    notes = "; ".join(s.note for s in sizes if s.note)
    if notes:
        rows[0].note += f"; {notes}"
    return rows


def scale_rows(tmp: Path, quick: bool, apps: tuple[str, ...] = tuple(APPS)) -> list[Row]:
    rows: list[Row] = []
    for app in apps:
        base_rss, sizes = measure_app(tmp, app, SIZES, quick)
        rows += app_rows(app, base_rss, sizes)
    return rows


if __name__ == "__main__":  # one app on its own, for profiling: scale_bench.py [APP] [SIZE…]
    import sys
    import tempfile

    from common import exit_cleanly_on_sigterm
    from run import render

    exit_cleanly_on_sigterm()
    app = sys.argv[1] if len(sys.argv) > 1 else "static"
    sizes = tuple(int(a) for a in sys.argv[2:]) or SIZES
    with tempfile.TemporaryDirectory(prefix="chaoslab-scale-") as tmp:
        base, measured = measure_app(Path(tmp), app, sizes, quick=True)
        print(render(app_rows(app, base, measured)))
