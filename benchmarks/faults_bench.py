"""Sections 3 and 4: fault onset and revert through the FIS API, and the stop-condition reaction.

Onset is StartExperiment (the boto3 call) → the effect seen from outside the lab (a probe from
the host: the port stops answering, the connect takes the injected delay, the assumed role's call
fails, the API shows a new writer). Revert is StopExperiment → the effect gone. Probes run every
10 ms; a probe's *start* time stamps what it saw, so a probe that times out on a blackholed port
does not add its timeout to the figure.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil
from botocore.exceptions import ClientError
from common import Row, fmt
from egress_probe import EgressProbe
from labctl import ACCOUNT, BenchLab

POLL_S = 0.01
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
    ],
}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def connect_ms(ip: str, port: int, timeout: float = 0.3) -> float | None:
    """TCP connect time in ms, None when nothing answers within `timeout`."""
    start = time.perf_counter()
    try:
        with socket.create_connection((ip, port), timeout):
            return (time.perf_counter() - start) * 1000
    except OSError:
        return None


def http_ms(ip: str, port: int, timeout: float = 1.0) -> float | None:
    """GET /health on a new connection: ms until the whole answer is read, None on failure."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        conn.getresponse().read()
        return (time.perf_counter() - start) * 1000
    except OSError:
        return None
    finally:
        conn.close()


def until(check: Callable[[], bool], timeout: float = 30) -> float:
    """Start a probe every POLL_S (each in its own thread, so a slow probe — a connect into a
    blackhole — does not delay the next); return the epoch time at which the earliest probe that
    saw the effect *started*."""
    hits: list[float] = []
    threads: list[tuple[float, threading.Thread]] = []

    def probe(started: float) -> None:
        if check():
            hits.append(started)

    deadline = time.time() + timeout
    while time.time() < deadline and not hits:
        started = time.time()
        thread = threading.Thread(target=probe, args=(started,), daemon=True)
        thread.start()
        threads.append((started, thread))
        time.sleep(POLL_S)
    first = min(hits) if hits else None
    for started, thread in threads:  # probes begun earlier may still report an earlier hit
        if first is None or started < first:
            thread.join()
    if not hits:
        raise TimeoutError(f"effect not observed within {timeout:.0f} s")
    return min(hits)


class Fis:
    """FIS through boto3 against the bench lab, with one all-powerful role."""

    def __init__(self, lab: BenchLab) -> None:
        self.lab = lab
        self.fis = lab.client("fis")
        iam = lab.client("iam")
        try:
            iam.create_role(RoleName="bench-fis", AssumeRolePolicyDocument=json.dumps(TRUST))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "EntityAlreadyExists":
                raise
        iam.put_role_policy(RoleName="bench-fis", PolicyName="all", PolicyDocument=json.dumps(ALLOW))
        self.role_arn = f"arn:aws:iam::{ACCOUNT}:role/bench-fis"

    def template(
        self, targets: dict[str, Any], actions: dict[str, Any], stop: list[dict[str, str]] | None = None
    ) -> str:
        return self.fis.create_experiment_template(
            description="chaoslab benchmark",
            roleArn=self.role_arn,
            targets=targets,
            actions=actions,
            stopConditions=stop or [{"source": "none"}],
        )["experimentTemplate"]["id"]

    def start(self, template_id: str) -> tuple[str, float]:
        t0 = time.time()
        return self.fis.start_experiment(experimentTemplateId=template_id)["experiment"]["id"], t0

    def stop(self, exp_id: str) -> float:
        t0 = time.time()
        self.fis.stop_experiment(id=exp_id)
        return t0

    def wait_end(self, exp_id: str, timeout: float = 60) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.fis.get_experiment(id=exp_id)["experiment"]["state"]["status"]
            if status in ("completed", "stopped", "failed", "cancelled"):
                return status
            time.sleep(0.1)
        raise TimeoutError(f"experiment {exp_id} did not end")


def bench_task(lab: BenchLab) -> dict[str, Any]:
    """The running task of the bench ECS service, once it answers on its port."""
    deadline = time.time() + 60
    while time.time() < deadline:
        tasks = [t for t in lab.status()["tasks"] if t["service"] == "bench-static" and t["state"] == "RUNNING"]
        if tasks and connect_ms(tasks[0]["ip"], 8080) is not None:
            return tasks[0]
        time.sleep(0.2)
    raise TimeoutError("the bench ECS task did not come up")


