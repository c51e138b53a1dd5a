"""The runner's view of a lab: its status and events over HTTP, and the AWS APIs through botocore
exactly as a user's boto3 script would call them (so a run exercises the real API surface)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import aiohttp
import botocore.session
from botocore.config import Config

from chaoslab.config import LabConfig
from chaoslab.services.fis.runnable import SKIP_TAG

EVENT_KINDS = (
    "unit.state",
    "target.health",
    "alarm.state",
    "fault.applied",
    "fault.reverted",
    "experiment.state",
    "db.failover",
    "db.reboot",
    "asg.activity",
    "scaling.activity",
)


class LabClient:
    fault_events = True  # the lab reports every fault it applies and reverts

    def __init__(self, api: str, config: LabConfig) -> None:
        self.api = api.rstrip("/")
        self.config = config
        self._session = botocore.session.get_session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            creds = next(iter(self.config.credentials.items()))
            self._clients[service] = self._session.create_client(
                service,
                region_name=self.config.region,
                endpoint_url=self.api,
                aws_access_key_id=creds[0],
                aws_secret_access_key=creds[1],
                config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
            )
        return self._clients[service]

    def start_args(self, skip_unsupported: bool) -> dict[str, Any]:
        return {"tags": {SKIP_TAG: "true"} if skip_unsupported else {}}

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.api}/_chaoslab/status", timeout=10) as resp:
            return json.loads(resp.read())

    async def events(self, session: aiohttp.ClientSession, since: int) -> tuple[list[dict[str, Any]], int]:
        url = f"{self.api}/_chaoslab/events?since={since}&kinds={','.join(EVENT_KINDS)}"
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            resp.raise_for_status()  # an error body has no `events`: a ClientError the caller retries
            data = await resp.json()
        return data["events"], int(data["last"])

    def alb(self, status: dict[str, Any]) -> tuple[str, str]:
        """(name, URL) of the stack's first ALB listener: the workload's default target."""
        for lb in status["load_balancers"]:
            if lb["listeners"]:
                return lb["name"], lb["listeners"][0]
        raise LookupError("the lab has no load balancer listener")

    def target_groups(self, lb_name: str) -> list[dict[str, Any]]:
        elbv2 = self.client("elbv2")
        lb = elbv2.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]
        return elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]

    def sample(self, tg_arns: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Target states (id -> state) across the groups, and every alarm's state."""
        elbv2 = self.client("elbv2")
        targets: dict[str, str] = {}
        for arn in tg_arns:
            for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
                targets[d["Target"]["Id"]] = d["TargetHealth"]["State"]
        alarms: dict[str, str] = {}
        paginator = self.client("cloudwatch").get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
            for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                alarms[a["AlarmName"]] = a["StateValue"]
        return targets, alarms
