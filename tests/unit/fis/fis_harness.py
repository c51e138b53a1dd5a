"""A small lab for FIS engine tests: the real store, event log, IAM, CloudWatch and Logs backends,
plus an EC2 stand-in that only records calls (the real one needs root networking and processes;
integration tests drive it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.backend import CloudWatchBackend
from chaoslab.services.fis.backend import FisBackend
from chaoslab.services.iam.backend import IamBackend
from chaoslab.services.logs.backend import LogsBackend
from chaoslab.store import Store

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fis"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class RecordingEc2:
    """Instances as EC2 describes them; stop/start/reboot/terminate change state and are recorded."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.calls: list[tuple[str, list[str]]] = []
        self.instances: dict[str, dict[str, Any]] = {}

    def add(self, iid: str, tags: dict[str, str], az: str = "us-east-1a", spot: bool = False) -> None:
        self.instances[iid] = {
            "InstanceId": iid,
            "State": {"Name": "running"},
            "Placement": {"AvailabilityZone": az},
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if spot:
            self.instances[iid]["InstanceLifecycle"] = "spot"

    def describe_instance_records(self) -> list[dict[str, Any]]:
        return [json.loads(json.dumps(i)) for i in self.instances.values()]

    def _set(self, name: str, ids: list[str], state: str) -> None:
        self.calls.append((name, list(ids)))
        for i in ids:
            self.instances[i]["State"]["Name"] = state

    async def stop_instances(self, ids: list[str]) -> None:
        self._set("stop", ids, "stopped")

    async def start_instances(self, ids: list[str]) -> None:
        self._set("start", ids, "running")

    async def reboot_instances(self, ids: list[str]) -> None:
        self._set("reboot", ids, "running")

    async def terminate_instances(self, ids: list[str], reason: str = "Client.UserInitiatedShutdown") -> None:
        self._set("terminate", ids, "terminated")
        for i in ids:
            self.instances[i]["StateReason"] = {"Code": reason, "Message": reason}


class MiniLab:
    """The parts of the lab `lab.fis` uses, all real except EC2."""

    def __init__(self, home: Path, policy: dict[str, Any] | None = ALLOW_ALL, trust: dict[str, Any] = TRUST) -> None:
        self.config = LabConfig(home=home, account_id=ACCOUNT)
        self.clock = LabClock()
        self.store = Store(home / "state.db")
        self.events = EventLog()
        self.iam = IamBackend(self)
        self.cloudwatch = CloudWatchBackend(self)
        self.logs = LogsBackend(self)
        self.ec2 = RecordingEc2(self.config.region)
        self.fis = FisBackend(self, time_scale=0.01, stop_condition_interval=0.05)
        self.iam.create_role("fis", json.dumps(trust))
        if policy is not None:
            self.iam.put_role_policy("fis", "chaos", json.dumps(policy))

    def alarm(self, name: str, state: str = "OK") -> str:
        self.cloudwatch.put_metric_alarm(
            {
                "AlarmName": name,
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Namespace": "AWS/ApplicationELB",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 5,
                "ComparisonOperator": "GreaterThanThreshold",
            }
        )
        self.cloudwatch.set_alarm_state(name, state, "test")
        return self.cloudwatch.alarm_arn(name)

    def kinds(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events.since(0, {kind}) if all(e.get(k) == v for k, v in match.items())]


def template(
    actions: dict[str, Any], targets: dict[str, Any] | None = None, alarms: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    stop = [{"source": "aws:cloudwatch:alarm", "value": a} for a in alarms or []] or [{"source": "none"}]
    return {
        "description": "test",
        "roleArn": ROLE,
        "actions": actions,
        "targets": targets or {},
        "stopConditions": stop,
        **extra,
    }


def wait(duration: str = "PT1M", after: list[str] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"actionId": "aws:fis:wait", "parameters": {"duration": duration}}
    if after:
        action["startAfter"] = after
    return action


TAGGED = {"Nodes": {"resourceType": "aws:ec2:instance", "selectionMode": "ALL", "resourceTags": {"Project": "shop"}}}


def stop_nodes(restart: str | None = "PT1M") -> dict[str, Any]:
    action: dict[str, Any] = {"actionId": "aws:ec2:stop-instances", "targets": {"Instances": "Nodes"}}
    if restart:
        action["parameters"] = {"startInstancesAfterDuration": restart}
    return action