def _applied_delay(lab: BenchLab, seq: int, t0: float) -> str:
    applied = [e["time"] for e in lab.events(seq, "fault.applied")]
    return f"fault.applied event at +{fmt((applied[0] - t0) * 1000)} ms" if applied else ""


def measure(
    lab: BenchLab,
    fis: Fis,
    family: str,
    targets: dict[str, Any],
    action: dict[str, Any],
    effect: Callable[[], bool],
    gone: Callable[[], bool] | None,
) -> list[Row]:
    """Start → effect seen; then (if the fault has a revert) StopExperiment → effect gone."""
    tid = fis.template(targets, {"a": action})
    seq = lab.last_seq()
    exp_id, t0 = fis.start(tid)
    seen = until(effect)
    rows = [Row("3 faults", f"{family}: onset", (seen - t0) * 1000, "ms", note=_applied_delay(lab, seq, t0))]
    if gone is not None:
        t1 = fis.stop(exp_id)
        back = until(gone)
        rows.append(Row("3 faults", f"{family}: revert (StopExperiment → effect gone)", (back - t1) * 1000, "ms"))
    fis.wait_end(exp_id)
    return rows


def _task_workers(task_id: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "chaoslab.faults.worker" in cmd and task_id in cmd:
            out.append(p)
    return out


def fault_rows(lab: BenchLab) -> list[Row]:
    fis = Fis(lab)
    rows: list[Row] = []
    task = bench_task(lab)
    ip, task_id = task["ip"], task["id"]
    tasks = {
        "Tasks": {
            "resourceType": "aws:ecs:task",
            "selectionMode": "ALL",
            "parameters": {"cluster": "bench", "service": "bench-static"},
        }
    }
    on = {"targets": {"Tasks": "Tasks"}}
    up = lambda: connect_ms(ip, 8080) is not None  # noqa: E731
    down = lambda: connect_ms(ip, 8080, 0.2) is None  # noqa: E731

    rows += measure(
        lab,
        fis,
        "ECS task CPU stress (worker running)",
        tasks,
        {
            **on,
            "actionId": "aws:ecs:task-cpu-stress",
            "parameters": {"duration": "PT5M", "percent": "50", "workers": "1"},
        },
        lambda: bool(_task_workers(task_id)),
        lambda: not _task_workers(task_id),
    )
    rows += measure(
        lab,
        fis,
        "ECS task network blackhole port (ingress 8080)",
        tasks,
        {
            **on,
            "actionId": "aws:ecs:task-network-blackhole-port",
            "parameters": {"duration": "PT5M", "port": "8080", "trafficType": "ingress"},
        },
        down,
        up,
    )
    rows += _latency(lab, fis, tasks, on, ip)
    rows += measure(
        lab,
        fis,
        "ECS task network packet loss (100 %)",
        tasks,
        {
            **on,
            "actionId": "aws:ecs:task-network-packet-loss",
            "parameters": {"duration": "PT5M", "lossPercent": "100"},
        },
        down,
        up,
    )
    rows += _disrupt(lab, fis, ip, down, up)
    rows += _api_errors(lab, fis)
    rows += _stop_task(lab, fis, tasks, on, down)
    rows += _failover(lab, fis)
    rows += _stop_instance(lab, fis)
    return rows


def _latency(lab: BenchLab, fis: Fis, tasks: dict[str, Any], on: dict[str, Any], ip: str) -> list[Row]:
    """+200 ms on what leaves the task, seen by round trips from inside its namespace."""
    from chaoslab.runtime.addressing import service_address

    cidr = lab.client("ec2").describe_vpcs()["Vpcs"][0]["CidrBlock"]
    tid = fis.template(
        tasks,
        {
            "a": {
                **on,
                "actionId": "aws:ecs:task-network-latency",
                "parameters": {"duration": "PT5M", "delayMilliseconds": "200", "jitterMilliseconds": "0"},
            }
        },
    )
    family = "ECS task network latency (+200 ms, egress round trip)"
    with EgressProbe(ip, service_address(cidr)) as probe:
        seq = lab.last_seq()
        exp_id, t0 = fis.start(tid)
        seen = probe.first(t0, lambda ms: ms >= 150)
        rows = [Row("3 faults", f"{family}: onset", (seen - t0) * 1000, "ms", note=_applied_delay(lab, seq, t0))]
        t1 = fis.stop(exp_id)
        back = probe.first(t1, lambda ms: 0 <= ms < 50)
        rows.append(Row("3 faults", f"{family}: revert (StopExperiment → effect gone)", (back - t1) * 1000, "ms"))
    fis.wait_end(exp_id)
    return rows


def _disrupt(lab: BenchLab, fis: Fis, ip: str, down: Callable[[], bool], up: Callable[[], bool]) -> list[Row]:
    subnet = lab.client("ec2").describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1a"]}])[
        "Subnets"
    ][0]["SubnetId"]
    targets = {
        "Subnet": {
            "resourceType": "aws:ec2:subnet",
            "selectionMode": "ALL",
            "resourceArns": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{subnet}"],
        }
    }
    return measure(
        lab,
        fis,
        "network disrupt-connectivity (subnet, scope all)",
        targets,
        {
            "actionId": "aws:network:disrupt-connectivity",
            "targets": {"Subnets": "Subnet"},
            "parameters": {"duration": "PT5M", "scope": "all"},
        },
        down,
        up,
    )


