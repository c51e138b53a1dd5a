"""The lab's recoveries under the `aws` timing profile against AWS's documented figures.

    .venv/bin/python benchmarks/timing.py [--time-scale N]

Starts a private lab (the Chaos Shop plus a one-task ECS service) with `chaoslab up --time-scale N`
(default 5) and the default `aws` profile, then launches two instances with user data and two ECS
tasks through the API, watches a PutMetricData datapoint and an ALB datapoint until CloudWatch
shows them, runs two FIS experiments and stops each while its action runs, fails the Aurora-like
cluster over three times while a client reconnects through the writer endpoint, and reboots the
reader twice. Each measured duration is converted back to scenario time (× N) and printed beside
the profile's range and median (docs/timing.md names the sources), with the ratio measured /
median. Process start-up and PostgreSQL promotion are real and do not scale, so at N they add
N × their wall seconds to a measurement; the "lab drew" column shows what the profile asked for
(— where the lab drew it among draws of its own, as for the ALB's metrics). Takes about two
minutes; do not run it beside a test suite.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pg8000.native
from common import exit_cleanly_on_sigterm, median
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


USER_DATA = "#!/bin/sh\necho chaoslab-user-data-started\n"


def launch_instances(lab: BenchLab, since: int, count: int) -> dict[str, list[float]]:
    """pending → running (the boot), then running → the user data's first line on the console."""
    ec2 = lab.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    launched = ec2.run_instances(
        ImageId="ami-0123456789abcdef0", MinCount=count, MaxCount=count, SubnetId=subnet, UserData=USER_DATA
    )
    ids = [i["InstanceId"] for i in launched["Instances"]]
    started: dict[str, float] = {}

    def scripts_started() -> bool:
        for iid in ids:
            if iid not in started:
                out = ec2.get_console_output(InstanceId=iid).get("Output") or ""  # boto3 decodes it
                if "chaoslab-user-data-started" in out:
                    started[iid] = time.time()
        return len(started) == len(ids)

    _wait("the user data scripts", scripts_started, 240)
    out: dict[str, list[float]] = {"boot": [], "user_data": []}
    for iid in ids:
        seen = _transitions(lab, since, iid, ["pending", "running"])
        out["boot"].append(seen["running"] - seen["pending"])
        out["user_data"].append(started[iid] - seen["running"])
    return out


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


def metric_arrivals(lab: BenchLab, status: dict[str, Any], count: int) -> dict[str, list[float]]:
    """Scenario seconds from a datapoint's time to CloudWatch first showing it: a PutMetricData
    datapoint (from its put) and an ALB RequestCount datapoint (from its own timestamp), one at a
    time, each after the one before it has arrived."""
    cw, n, epoch = lab.client("cloudwatch"), float(status["time_scale"]), float(status["started_at"])

    def scenario(wall: float) -> float:
        return epoch + (wall - epoch) * n

    out: dict[str, list[float]] = {"custom": [], "service": []}
    for i in range(count):
        put = scenario(time.time())
        cw.put_metric_data(Namespace="Bench", MetricData=[{"MetricName": f"Arrival{i}", "Value": 1.0}])
        _wait(
            "a PutMetricData datapoint",
            lambda i=i, put=put: cw.get_metric_statistics(
                Namespace="Bench",
                MetricName=f"Arrival{i}",
                StartTime=put - 60,
                EndTime=put + 3600,
                Period=60,
                Statistics=["Sum"],
            )["Datapoints"],
            120,
        )
        out["custom"].append(scenario(time.time()) - put)
    lb = lab.client("elbv2").describe_load_balancers()["LoadBalancers"][0]
    dims = [{"Name": "LoadBalancer", "Value": lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]}]
    url = status["load_balancers"][0]["listeners"][0]
    for _ in range(count):
        asked = scenario(time.time())
        urllib.request.urlopen(url + "/", timeout=10).read()

        def arrived(asked: float = asked) -> list[dict[str, Any]]:
            return cw.get_metric_statistics(
                Namespace="AWS/ApplicationELB",
                MetricName="RequestCount",
                Dimensions=dims,
                StartTime=asked - 1,
                EndTime=asked + 1200,  # 1,440 datapoints at most a call
                Period=1,
                Statistics=["Sum"],
            )["Datapoints"]

        points = _wait("an ALB datapoint", arrived, 240)
        out["service"].append(scenario(time.time()) - min(p["Timestamp"].timestamp() for p in points))
    return out


