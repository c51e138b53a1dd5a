"""An AWS account for `chaoslab run --aws` without AWS: moto's server (an AWS-compatible control
plane that stores FIS templates and experiments, alarms and ELBv2/EC2 resources, and executes
nothing) on a free port of 127.0.0.1, holding seed 003's architecture as AWS would: two instances
tagged Project=chaos-lab behind an ALB's target group. The user's endpoint is a stand-in shop.

Credentials are fake and the machine's AWS config and credential files are replaced by empty
ones, so nothing the tests do can read a real credential or reach a real account."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REGION = "us-east-1"


@dataclass
class Account:
    endpoint: str
    env: dict[str, str]
    lb_name: str
    alarm_arn: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def transition(self, progression: dict[str, Any] | None) -> None:
        """How moto moves an experiment through its states (its state-manager API): None for its
        default, one state per GetExperiment; {"progression": "time", "seconds": S} for a timer."""
        action = "set-transition" if progression else "unset-transition"
        body = {"model_name": "fis::experiment", **({"transition": progression} if progression else {})}
        req = urllib.request.Request(f"{self.endpoint}/moto-api/state-manager/{action}", data=json.dumps(body).encode())
        urllib.request.urlopen(req, timeout=5).close()

    def alb_counted(self, requests: int) -> None:
        """Publish the ALB's RequestCount for this minute, as the ALB does to CloudWatch."""
        lb = self.client("elbv2").describe_load_balancers(Names=[self.lb_name])["LoadBalancers"][0]
        dimension = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
        self.client("cloudwatch").put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": "RequestCount",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}],
                    "Value": requests,
                    "Unit": "Count",
                }
            ],
        )

    def ours(self, run_id: str) -> list[dict[str, Any]]:
        """The experiments a run started, told apart by the run's tag."""
        fis = self.client("fis")
        return [
            fis.get_experiment(id=e["id"])["experiment"]
            for e in fis.list_experiments()["experiments"]
            if e.get("tags", {}).get("chaoslab:run-id") == run_id
        ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_env(tmp: Path) -> dict[str, str]:
    empty = tmp / "empty-aws-file"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        CHAOSLAB_HOME=str(tmp / "home"),
    )
    return env


def seed003(account: Account) -> None:
    ec2, elbv2, cw = account.client("ec2"), account.client("elbv2"), account.client("cloudwatch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{10 + i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    instances = [
        ec2.run_instances(
            ImageId="ami-0123456789abcdef0",  # any id: moto boots nothing
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Project", "Value": "chaos-lab"}]}],
        )["Instances"][0]["InstanceId"]
        for subnet in subnets
    ]
    lb = elbv2.create_load_balancer(Name=account.lb_name, Subnets=subnets, Type="application")["LoadBalancers"][0]
    tg = elbv2.create_target_group(
        Name="chaos-lab-tg", Protocol="HTTP", Port=8080, VpcId=vpc, HealthCheckIntervalSeconds=10
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
    )
    elbv2.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i} for i in instances])
    cw.put_metric_alarm(
        AlarmName="chaos-lab-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    account.alarm_arn = cw.describe_alarms(AlarmNames=["chaos-lab-5xx"])["MetricAlarms"][0]["AlarmArn"]