def _api_errors(lab: BenchLab, fis: Fis) -> list[Row]:
    iam = lab.client("iam")
    try:
        iam.create_role(RoleName="bench-app", AssumeRolePolicyDocument=json.dumps(TRUST))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    iam.put_role_policy(RoleName="bench-app", PolicyName="all", PolicyDocument=json.dumps(ALLOW))
    creds = lab.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/bench-app", RoleSessionName="bench")[
        "Credentials"
    ]
    ec2 = lab.client("ec2", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])

    def failing() -> bool:
        try:
            ec2.describe_instances(MaxResults=5)
            return False
        except ClientError as exc:
            return exc.response["Error"]["Code"] == "InternalError"

    targets = {
        "App": {
            "resourceType": "aws:iam:role",
            "selectionMode": "ALL",
            "resourceArns": [f"arn:aws:iam::{ACCOUNT}:role/bench-app"],
        }
    }
    return measure(
        lab,
        fis,
        "API internal errors (ec2 DescribeInstances, 100 %)",
        targets,
        {
            "actionId": "aws:fis:inject-api-internal-error",
            "targets": {"Roles": "App"},
            "parameters": {
                "service": "ec2",
                "operations": "DescribeInstances",
                "percentage": "100",
                "duration": "PT5M",
            },
        },
        failing,
        lambda: not failing(),
    )


def _stop_task(
    lab: BenchLab, fis: Fis, tasks: dict[str, Any], on: dict[str, Any], down: Callable[[], bool]
) -> list[Row]:
    """ECS stop-task has no revert: the service starts a replacement; its time to answer is reported."""
    rows = measure(
        lab, fis, "ECS stop-task (port stops answering)", tasks, {**on, "actionId": "aws:ecs:stop-task"}, down, None
    )
    t0 = time.time()
    bench_task(lab)
    rows.append(
        Row(
            "3 faults",
            "ECS stop-task: service replacement answering",
            (time.time() - t0),
            "s",
            note="no revert in FIS; the service scheduler replaces the task",
        )
    )
    return rows


def _writer(rds: Any) -> str:
    cluster = rds.describe_db_clusters()["DBClusters"][0]
    return next(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"] if m["IsClusterWriter"])


def _failover(lab: BenchLab, fis: Fis) -> list[Row]:
    rds = lab.client("rds")
    before = _writer(rds)
    cluster = rds.describe_db_clusters()["DBClusters"][0]["DBClusterArn"]
    seq = lab.last_seq()
    rows = measure(
        lab,
        fis,
        "RDS failover-db-cluster (API shows the new writer)",
        {"Db": {"resourceType": "aws:rds:cluster", "selectionMode": "ALL", "resourceArns": [cluster]}},
        {"actionId": "aws:rds:failover-db-cluster", "targets": {"Clusters": "Db"}},
        lambda: _writer(rds) != before,
        None,
    )
    deadline = time.time() + 15
    while not (failover := lab.events(seq, "db.failover")) and time.time() < deadline:
        time.sleep(0.1)
    if failover:
        rows[-1].note = "db.failover timings: " + ", ".join(
            f"{k} {v}" for k, v in failover[0].items() if k.endswith("_s")
        )
    return rows


def _stop_instance(lab: BenchLab, fis: Fis) -> list[Row]:
    """EC2 stop-instances on one Chaos Shop instance: its app stops answering on port 80."""
    inst = next(i for i in lab.status()["instances"] if i["state"] == "running")
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{inst['id']}"
    return measure(
        lab,
        fis,
        "EC2 stop-instances (app stops answering)",
        {"I": {"resourceType": "aws:ec2:instance", "selectionMode": "ALL", "resourceArns": [arn]}},
        {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "I"}},
        lambda: connect_ms(inst["ip"], 80, 0.2) is None,
        None,
    )


