"""Zonal shift on a load balancer: which zone each target is in, and which zones a target group's
load balancers have shifted their traffic away from. The routing list (`health.route`) leaves
targets in those zones out; they stay registered and health-checked, as on AWS."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from chaoslab.services.elbv2.models import LoadBalancer, TargetGroup


def target_zone(lab: Any, target_type: str, target_id: str, requested: str | None) -> str | None:
    """The zone a target runs in: an instance's, an ECS task's (ip targets), else the subnet whose
    range holds the address, else the zone the registration named (None if nothing says)."""
    ec2 = getattr(lab, "ec2", None)
    if target_type == "instance":
        instance = getattr(ec2, "instances", {}).get(target_id)
        return str(instance.az) if instance is not None else None
    ecs = getattr(lab, "ecs", None)
    for task in getattr(ecs, "tasks", {}).values():
        if task.private_ip == target_id:
            return str(task.subnet.az)
    try:
        address = ipaddress.IPv4Address(target_id)
    except ValueError:
        return None
    for vpc in getattr(ec2, "vpcs", {}).values():
        for subnet in vpc.subnets.values():
            if address in ipaddress.IPv4Network(subnet.cidr):
                return str(subnet.az)
    return requested if requested and requested != "all" else None


def away_zones(tg: TargetGroup, load_balancers: dict[str, LoadBalancer]) -> frozenset[str]:
    """Every zone a load balancer forwarding to `tg` has shifted away from."""
    return frozenset(_zones(load_balancers[a] for a in tg.load_balancer_arns if a in load_balancers))


def _zones(lbs: Iterable[LoadBalancer]) -> set[str]:
    return {zone for lb in lbs for zone in lb.zonal_shifts.values()}
