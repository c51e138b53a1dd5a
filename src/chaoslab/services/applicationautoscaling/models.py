"""Scalable targets, scaling policies and activities as Application Auto Scaling describes them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.scaling.engine import Policy

ECS_DIMENSION = "ecs:service:DesiredCount"


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class TargetKey:
    namespace: str
    resource_id: str
    dimension: str

    def words(self) -> str:
        """How AWS names a target in its errors."""
        return (
            f"service namespace: {self.namespace}, resource ID: {self.resource_id}, "
            f"scalable dimension: {self.dimension}"
        )


@dataclass
class ScalableTarget:
    key: TargetKey
    arn: str
    min_capacity: int
    max_capacity: int
    role_arn: str
    created: float
    suspended: dict[str, bool] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def cluster_and_service(self) -> tuple[str, str]:
        _, cluster, service = self.key.resource_id.split("/", 2)
        return cluster, service

    def describe(self) -> dict[str, Any]:
        return {
            "ServiceNamespace": self.key.namespace,
            "ResourceId": self.key.resource_id,
            "ScalableDimension": self.key.dimension,
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
            "RoleARN": self.role_arn,
            "CreationTime": utc(self.created),
            "SuspendedState": {
                k: self.suspended.get(k, False)
                for k in ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
            },
            "ScalableTargetARN": self.arn,
        }


@dataclass
class PolicyRecord:
    """A policy as the caller put it (for Describe) and as the engine runs it."""

    key: TargetKey
    request: dict[str, Any]
    created: float
    run: Policy

    def describe(self, alarms: list[dict[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "PolicyARN": self.run.arn,
            "PolicyName": self.run.name,
            "ServiceNamespace": self.key.namespace,
            "ResourceId": self.key.resource_id,
            "ScalableDimension": self.key.dimension,
            "PolicyType": self.run.kind,
            "Alarms": alarms,
            "CreationTime": utc(self.created),
        }
        for member in ("StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration"):
            if member in self.request:
                out[member] = copy.deepcopy(self.request[member])
        return out
