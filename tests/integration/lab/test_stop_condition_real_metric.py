"""A FIS stop condition driven by a real metric, end to end on a running lab (`chaoslab up --detach
--fast`, reached only through boto3 and the lab's event stream): CPU stress and network latency on
one instance through aws:ssm:send-command, and as the experiment's stop condition a CloudWatch
alarm with a 1 s period on that instance's CPUUtilization, which the lab publishes every second
from the unit's processes. The stress itself breaches the alarm — nothing calls SetAlarmState — and
FIS must stop the experiment for it and revert both faults: no undo record left, no stress worker
or delay proxy running, no iptables rule in the instance's namespace, its latency and CPU back."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import psutil
import pytest
from lab_helpers import RunningLab, free_port, lab_stack

from chaoslab.config import LabConfig
from chaoslab.labctl import start_detached
from chaoslab.runtime.network import unused_vpc_octet
from chaoslab.store import Store

pytestmark = pytest.mark.netns_here

ALARM = "stop-on-instance-cpu"
THRESHOLD = 30.0  # % CPU: the idle app stays far below it; a worker at 80 % of one of a t3.micro's two vCPUs reads 40 %
DELAY_MS = 200
FAULT_HELPERS = ("chaoslab.faults.worker", "chaoslab.faults.network_delayproxy")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ_ALARMS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    tmp = tmp_path_factory.mktemp("stopcond")
    config = LabConfig(home=tmp / "home", api_port=free_port())
    running = RunningLab(
        config, start_detached(config, str(lab_stack(tmp, unused_vpc_octet(96))), fast=True, quiet=True)
    )
    yield running
    running.stop()


def client(lab: RunningLab, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=lab.info["api"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def wait_for(what: str, predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def events(lab: RunningLab, kinds: str, since: int) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{lab.info['api']}/_chaoslab/events?since={since}&kinds={kinds}", timeout=5) as r:
        body = json.loads(r.read())
    return body["events"] if isinstance(body, dict) else body


def last_seq(lab: RunningLab) -> int:
    seqs = [e["seq"] for e in events(lab, "", 0)]
    return max(seqs, default=0)


def get_ms(ip: str) -> float:
    """One GET /health straight to the instance (not through the ALB), in milliseconds."""
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://{ip}/health", timeout=5) as resp:
        resp.read()
    return (time.perf_counter() - start) * 1000


def alarm_state(cw: Any) -> str:
    return cw.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"]


def hot_seconds(cw: Any, instance_id: str) -> list[float]:
    """The instance's 1 s CPUUtilization maxima over the last minute that breach the threshold."""
    now = time.time()
    points = cw.get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=now - 60,
        EndTime=now,
        Period=1,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in points["Datapoints"] if p["Maximum"] > THRESHOLD]


def cpu_alarm(cw: Any, instance_id: str) -> str:
    cw.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        Statistic="Maximum",
        Period=1,
        EvaluationPeriods=3,
        Threshold=THRESHOLD,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    return cw.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["AlarmArn"]


def fis_role(iam: Any) -> str:
    iam.create_role(RoleName="stopcond-fis", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(
        RoleName="stopcond-fis", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"
    )
    iam.put_role_policy(RoleName="stopcond-fis", PolicyName="read-alarms", PolicyDocument=json.dumps(READ_ALARMS))
    return iam.get_role(RoleName="stopcond-fis")["Role"]["Arn"]


def ssm_action(document: str, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "actionId": "aws:ssm:send-command",
        "targets": {"Instances": "one"},
        "parameters": {
            "documentArn": f"arn:aws:ssm:us-east-1::document/{document}",
            # FIS parameter values may hold no whitespace (its API's pattern [\S]+)
            "documentParameters": json.dumps({"DurationSeconds": "300", **parameters}, separators=(",", ":")),
            "duration": "PT5M",
        },
    }


def template(instance_arn: str, role_arn: str, alarm_arn: str) -> dict[str, Any]:
    return {
        "description": "stress and slow one instance until its CPU alarm stops us",
        "roleArn": role_arn,
        "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": alarm_arn}],
        "targets": {
            "one": {"resourceType": "aws:ec2:instance", "resourceArns": [instance_arn], "selectionMode": "ALL"}
        },
        "actions": {
            "stress": ssm_action("AWSFIS-Run-CPU-Stress", {"CPU": "1", "LoadPercent": "80"}),
            "slow": ssm_action("AWSFIS-Run-Network-Latency", {"DelayMilliseconds": str(DELAY_MS)}),
        },
    }


