"""The lab's recoveries under the `aws` timing profile against AWS's documented figures.

    .venv/bin/python benchmarks/timing.py [--time-scale N]

Starts a private lab (the Chaos Shop plus a one-task ECS service) with `chaoslab up --time-scale N`
(default 5) and the default `aws` profile, then launches two instances and two ECS tasks through
the API, fails the Aurora-like cluster over three times while a client reconnects through the
writer endpoint, and reboots the reader twice. Each measured duration is converted back to scenario
time (× N) and printed beside the profile's range and median (docs/timing.md names the sources), with the ratio
measured / median. Process start-up and PostgreSQL promotion are real and do not scale, so at
N they add N × their wall seconds to a measurement; the "lab drew" column shows what the profile
asked for. Takes under two minutes; do not run it beside a test suite.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pg8000.native
from common import median
from labctl import BenchLab, bench_stack

from chaoslab.timing import AWS, Timing

OCTET = 66  # 10.66.0.0/16: outside the ranges the test streams use


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _transitions(lab: BenchLab, since: int, unit_id: str, states: list[str]) -> dict[str, float]:
    """Wall time of each state of one unit, from the lab's event stream."""
    seen: dict[str, float] = {}
    for e in lab.events(since, "unit.state"):
        if e["unit_id"] == unit_id and e["state"] in states and e["state"] not in seen:
            seen[e["state"]] = e["time"]
    return seen


def launch_instances(lab: BenchLab, since: int, count: int) -> list[float]:
    ec2 = lab.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId="chaoslab/static", MinCount=count, MaxCount=count, SubnetId=subnet)[
            "Instances"
        ]
    ]
    took = []
    for iid in ids:
        seen = _wait(
            f"{iid} running",
            lambda iid=iid: (t := _transitions(lab, since, iid, ["pending", "running"])).get("running") and t,
            240,
        )
        took.append(seen["running"] - seen["pending"])
    return took


def run_tasks(lab: BenchLab, since: int, count: int) -> dict[str, list[float]]:
    ecs = lab.client("ecs")
    subnet = lab.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]
    tasks = ecs.run_task(
        cluster="bench",
        taskDefinition="bench-static",
        count=count,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}},
    )["tasks"]
    out: dict[str, list[float]] = {"provisioning": [], "pull": [], "total": []}
    states = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"]
    for task in tasks:
        tid = task["taskArn"].rsplit("/", 1)[-1]
        seen = _wait(
            f"task {tid} RUNNING",
            lambda tid=tid: (t := _transitions(lab, since, tid, states)).get("RUNNING") and t,
            240,
        )
        out["provisioning"].append(seen["PENDING"] - seen["PROVISIONING"])
        out["pull"].append(seen["ACTIVATING"] - seen["PENDING"])
        out["total"].append(seen["RUNNING"] - seen["PROVISIONING"])
    return out


