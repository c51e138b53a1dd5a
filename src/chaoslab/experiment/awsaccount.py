"""An AWS account as the place an experiment runs (`chaoslab run --aws`).

The calls are the ones the least-privilege policy of docs/aws.md allows: STS GetCallerIdentity,
ELBv2 Describe*, CloudWatch DescribeAlarms and GetMetricData, and FIS. Credentials come from
botocore's usual chain (`--profile`, the environment, the instance role); they are never printed.
There is no event stream in AWS: fault windows come from FIS's action times (`fault_events`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import botocore.exceptions
import botocore.session
from botocore.config import Config

from chaoslab.accounts import caller_identity
from chaoslab.errors import ChaoslabError

RUN_TAG = "chaoslab:run-id"  # on everything a run creates in the account
# The ALB's own view of the run, read back for the report (per load balancer, summed per period).
ALB_METRICS = (
    ("RequestCount", "Sum"),
    ("HTTPCode_ELB_5XX_Count", "Sum"),
    ("HTTPCode_Target_5XX_Count", "Sum"),
    ("TargetResponseTime", "Average"),
)


class AwsAccount:
    """The account and region the caller's credentials reach; the workload goes to `url`."""

    fault_events = False

    def __init__(
        self,
        url: str,
        *,
        run_id: str,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        load_balancer: str | None = None,
        alarms: list[str] | None = None,
        dry_run: bool = False,
    ) -> None:
        try:
            self._session = botocore.session.Session(profile=profile)
            self.region = region or self._session.get_config_variable("region")
        except botocore.exceptions.ProfileNotFound:
            raise ChaoslabError(f"no AWS profile named {profile!r}", hint="aws configure list-profiles") from None
        if not self.region:
            raise ChaoslabError("no region", hint="--region us-east-1, or AWS_DEFAULT_REGION")
        self.url = url.rstrip("/")
        self.run_id = run_id
        self.endpoint_url = endpoint_url
        self.load_balancer = load_balancer
        self.alarm_names = sorted(set(alarms or []))
        self.dry_run = dry_run
        self.api = endpoint_url or f"aws {self.region}"
        self.started_at = time.time()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.create_client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30),
            )
        return self._clients[service]

    def identity(self) -> dict[str, str]:
        """Account and caller ARN (sts:GetCallerIdentity), or a ChaoslabError that says why not."""
        got = caller_identity(self.client("sts"))
        return {"account": got["account"], "arn": got["arn"], "region": str(self.region)}

    def start_args(self, skip_unsupported: bool) -> dict[str, Any]:
        """Tag the experiment with the run; a dry run resolves targets and skips every action."""
        args: dict[str, Any] = {"tags": {RUN_TAG: self.run_id}}
        if self.dry_run:
            args["experimentOptions"] = {"actionsMode": "skip-all"}
        return args

    def status(self) -> dict[str, Any]:
        return {
            "time_scale": 1.0,  # AWS runs in real time
            "started_at": self.started_at,
            "stack": f"aws:{self.region}",
            "network_mode": None,
            "load_balancers": [],
        }

    async def events(self, session: aiohttp.ClientSession, since: int) -> tuple[list[dict[str, Any]], int]:
        return [], since  # AWS has no event stream; samples and FIS's action times stand in

    def alb(self, status: dict[str, Any]) -> tuple[str, str]:
        """(the load balancer behind --url, --url): named by --load-balancer, else the ALB whose DNS
        name is the URL's host; "" when none is (healthy-host samples are then empty)."""
        if self.load_balancer:
            return self.load_balancer, self.url
        host = urlsplit(self.url).hostname or ""
        paginator = self.client("elbv2").get_paginator("describe_load_balancers")
        for page in paginator.paginate():
            for lb in page["LoadBalancers"]:
                if lb.get("DNSName", "").lower() == host.lower():
                    return str(lb["LoadBalancerName"]), self.url
        return "", self.url

    def target_groups(self, lb_name: str) -> list[dict[str, Any]]:
        if not lb_name:
            return []
        elbv2 = self.client("elbv2")
        try:
            lb = elbv2.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]
        except elbv2.exceptions.LoadBalancerNotFoundException:
            raise ChaoslabError(
                f"no load balancer named {lb_name!r} in {self.region}", hint="--load-balancer"
            ) from None
        groups: list[dict[str, Any]] = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])[
            "TargetGroups"
        ]
        return groups

    def sample(self, tg_arns: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Target states across the groups and the states of the alarms the run names (not every
        alarm of the account)."""
        elbv2 = self.client("elbv2")
        targets: dict[str, str] = {}
        for arn in tg_arns:
            for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
                targets[d["Target"]["Id"]] = d["TargetHealth"]["State"]
        alarms: dict[str, str] = {}
        for i in range(0, len(self.alarm_names), 100):  # DescribeAlarms takes 100 names at a time
            got = self.client("cloudwatch").describe_alarms(
                AlarmNames=self.alarm_names[i : i + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for a in got.get("MetricAlarms", []) + got.get("CompositeAlarms", []):
                alarms[a["AlarmName"]] = a["StateValue"]
        return targets, alarms

    def alb_metrics(self, lb_name: str, start: float, end: float) -> list[dict[str, Any]]:
        """The load balancer's CloudWatch metrics over the run (GetMetricData, 60 s periods, the
        finest ALB metrics have): what AWS itself counted, beside what the workload saw."""
        if not lb_name:
            return []
        elbv2 = self.client("elbv2")
        arn = elbv2.describe_load_balancers(Names=[lb_name])["LoadBalancers"][0]["LoadBalancerArn"]
        dimension = arn.split(":loadbalancer/", 1)[-1]  # app/<name>/<id>, as CloudWatch names it
        queries = [
            {
                "Id": f"m{i}",
                "Label": name,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": name,
                        "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
            for i, (name, stat) in enumerate(ALB_METRICS)
        ]
        got = self.client("cloudwatch").get_metric_data(
            MetricDataQueries=queries,
            StartTime=datetime.fromtimestamp(start - start % 60, UTC),
            EndTime=datetime.fromtimestamp(end + 60, UTC),
        )
        return [
            {
                "metric": ALB_METRICS[int(r["Id"][1:])][0],
                "stat": ALB_METRICS[int(r["Id"][1:])][1],
                "points": sorted([t.timestamp(), v] for t, v in zip(r["Timestamps"], r["Values"], strict=True)),
            }
            for r in got["MetricDataResults"]
        ]