def fault_helpers(lab: RunningLab) -> list[int]:
    """Stress workers and delay proxies running under the lab."""
    daemon = psutil.Process(int(lab.info["pid"]))
    return [
        p.pid
        for p in daemon.children(recursive=True)
        if any(m in " ".join(p.cmdline()) for m in FAULT_HELPERS) and p.status() != psutil.STATUS_ZOMBIE
    ]


def netns_rules(ip: str) -> str:
    """The lab's chains (CL…: the fault's, and the unit's own security group and ACL chains) and
    the jumps into them in the namespace that holds `ip`."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    for name in (line.split()[0] for line in names.splitlines() if line.strip()):
        addrs = subprocess.run(["ip", "-n", name, "-4", "-o", "addr"], capture_output=True, text=True).stdout
        if f" {ip}/" in addrs:
            rules = [
                subprocess.run(
                    ["ip", "netns", "exec", name, "iptables", "-w", "5", "-t", t, "-S"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                for t in ("filter", "nat", "mangle")
            ]
            return "\n".join(
                line for line in "\n".join(rules).splitlines() if " CL" in line or line.startswith("-N CL")
            )
    raise AssertionError(f"no network namespace holds {ip}")


def test_a_real_cpu_breach_stops_the_experiment_and_every_fault_is_reverted(lab: RunningLab) -> None:
    ec2, cw, fis = client(lab, "ec2"), client(lab, "cloudwatch"), client(lab, "fis")
    instance = ec2.describe_instances()["Reservations"][0]["Instances"][0]
    ip, instance_id = instance["PrivateIpAddress"], instance["InstanceId"]
    alarm_arn = cpu_alarm(cw, instance_id)
    wait_for("the alarm to reach OK from the idle instance's datapoints", lambda: alarm_state(cw) == "OK", 20)
    baseline_ms = min(get_ms(ip) for _ in range(5))
    own_rules = netns_rules(ip)  # the unit's security group and ACL chains, there before any fault
    body = template(
        f"arn:aws:ec2:us-east-1:123456789012:instance/{instance_id}", fis_role(client(lab, "iam")), alarm_arn
    )
    since = last_seq(lab)
    started = time.monotonic()
    exp_id = fis.start_experiment(
        experimentTemplateId=fis.create_experiment_template(**body)["experimentTemplate"]["id"]
    )["experiment"]["id"]

    # fault.applied says the command was sent; the documents' effects follow on the instance
    wait_for(
        "the stress worker, the delay proxy and its redirect",
        lambda: len(fault_helpers(lab)) >= 2 and "-A PREROUTING" in netns_rules(ip),
        10,
    )
    helpers = fault_helpers(lab)
    assert get_ms(ip) >= baseline_ms + 0.75 * DELAY_MS  # the latency is on before the alarm trips

    ended = wait_for(
        "the experiment to end",
        lambda: (
            (e := fis.get_experiment(id=exp_id)["experiment"])["state"]["status"] in ("stopped", "completed", "failed")
            and e
        ),
        30,
    )
    took = time.monotonic() - started
    assert ended["state"] == {"status": "stopped", "reason": "Experiment halted by stop condition."}, ended["state"]
    breach = [e for e in events(lab, "alarm.state", since) if e["alarm"] == ALARM and e["new"] == "ALARM"]
    assert breach and "3 out of the last 3 datapoints" in breach[0]["reason"], breach
    assert len(hot_seconds(cw, instance_id)) >= 3  # the datapoints it read: the stressed instance's CPU

    assert Store(lab.config.home / "state.db").journal_pending() == []
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in helpers)
    assert netns_rules(ip) == own_rules  # the fault's chains are gone, the unit's own untouched
    assert get_ms(ip) < baseline_ms + 0.25 * DELAY_MS
    wait_for("the alarm back to OK as the instance's CPU drops", lambda: alarm_state(cw) == "OK", 20)
    print(f"\nstop condition on real CPUUtilization: stopped {took:.1f} s after StartExperiment")