# section 4 ---------------------------------------------------------------------------------
def stop_condition_rows(lab: BenchLab) -> list[Row]:
    """A 1 s alarm as the stop condition of a two-fault experiment; one breaching datapoint."""
    fis = Fis(lab)
    task = bench_task(lab)
    cw = lab.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="bench-stop",
        Namespace="Bench",
        MetricName="Breach",
        Statistic="Maximum",
        Period=1,
        EvaluationPeriods=1,
        Threshold=0.5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    alarm_arn = cw.describe_alarms(AlarmNames=["bench-stop"])["MetricAlarms"][0]["AlarmArn"]
    deadline = time.time() + 15
    while cw.describe_alarms(AlarmNames=["bench-stop"])["MetricAlarms"][0]["StateValue"] != "OK":
        if time.time() > deadline:
            raise TimeoutError("the stop alarm never reached OK")
        time.sleep(0.1)
    # By ARN: selecting by service also picks the task stop-task left STOPPED (lab issue, reported).
    tasks = {
        "Tasks": {
            "resourceType": "aws:ecs:task",
            "selectionMode": "ALL",
            "resourceArns": [f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/bench/{task['id']}"],
        }
    }
    tid = fis.template(
        tasks,
        {
            "cpu": {
                "actionId": "aws:ecs:task-cpu-stress",
                "targets": {"Tasks": "Tasks"},
                "parameters": {"duration": "PT5M", "percent": "30", "workers": "1"},
            },
            "slow": {
                "actionId": "aws:ecs:task-network-latency",
                "targets": {"Tasks": "Tasks"},
                "parameters": {"duration": "PT5M", "delayMilliseconds": "100", "jitterMilliseconds": "0"},
            },
        },
        stop=[{"source": "aws:cloudwatch:alarm", "value": alarm_arn}],
    )
    seq = lab.last_seq()
    exp_id, _ = fis.start(tid)
    try:
        until(lambda: len(lab.events(seq, "fault.applied")) >= 2, timeout=15)
    except TimeoutError:
        state = fis.fis.get_experiment(id=exp_id)["experiment"]
        raise RuntimeError(
            f"the stop-condition experiment never applied both faults: {state['state']} "
            f"{ {k: v['state'] for k, v in state['actions'].items()} }"
        ) from None
    time.sleep(0.5)
    seq = lab.last_seq()
    t_put = time.time()
    cw.put_metric_data(Namespace="Bench", MetricData=[{"MetricName": "Breach", "Value": 1.0, "StorageResolution": 1}])
    status = fis.wait_end(exp_id, 30)
    events = lab.events(seq, "alarm.state,fault.reverted,experiment.state")
    alarm = next(
        e["time"] for e in events if e["kind"] == "alarm.state" and e["alarm"] == "bench-stop" and e["new"] == "ALARM"
    )
    reverted = [e["time"] for e in events if e["kind"] == "fault.reverted" and e.get("experiment") == exp_id]
    stopping = next(
        (
            e["time"]
            for e in events
            if e["kind"] == "experiment.state"
            and e.get("experiment") == exp_id
            and e.get("new") in ("stopping", "stopped")
        ),
        None,
    )
    task_gone = not _task_workers(task["id"])
    sec = "4 stop condition"
    rows = [
        Row(
            sec,
            "PutMetricData (breaching) → alarm ALARM",
            (alarm - t_put) * 1000,
            "ms",
            note="1 s period: the datapoint's period must close before it is evaluated",
        ),
        Row(sec, "alarm ALARM → experiment stopping", (stopping - alarm) * 1000 if stopping else None, "ms"),
        Row(
            sec,
            f"alarm ALARM → every fault reverted ({len(reverted)} faults)",
            (max(reverted) - alarm) * 1000 if reverted else None,
            "ms",
            target=2000.0,
            note=f"experiment {status}; stress workers gone: {task_gone}",
        ),
        Row(
            sec,
            "PutMetricData → every fault reverted (end to end)",
            (max(reverted) - t_put) * 1000 if reverted else None,
            "ms",
        ),
    ]
    return rows
