"""The pure parts of the capacity and zonal-shift actions: EC2's InsufficientInstanceCapacity,
which zones an identifier list names, which launches and calls a fault refuses, where a group
launches when zones refuse or are shifted away from, and what a shifted load balancer routes to."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chaoslab.clock import LabClock
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.faults.registry import REGISTRY
from chaoslab.net import healthcheck as hc
from chaoslab.net.albplane import DataPlane, RemotePool, RemoteUpstream
from chaoslab.services.autoscaling.backend import AutoScalingBackend, Group, GroupTemplate
from chaoslab.services.ec2.capacity import insufficient_capacity, zone_names
from chaoslab.services.ec2.models import Subnet
from chaoslab.services.elbv2.health import route
from chaoslab.services.elbv2.models import Registration, TargetGroup
from chaoslab.services.fis.exec_capacity import API_OPERATIONS, CapacityApiRule, GroupLaunchFault
from chaoslab.services.fis.exec_zonal_shift import chosen, managed_type
from chaoslab.services.fis.runnable import gaps
from chaoslab.services.fis.selection import Resource
from chaoslab.watchdog import _DeadLab

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
ACCOUNT = "123456789012"
ALB = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/0123456789abcdef"
ASG = f"arn:aws:autoscaling:us-east-1:{ACCOUNT}:autoScalingGroup:1-2-3:autoScalingGroupName/web"


def test_insufficient_capacity_is_ec2s_server_error_naming_the_other_zones() -> None:
    """https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (server errors)"""
    err = insufficient_capacity("t3.micro", "us-east-1a", ZONES)
    assert (err.code, err.status, err.sender) == ("InsufficientInstanceCapacity", 500, False)
    assert err.message == (
        "We currently do not have sufficient t3.micro capacity in the Availability Zone you requested "
        "(us-east-1a). Our system will be working on provisioning additional capacity. You can currently get "
        "t3.micro capacity by not specifying an Availability Zone in your request or choosing us-east-1b, "
        "us-east-1c."
    )
    assert insufficient_capacity("t3.micro", "us-east-1a", ["us-east-1a"]).message.endswith("in your request.")


def test_zones_are_named_by_name_or_id_and_unknown_ones_name_nothing() -> None:
    assert zone_names("us-east-1a, use1-az2", ZONES) == {"us-east-1a", "us-east-1b"}
    assert zone_names("eu-west-1a,use1-az9", ZONES) == frozenset()


def _group(name: str = "web") -> Group:
    subnets = [Subnet(f"subnet-{z[-1]}", "vpc-1", z, f"10.0.{i}.0/24") for i, z in enumerate(ZONES[:2])]
    return Group(name, GroupTemplate("lt"), subnets, 0, 4, 2, [])


def test_a_group_fault_refuses_only_its_groups_launches_into_its_zones() -> None:
    fault = GroupLaunchFault(frozenset({"web"}), frozenset({"us-east-1a"}), 100.0)
    refused = fault.check(_group(), "us-east-1a")
    assert refused is not None and refused.code == "InsufficientInstanceCapacity"
    assert "or choosing us-east-1b." in refused.message  # the group's other zone
    assert fault.check(_group(), "us-east-1b") is None
    assert fault.check(_group("other"), "us-east-1a") is None


def test_a_group_fault_refuses_its_percentage_of_launches() -> None:
    fault = GroupLaunchFault(frozenset({"web"}), frozenset({"us-east-1a"}), 30.0, random.Random(7))
    refused = sum(fault.check(_group(), "us-east-1a") is not None for _ in range(2000))
    assert 500 < refused < 700


@pytest.fixture
def asg(tmp_path: Path) -> AutoScalingBackend:
    backend = AutoScalingBackend(SimpleNamespace(clock=LabClock(), config=LabConfig(home=tmp_path), events=EventLog()))
    backend.groups["web"] = _group()
    return backend


def test_every_zone_refusing_leaves_a_failed_activity_per_zone_and_no_launch(asg: AutoScalingBackend) -> None:
    asg.add_launch_check("f", GroupLaunchFault(frozenset({"web"}), frozenset(ZONES), 100.0).check)
    (order,) = asg._launch_plan(asg.groups["web"], 1)
    assert asyncio.run(asg._launch(asg.groups["web"], order)) is None  # no EC2 call: the lab here has no EC2
    failed = asg.groups["web"].activities
    assert [json.loads(a["Details"])["Availability Zone"] for a in failed] == ["us-east-1a", "us-east-1b"]
    assert {a["StatusCode"] for a in failed} == {"Failed"}
    first = failed[0]
    assert first["StatusMessage"].startswith("We currently do not have sufficient t3.micro capacity")
    assert first["StatusMessage"].endswith("Launching EC2 instance failed.")
    assert first["Description"] == f"Launching a new EC2 instance.  Status Reason: {first['StatusMessage']}"
    asg.remove_launch_check("f")
    asg.remove_launch_check("f")  # idempotent
    assert asg._launch_checks == {}


def test_a_group_launches_outside_shifted_zones_unless_nothing_else_is_left(asg: AutoScalingBackend) -> None:
    group = asg.groups["web"]
    first, second = asg._launch_plan(group, 2)  # launched together, they spread over the zones
    assert [s.az for s in first] == ["us-east-1a", "us-east-1b"]
    assert [s.az for s in second] == ["us-east-1b", "us-east-1a"]
    asg.shift_zone("web", "exp/shift", "us-east-1a")
    assert [[s.az for s in order] for order in asg._launch_plan(group, 2)] == [["us-east-1b"], ["us-east-1b"]]
    asg.shift_zone("web", "exp/other", "us-east-1b")
    assert [s.az for s in asg._launch_plan(group, 1)[0]] == ["us-east-1a", "us-east-1b"]
    asg.unshift_zone("exp/shift")
    asg.unshift_zone("exp/other")
    asg.unshift_zone("exp/other")
    assert group.zonal_shifts == {}


def _ctx(principal: str, instance_ids: list[str]) -> Any:
    instances = {
        "i-a": SimpleNamespace(az="us-east-1a", instance_type="t3.small"),
        "i-b": SimpleNamespace(az="us-east-1b", instance_type="t3.micro"),
    }
    ec2 = SimpleNamespace(instances=instances, availability_zones=lambda: ZONES[:2])
    return SimpleNamespace(principal_arn=principal, lab=SimpleNamespace(ec2=ec2), params={"InstanceIds": instance_ids})


def test_the_api_fault_answers_the_roles_requests_for_capacity_in_its_zones() -> None:
    zones = frozenset({"us-east-1a"})
    fault = CapacityApiRule(
        "insufficient-capacity", "ec2", API_OPERATIONS, 100.0, frozenset({"app"}), ACCOUNT, zones=zones
    )
    role = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s"
    err = fault.hook(_ctx(role, ["i-b", "i-a"]), "ec2", "StartInstances")
    assert err is not None and err.code == "InsufficientInstanceCapacity"
    assert "t3.small capacity in the Availability Zone you requested (us-east-1a)" in err.message
    assert fault.hook(_ctx(role, ["i-b"]), "ec2", "StartInstances") is None  # not in its zones
    assert fault.hook(_ctx(role, ["i-gone"]), "ec2", "StartInstances") is None  # EC2's own NotFound answers
    assert fault.hook(_ctx(role, ["i-a"]), "ec2", "StopInstances") is None
    other = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/s"
    assert fault.hook(_ctx(other, ["i-a"]), "ec2", "StartInstances") is None


def test_managed_resource_types_pick_load_balancers_and_groups() -> None:
    resources = [Resource(ALB, "aws:arc:zonal-shift-managed-resource", {}), Resource(ASG, "x", {})]
    assert [managed_type(r.arn) for r in resources] == ["ALB", "ASG"]
    assert chosen(resources, "ALB") == resources[:1]
    assert chosen(resources, "ASG, NLB") == resources[1:]
    assert chosen(resources, "EKS") == []


_PLANE = DataPlane(workers=1)  # never started: the routing state alone, no worker processes


def _registration(target: str, az: str, state: str) -> Registration:
    reg = Registration(target, 80, None, RemoteUpstream(_PLANE, target, "10.0.0.1", 80), az=az)
    reg.health.set(state, None)
    return reg


def test_a_shifted_target_group_routes_only_to_targets_outside_the_zone() -> None:
    tg = TargetGroup("arn:tg", "tg", "HTTP", 80, "vpc-1", "instance", {}, "200", RemotePool(_PLANE, "targetgroup/tg/1"))
    for reg in (
        _registration("i-a", "us-east-1a", hc.HEALTHY),
        _registration("i-b", "us-east-1b", hc.UNHEALTHY),
    ):
        tg.targets[(reg.target_id, 80)] = reg
    route(tg)
    assert [u.target_id for u in tg.pool.routable] == ["i-a"]
    tg.away_zones = frozenset({"us-east-1a"})
    route(tg)
    assert [u.target_id for u in tg.pool.routable] == ["i-b"]  # fail-open among what is left
    tg.away_zones = frozenset(ZONES)
    route(tg)
    assert tg.pool.routable == []


def test_reverts_are_idempotent_and_need_nothing_of_a_dead_lab(asg: AutoScalingBackend) -> None:
    """After a crash the watchdog replays the journal with no services: the faults died with the lab."""
    asyncio.run(REGISTRY["capacity.asg_launches"].revert(_DeadLab(), {"key": "exp/a"}))
    asyncio.run(REGISTRY["arc.zonal_shift"].revert(_DeadLab(), {"shift_id": "exp/a"}))
    live = SimpleNamespace(autoscaling=asg, elbv2=None)
    asg.add_launch_check("exp/a", GroupLaunchFault(frozenset({"web"}), frozenset(ZONES), 100.0).check)
    asg.shift_zone("web", "exp/a", "us-east-1a")
    for _ in range(2):
        asyncio.run(REGISTRY["capacity.asg_launches"].revert(live, {"key": "exp/a"}))
        asyncio.run(REGISTRY["arc.zonal_shift"].revert(live, {"shift_id": "exp/a"}))
    assert asg._launch_checks == {} and asg.groups["web"].zonal_shifts == {}


@pytest.mark.parametrize(("status", "runnable"), [("ENABLED", True), ("ANY", True), ("DISABLED", False)])
def test_lab_resources_count_as_autoshift_enabled(status: str, runnable: bool) -> None:
    action = {
        "actionId": "aws:arc:start-zonal-autoshift",
        "parameters": {"availabilityZoneIdentifier": "us-east-1a", "duration": "PT1M", "zonalAutoshiftStatus": status},
        "targets": {"ManagedResources": "M"},
    }
    target = {"resourceType": "aws:arc:zonal-shift-managed-resource", "resourceArns": [ALB], "selectionMode": "ALL"}
    assert (gaps({"actions": {"Shift": action}, "targets": {"M": target}}) == []) == runnable
