"""ELBv2 resources as the backend keeps them, and their boto3-shaped views."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.net.albplane import RemoteListener, RemotePool, RemoteUpstream
from chaoslab.net.albstats import RequestStats
from chaoslab.net.healthcheck import TargetHealthState

LB_ATTRIBUTE_DEFAULTS = {
    "idle_timeout.timeout_seconds": "60",
    "client_keep_alive.seconds": "3600",
    "deletion_protection.enabled": "false",
    "routing.http2.enabled": "true",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http.preserve_host_header.enabled": "false",
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "load_balancing.cross_zone.enabled": "true",
}

TG_ATTRIBUTE_DEFAULTS = {
    "deregistration_delay.timeout_seconds": "300",
    "slow_start.duration_seconds": "0",
    "load_balancing.algorithm.type": "round_robin",
    "load_balancing.algorithm.anomaly_mitigation": "off",
    "load_balancing.cross_zone.enabled": "use_load_balancer_configuration",
    "stickiness.enabled": "false",
    "stickiness.type": "lb_cookie",
    "stickiness.lb_cookie.duration_seconds": "86400",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count": "1",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
    "target_group_health.dns_failover.minimum_healthy_targets.count": "1",
    "target_group_health.dns_failover.minimum_healthy_targets.percentage": "off",
}

# Health-check settings an ALB HTTP target group gets when the caller names none.
HEALTH_CHECK_DEFAULTS: dict[str, Any] = {
    "HealthCheckProtocol": "HTTP",
    "HealthCheckPort": "traffic-port",
    "HealthCheckEnabled": True,
    "HealthCheckIntervalSeconds": 30,
    "HealthCheckTimeoutSeconds": 5,
    "HealthyThresholdCount": 5,
    "UnhealthyThresholdCount": 2,
    "HealthCheckPath": "/",
}


def _now() -> datetime:
    return datetime.now(UTC)


def arn_suffix(arn: str) -> str:
    """CloudWatch dimension value: the resource part after `loadbalancer/` or `:`."""
    resource = arn.split(":", 5)[5]
    return resource.split("/", 1)[1] if resource.startswith("loadbalancer/") else resource


@dataclass
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    scheme: str
    vpc_id: str
    subnets: list[str]
    zones: list[dict[str, Any]]
    security_groups: list[str]
    ip_address_type: str
    stats: RequestStats
    key: int  # the data plane's number for it (net/albplane.py)
    created: datetime = field(default_factory=_now)
    attributes: dict[str, str] = field(default_factory=lambda: dict(LB_ATTRIBUTE_DEFAULTS))
    tags: dict[str, str] = field(default_factory=dict)
    listeners: list[str] = field(default_factory=list)
    zonal_shifts: dict[str, str] = field(default_factory=dict)  # shift id -> zone traffic left

    def describe(self) -> dict[str, Any]:
        return {
            "LoadBalancerArn": self.arn,
            "DNSName": self.dns_name,
            "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
            "CreatedTime": self.created,
            "LoadBalancerName": self.name,
            "Scheme": self.scheme,
            "VpcId": self.vpc_id,
            "State": {"Code": "active"},
            "Type": "application",
            "AvailabilityZones": self.zones,
            "SecurityGroups": self.security_groups,
            "IpAddressType": self.ip_address_type,
        }


@dataclass
class Registration:
    """A target registered in a target group: its address, health and data-plane handle."""

    target_id: str
    port: int
    zone: str | None
    upstream: RemoteUpstream
    health: TargetHealthState = field(default_factory=TargetHealthState)
    checker: asyncio.Task[None] | None = None
    drain_timer: asyncio.TimerHandle | None = None
    az: str | None = None  # the zone the target runs in (zone above is what the registration named)

    def describe(self, health_check_port: str) -> dict[str, Any]:
        target: dict[str, Any] = {"Id": self.target_id, "Port": self.port}
        if self.zone:
            target["AvailabilityZone"] = self.zone
        health: dict[str, Any] = {"State": self.health.state}
        if self.health.reason:
            health["Reason"] = self.health.reason
        if self.health.description:
            health["Description"] = self.health.description
        port = str(self.port) if health_check_port == "traffic-port" else health_check_port
        return {"Target": target, "HealthCheckPort": port, "TargetHealth": health}


@dataclass
class TargetGroup:
    arn: str
    name: str
    protocol: str
    port: int | None
    vpc_id: str | None
    target_type: str
    health_check: dict[str, Any]
    matcher: str
    pool: RemotePool
    attributes: dict[str, str] = field(default_factory=lambda: dict(TG_ATTRIBUTE_DEFAULTS))
    tags: dict[str, str] = field(default_factory=dict)
    load_balancer_arns: list[str] = field(default_factory=list)
    targets: dict[tuple[str, int], Registration] = field(default_factory=dict)
    away_zones: frozenset[str] = frozenset()  # zones its load balancers shifted traffic away from

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "TargetGroupArn": self.arn,
            "TargetGroupName": self.name,
            "Protocol": self.protocol,
            **self.health_check,
            "Matcher": {"HttpCode": self.matcher},
            "LoadBalancerArns": list(self.load_balancer_arns),
            "TargetType": self.target_type,
            "ProtocolVersion": "HTTP1",
            "IpAddressType": "ipv4",
        }
        if self.port is not None:
            out["Port"] = self.port
        if self.vpc_id:
            out["VpcId"] = self.vpc_id
        return out


@dataclass
class Listener:
    arn: str
    load_balancer_arn: str
    port: int
    protocol: str
    default_actions: list[dict[str, Any]]
    target_group_arn: str
    proxy: RemoteListener
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "ListenerArn": self.arn,
            "LoadBalancerArn": self.load_balancer_arn,
            "Port": self.port,
            "Protocol": self.protocol,
            "DefaultActions": self.default_actions,
        }