def fis_latencies(lab: BenchLab, count: int) -> dict[str, list[float]]:
    """Experiments of one `aws:fis:wait` action, each stopped once its action runs: wall seconds in
    the experiment's `initiating`, the action's `initiating` and its `stopping`."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = lab.client("iam").create_role(RoleName="bench-fis", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    fis = lab.client("fis")
    template = fis.create_experiment_template(
        description="timing benchmark",
        roleArn=role["Arn"],
        stopConditions=[{"source": "none"}],
        actions={"Wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT30M"}}},
    )["experimentTemplate"]
    out: dict[str, list[float]] = {"initiating": [], "start": [], "stop": []}
    for _ in range(count):
        since = lab.last_seq()
        exp = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]["id"]
        _wait(
            "the action running",
            lambda since=since: any(e["new"] == "running" for e in lab.events(since, "action.state")),
            60,
        )
        fis.stop_experiment(id=exp)
        _wait(
            "the experiment stopped",
            lambda exp=exp: fis.get_experiment(id=exp)["experiment"]["state"]["status"] == "stopped",
            60,
        )
        states = {(e["kind"], e["new"]): e["time"] for e in lab.events(since, "experiment.state,action.state")}
        out["initiating"].append(states["experiment.state", "running"] - states["experiment.state", "initiating"])
        out["start"].append(states["action.state", "running"] - states["action.state", "initiating"])
        out["stop"].append(states["action.state", "stopped"] - states["action.state", "stopping"])
    return out


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
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                boots = pool.submit(launch_instances, lab, since, 2)
                tasks = pool.submit(run_tasks, lab, since, 2)
                arrivals = pool.submit(metric_arrivals, lab, status, 2)
                ec2_s, task_s, metric_s = boots.result(), tasks.result(), arrivals.result()
            fis_s = fis_latencies(lab, 2)
            fos = [failover(lab, lab.last_seq(), db) for _ in range(3)]
            rbs = [reboot_reader(lab, lab.last_seq(), db) for _ in range(2)]
        finally:
            lab.cli("down")
        took = time.monotonic() - began

    def drew(name: str, count: int) -> float:
        """The profile's first `count` draws of `name`: the lab's seeded stream, replayed (only the
        benchmark's own launches, puts and experiments drew it after the lab was ready)."""
        replay = Timing("aws", seed=int(status["timing"]["seed"]))
        replay.arm()
        return median([replay.draw(name) for _ in range(count)])

    def spec(name: str) -> tuple[float, float, float]:
        d = AWS[name]
        return d.low, d.high, d.median

    ecs_low = AWS["ecs_provisioning_s"].low + AWS["ecs_image_pull_s"].low
    ecs_high = AWS["ecs_provisioning_s"].high + AWS["ecs_image_pull_s"].high
    ecs_med = AWS["ecs_provisioning_s"].median + AWS["ecs_image_pull_s"].median

    def row(name: str, wall: list[float]) -> tuple[str, list[float], float | None, float, float, float]:
        """A delay only the benchmark's own calls drew: its draws replayed."""
        return (name, [t * n for t in wall], drew(name, len(wall)), *spec(name))

    rows = [
        row("ec2_boot_s", ec2_s["boot"]),
        row("ec2_user_data_s", ec2_s["user_data"]),
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
        # already scenario seconds; the ALB's puts drew their delays among the lab's own puts
        ("cloudwatch_metric_delay_s", metric_s["service"], None, *spec("cloudwatch_metric_delay_s")),
        (
            "cloudwatch_put_metric_data_delay_s",
            metric_s["custom"],
            drew("cloudwatch_put_metric_data_delay_s", len(metric_s["custom"])),
            *spec("cloudwatch_put_metric_data_delay_s"),
        ),
        row("fis_experiment_initiating_s", fis_s["initiating"]),
        row("fis_action_start_s", fis_s["start"]),
        row("fis_action_stop_s", fis_s["stop"]),
    ]
    print(f"chaoslab timing benchmark: aws profile at time scale {n:g}, {took:.0f} s wall in all\n")
    print(table(rows, n))
    return 0


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    sys.exit(main())
