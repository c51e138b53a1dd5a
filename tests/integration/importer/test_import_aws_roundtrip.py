"""`chaoslab import aws` against a lab's own API: the default stack, read back through
Describe/List/Get calls, validates and builds the same architecture in a second lab on another
VPC range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoslab.api import Lab, free_vpc_octet
from chaoslab.cli import main
from chaoslab.stack import validate_stack


def shape(lab: Lab) -> dict[str, Any]:
    """What an architecture is, independent of ids, addresses and ports."""
    elbv2, asg, rds = lab.client("elbv2"), lab.client("autoscaling"), lab.client("rds")
    tgs = elbv2.describe_target_groups()["TargetGroups"]
    lbs = elbv2.describe_load_balancers()["LoadBalancers"]
    groups = asg.describe_auto_scaling_groups()["AutoScalingGroups"]
    clusters = rds.describe_db_clusters()["DBClusters"]
    tg_names = {tg["TargetGroupArn"]: tg["TargetGroupName"] for tg in tgs}
    sgs = lab.client("ec2").describe_security_groups()["SecurityGroups"]
    sg_names = {g["GroupId"]: g["GroupName"] for g in sgs}
    return {
        "security_groups": sorted(
            (
                g["GroupName"],
                tuple(
                    sorted(
                        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), peer)
                        for p in g["IpPermissions"]
                        for peer in [r["CidrIp"] for r in p.get("IpRanges", [])]
                        + [sg_names[u["GroupId"]] for u in p.get("UserIdGroupPairs", [])]
                    )
                ),
            )
            for g in sgs
            if g["GroupName"] != "default"
        ),
        "group_references": sorted(
            [(lb["LoadBalancerName"], tuple(sorted(sg_names[i] for i in lb.get("SecurityGroups", [])))) for lb in lbs]
            + [
                (
                    c["DBClusterIdentifier"],
                    tuple(sorted(sg_names[g["VpcSecurityGroupId"]] for g in c["VpcSecurityGroups"])),
                )
                for c in clusters
            ]
        ),
        "target_groups": sorted(
            (
                tg["TargetGroupName"],
                tg["Port"],
                tg["TargetType"],
                tg["HealthCheckPath"],
                tg["HealthCheckIntervalSeconds"],
                tg["UnhealthyThresholdCount"],
            )
            for tg in tgs
        ),
        "load_balancers": sorted(
            (
                lb["LoadBalancerName"],
                tuple(
                    sorted(
                        tg_names[ln["DefaultActions"][0]["TargetGroupArn"]]
                        for ln in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                    )
                ),
            )
            for lb in lbs
        ),
        "groups": sorted(
            (
                g["AutoScalingGroupName"],
                g["MinSize"],
                g["MaxSize"],
                g["DesiredCapacity"],
                len(g["VPCZoneIdentifier"].split(",")),
                tuple(sorted(tg_names[a] for a in g["TargetGroupARNs"])),
                g["HealthCheckType"],
                tuple(sorted((t["Key"], t["Value"]) for t in g["Tags"])),
            )
            for g in groups
        ),
        "databases": sorted((c["DBClusterIdentifier"], c["Engine"], len(c["DBClusterMembers"])) for c in clusters),
        "roles": sorted(r["RoleName"] for r in lab.client("iam").list_roles()["Roles"]),
        "alarms": sorted(a["AlarmName"] for a in lab.client("cloudwatch").describe_alarms()["MetricAlarms"]),
    }


@pytest.mark.realistic
def test_the_default_stack_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    out = tmp_path / "imported"
    with Lab("default", fast=True, home=tmp_path / "first") as first:
        before = shape(first)
        # an instance outside any Auto Scaling group: listed, since a stack cannot hold it
        run = first.client("ec2").run_instances(ImageId="ami-0abcdef1234567890", MinCount=1, MaxCount=1)
        loner = run["Instances"][0]["InstanceId"]
        argv = ["import", "aws", "--endpoint-url", first.api_url, "--region", "us-east-1", "-o", str(out)]
        assert main([*argv, "--name", "roundtrip"]) == 0
        # --tag keeps the tagged group, what it uses and the ALB in front of it; not the untagged database
        assert main([*argv[:-1], str(tmp_path / "tagged"), "--tag", "Project=chaos-lab"]) == 0
    tagged = yaml.safe_load((tmp_path / "tagged" / "stack.yaml").read_text())
    validate_stack(tagged)
    assert [g["name"] for g in tagged["auto_scaling_groups"]] == ["chaos-lab-asg"]
    assert [lb["name"] for lb in tagged["load_balancers"]] == ["chaos-lab-alb"]
    assert "database" not in tagged and "roles" not in tagged
    # the groups the tagged resources use, and no other
    assert sorted(g["name"] for g in tagged["security_groups"]) == ["chaos-lab-alb-sg", "chaos-lab-app-sg"]
    err = capsys.readouterr().err
    assert "master password not in the source" in err  # no API returns it: said, not invented silently
    doc = yaml.safe_load((out / "stack.yaml").read_text())
    validate_stack(doc)
    assert doc["auto_scaling_groups"][0]["image"] == "chaoslab/chaos-shop"
    assert doc["auto_scaling_groups"][0]["database"] == "chaos-lab-aurora"
    assert doc["auto_scaling_groups"][0]["security_groups"] == ["chaos-lab-app-sg"]
    assert "instance " + loner + ": left out: a stack has instances only in Auto Scaling groups" in err
    first_octet = int(doc["vpc"]["cidr"].split(".")[1])  # the first lab's range, read back
    octet = free_vpc_octet(first_octet + 1)
    with Lab(doc, fast=True, home=tmp_path / "second", vpc_octet=octet) as second:
        after = shape(second)
        assert second.client("ec2").describe_vpcs()["Vpcs"][0]["CidrBlock"] == f"10.{octet}.0.0/16"
    assert after == before