class EndpointWatch:
    """A client that connects anew through the writer endpoint for every query, as one that
    re-resolves the DNS name would: which server answered, and when."""

    def __init__(self, port: int, user: str, password: str, database: str) -> None:
        self.args = {"user": user, "password": password, "database": database, "host": "127.0.0.1", "port": port}
        self.samples: list[tuple[float, int | None]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.time()
            try:
                conn = pg8000.native.Connection(**self.args, timeout=2)
                port = int(conn.run("SELECT current_setting('port')")[0][0])
                conn.close()
            except Exception:
                port = None
            self.samples.append((t, port))
            time.sleep(0.02)


def _available(lab: BenchLab, cluster: str) -> None:
    rds = lab.client("rds")

    def ready() -> bool:
        members = rds.describe_db_instances(Filters=[{"Name": "db-cluster-id", "Values": [cluster]}])["DBInstances"]
        status = rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"]
        return status == "available" and all(m["DBInstanceStatus"] == "available" for m in members)

    _wait(f"{cluster} and its instances available", ready, 240)


def failover(lab: BenchLab, since: int, db: dict[str, Any]) -> dict[str, float]:
    _available(lab, db["cluster"])
    rds = lab.client("rds")
    watch = EndpointWatch(db["port"], "chaosadmin", "chaos-lab-secret", "chaosshop")
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    _wait("a first answer through the writer endpoint", lambda: any(p for _, p in watch.samples), 30)
    old_port = next(p for _, p in reversed(watch.samples) if p)
    rds.failover_db_cluster(DBClusterIdentifier=db["cluster"])
    event = _wait("db.failover", lambda: lab.events(since, "db.failover"), 240)[0]
    flip = event["started"] + event["write_unavailable_s"]
    _wait("the new writer through the endpoint", lambda: any(p not in (None, old_port) for _, p in watch.samples), 60)
    watch.stop.set()
    thread.join()
    first_new = min(t for t, p in watch.samples if p not in (None, old_port))
    return {
        "write_unavailable": event["write_unavailable_s"],
        "drawn": event["drawn_write_unavailable_s"],
        "stale": first_new - flip,
    }


def reboot_reader(lab: BenchLab, since: int, db: dict[str, Any]) -> dict[str, float]:
    _available(lab, db["cluster"])
    rds = lab.client("rds")
    members = rds.describe_db_clusters(DBClusterIdentifier=db["cluster"])["DBClusters"][0]["DBClusterMembers"]
    reader = next(m["DBInstanceIdentifier"] for m in members if not m["IsClusterWriter"])
    rds.reboot_db_instance(DBInstanceIdentifier=reader)
    event = _wait("db.reboot", lambda: lab.events(since, "db.reboot"), 240)[0]
    return {"unavailable": event["unavailable_s"], "drawn": event["drawn_unavailable_s"]}


def table(rows: list[tuple[str, list[float], float | None, float, float, float]], scale: float) -> str:
    head = f"| delay | AWS low–high (median) | lab drew (median) | lab measured (× {scale:g}, median) | measured / AWS median |"
    lines = [head, "|---|---|---|---|---|"]
    for name, measured, drew, low, high, med in rows:
        m = median(measured)
        drew_text = "—" if drew is None else f"{drew:.1f} s"
        lines.append(
            f"| `{name}` | {low:g}–{high:g} s ({med:.1f} s) | {drew_text} | {m:.1f} s (n={len(measured)}) | {m / med:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-scale", type=float, default=5.0)
    args = p.parse_args()
    n = args.time_scale
    with tempfile.TemporaryDirectory(prefix="chaoslab-timing-") as tmp:
        lab = BenchLab(Path(tmp) / "home", bench_stack(Path(tmp), octet=OCTET, ecs=True))
        began = time.monotonic()
        lab.cli("up", "--detach", "--time-scale", f"{n:g}", "--api-port", str(lab.api_port), str(lab.stack))
        try:
            status = lab.status()
            assert status["timing"]["profile"] == "aws", status["timing"]
            db = status["databases"][0]
            since = lab.last_seq()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                boots = pool.submit(launch_instances, lab, since, 2)
                tasks = pool.submit(run_tasks, lab, since, 2)
                boot_s, task_s = boots.result(), tasks.result()
            fos = [failover(lab, lab.last_seq(), db) for _ in range(3)]
            rbs = [reboot_reader(lab, lab.last_seq(), db) for _ in range(2)]
        finally:
            lab.cli("down")
        took = time.monotonic() - began

    def drew(name: str, count: int) -> float:
        """The profile's first `count` draws of `name`: the lab's seeded stream, replayed (nothing
        else launched after the lab was ready, so its first draws were these)."""
        replay = Timing("aws", seed=int(status["timing"]["seed"]))
        replay.arm()
        return median([replay.draw(name) for _ in range(count)])

    def spec(name: str) -> tuple[float, float, float]:
        d = AWS[name]
        return d.low, d.high, d.median

    ecs_low = AWS["ecs_provisioning_s"].low + AWS["ecs_image_pull_s"].low
    ecs_high = AWS["ecs_provisioning_s"].high + AWS["ecs_image_pull_s"].high
    ecs_med = AWS["ecs_provisioning_s"].median + AWS["ecs_image_pull_s"].median
    rows = [
        ("ec2_boot_s", [t * n for t in boot_s], drew("ec2_boot_s", len(boot_s)), *spec("ec2_boot_s")),
        (
            "ecs_provisioning_s",
            [t * n for t in task_s["provisioning"]],
            drew("ecs_provisioning_s", len(task_s["provisioning"])),
            *spec("ecs_provisioning_s"),
        ),
        (
            "ecs_image_pull_s",
            [t * n for t in task_s["pull"]],
            drew("ecs_image_pull_s", len(task_s["pull"])),
            *spec("ecs_image_pull_s"),
        ),
        ("ECS task PROVISIONING → RUNNING", [t * n for t in task_s["total"]], None, ecs_low, ecs_high, ecs_med),
        (
            "rds_failover_write_unavailable_s",
            [f["write_unavailable"] * n for f in fos],
            median([f["drawn"] for f in fos]),
            *spec("rds_failover_write_unavailable_s"),
        ),
        ("rds_endpoint_dns_ttl_s", [f["stale"] * n for f in fos], None, *spec("rds_endpoint_dns_ttl_s")),
        ("rds_reboot_s", [r["unavailable"] * n for r in rbs], median([r["drawn"] for r in rbs]), *spec("rds_reboot_s")),
    ]
    print(f"chaoslab timing benchmark: aws profile at time scale {n:g}, {took:.0f} s wall in all\n")
    print(table(rows, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
