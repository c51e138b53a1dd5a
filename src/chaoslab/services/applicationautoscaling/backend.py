"""ApplicationAutoScalingBackend (`lab.applicationautoscaling`): scalable targets (ECS services'
desiredCount), their policies, run by the lab's scaling engine on the real CloudWatch alarms, and
the scaling activities each change records. Knows AWS semantics, nothing about HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.scaling import rules, tracking
from chaoslab.scaling.engine import STEP, TARGET_TRACKING, Policy, ScalingEngine, Stepping, Tracking
from chaoslab.services.applicationautoscaling.metrics import invalid, tracked_metric
from chaoslab.services.applicationautoscaling.models import (
    ECS_DIMENSION,
    PolicyRecord,
    ScalableTarget,
    TargetKey,
    utc,
)
from chaoslab.services.applicationautoscaling.scheduled import TargetSchedules
from chaoslab.types import LabLike

DEFAULT_COOLDOWN = 300.0
"""ECS target tracking's scale-out and scale-in cooldowns when the policy gives none (seconds)."""
ACTIVITY_KEEP = 1000


def not_found(message: str) -> AwsError:
    return AwsError("ObjectNotFoundException", message)


class EcsCapacity:
    """An ECS service's desiredCount as a scalable target of the engine."""

    def __init__(self, backend: ApplicationAutoScalingBackend, target: ScalableTarget) -> None:
        self.backend = backend
        self.target = target

    def bounds(self) -> tuple[int, int]:
        return self.target.min_capacity, self.target.max_capacity

    def capacity(self) -> int:
        cluster, service = self.target.cluster_and_service
        desired: int = self.backend.lab.ecs.service(cluster, service).desired_count
        return desired

    def scale_to(self, capacity: int, policy: str, alarm: str | None) -> bool:
        out = capacity > self.capacity()
        suspended = "DynamicScalingOutSuspended" if out else "DynamicScalingInSuspended"
        if self.target.suspended.get(suspended):
            return False
        self.backend.set_capacity(
            self.target, capacity, f"monitor alarm {alarm} in state ALARM triggered policy {policy}"
        )
        return True


class ApplicationAutoScalingBackend:
    """One region's Application Auto Scaling, for ECS services."""

    def __init__(self, lab: LabLike) -> None:
        self.lab = lab
        self.targets: dict[TargetKey, ScalableTarget] = {}
        self.policies: dict[tuple[TargetKey, str], PolicyRecord] = {}
        self.activities: list[dict[str, Any]] = []
        self.engine = ScalingEngine(lab)
        self.schedules = TargetSchedules(self)

    async def start(self) -> None:
        await self.engine.start()
        self.schedules.scheduler.start()

    async def stop(self) -> None:
        await self.schedules.scheduler.stop()
        await self.engine.stop()

    # scalable targets ------------------------------------------------------------------------
    def register_target(
        self,
        key: TargetKey,
        min_capacity: int | None,
        max_capacity: int | None,
        role_arn: str | None = None,
        suspended: dict[str, bool] | None = None,
        tags: dict[str, str] | None = None,
    ) -> ScalableTarget:
        """Create or update a target; a minimum above the service's desiredCount (or a maximum
        below it) moves it into range at once, as a scaling activity."""
        self._check_key(key)
        old = self.targets.get(key)
        low = min_capacity if min_capacity is not None else old.min_capacity if old else None
        high = max_capacity if max_capacity is not None else old.max_capacity if old else None
        if low is None or high is None:
            raise invalid("MinCapacity and MaxCapacity are required when registering a new scalable target.")
        if low < 0 or high < 0:
            raise invalid("MinCapacity and MaxCapacity must be non-negative.")
        if low > high:
            raise invalid("Minimum capacity cannot be greater than maximum capacity.")
        cluster, service = key.resource_id.split("/", 2)[1:]
        self.lab.ecs.service(cluster, service)  # ServiceNotFound is the caller's error as it is
        if old is None:
            role = role_arn or make_arn(
                "iam",
                "",
                self.lab.config.account_id,
                "role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_ECSService",
            )
            arn = make_arn(
                "application-autoscaling",
                self.lab.config.region,
                self.lab.config.account_id,
                f"scalable-target/{uuid.uuid4().hex}",
            )
            old = ScalableTarget(key, arn, low, high, role, self.lab.clock.now())
            self.targets[key] = old
        old.min_capacity, old.max_capacity = low, high
        old.suspended.update(suspended or {})
        old.tags.update(tags or {})
        current = EcsCapacity(self, old).capacity()
        if current < low:
            self.set_capacity(old, low, f"minimum capacity was set to {low}")
        elif current > high:
            self.set_capacity(old, high, f"maximum capacity was set to {high}")
        return old

    def _check_key(self, key: TargetKey) -> None:
        if key.namespace != "ecs" or key.dimension != ECS_DIMENSION:
            raise invalid(
                f"chaoslab scales ECS services only (service namespace ecs, scalable dimension {ECS_DIMENSION}); "
                f"got {key.namespace} {key.dimension}."
            )
        parts = key.resource_id.split("/")
        if len(parts) != 3 or parts[0] != "service" or not all(parts):
            raise invalid(f"Unsupported resource ID {key.resource_id}: an ECS service is service/<cluster>/<service>.")

    def target(self, key: TargetKey) -> ScalableTarget:
        found = self.targets.get(key)
        if found is None:
            raise not_found(f"No scalable target registered for {key.words()}")
        return found

    def deregister_target(self, key: TargetKey) -> None:
        """The target, its policies and scheduled actions go; so do the alarms its target-tracking
        policies made."""
        self.target(key)
        for policy_key in [k for k in self.policies if k[0] == key]:
            self._drop_policy(self.policies.pop(policy_key))
        self.schedules.drop_target(key)
        del self.targets[key]

    def describe_targets(self, namespace: str, ids: list[str] | None, dimension: str | None) -> list[ScalableTarget]:
        return [
            t
            for t in self.targets.values()
            if t.key.namespace == namespace
            and (not ids or t.key.resource_id in ids)
            and (dimension is None or t.key.dimension == dimension)
        ]

    def by_arn(self, arn: str) -> ScalableTarget:
        found = next((t for t in self.targets.values() if t.arn == arn), None)
        if found is None:
            raise AwsError("ResourceNotFoundException", f"No scalable target found for resource ARN {arn}.")
        return found

    # capacity and activities -----------------------------------------------------------------
    def current_capacity(self, target: ScalableTarget) -> int:
        return EcsCapacity(self, target).capacity()

    def set_capacity(self, target: ScalableTarget, capacity: int, cause: str) -> None:
        """Set the service's desiredCount and record the activity as Application Auto Scaling words it."""
        cluster, service = target.cluster_and_service
        old = self.lab.ecs.service(cluster, service).desired_count
        self.lab.ecs.update_service(cluster, service, desired_count=capacity)
        self.record_activity(
            target,
            f"Setting desired count to {capacity}.",
            cause,
            f"Successfully set desired count to {capacity}. Change successfully fulfilled by ecs.",
        )
        self.lab.events.emit(
            "scaling.activity",
            service="application-autoscaling",
            resource=target.key.resource_id,
            old=old,
            capacity=capacity,
            cause=cause,
        )

    def record_activity(
        self, target: ScalableTarget, description: str, cause: str, message: str, status: str = "Successful"
    ) -> None:
        """One scaling activity, newest first, as DescribeScalingActivities lists them."""
        now = self.lab.clock.now()
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": target.key.namespace,
            "ResourceId": target.key.resource_id,
            "ScalableDimension": target.key.dimension,
            "Description": description,
            "Cause": cause,
            "StartTime": utc(now),
            "EndTime": utc(now),
            "StatusCode": status,
            "StatusMessage": message,
        }
        self.activities.insert(0, activity)
        del self.activities[ACTIVITY_KEEP:]

    def describe_activities(
        self, namespace: str, resource_id: str | None, dimension: str | None
    ) -> list[dict[str, Any]]:
        return [
            a
            for a in self.activities
            if a["ServiceNamespace"] == namespace
            and (resource_id is None or a["ResourceId"] == resource_id)
            and (dimension is None or a["ScalableDimension"] == dimension)
        ]

    # policies --------------------------------------------------------------------------------
    def put_policy(self, key: TargetKey, name: str, kind: str, request: dict[str, Any]) -> PolicyRecord:
        """Create or replace a policy; target tracking (re)creates its alarms in CloudWatch."""
        target = self.target(key)
        old = self.policies.get((key, name))
        policy_uuid = old.run.arn.split(":")[6] if old else str(uuid.uuid4())
        arn = make_arn(
            "autoscaling",
            self.lab.config.region,
            self.lab.config.account_id,
            f"scalingPolicy:{policy_uuid}:resource/{key.namespace}/{key.resource_id}:policyName/{name}",
        )
        run = Policy(arn, name, kind, EcsCapacity(self, target))
        bodies: list[dict[str, Any]] = []
        if kind == TARGET_TRACKING:
            config = request.get("TargetTrackingScalingPolicyConfiguration")
            if not config:
                raise invalid(
                    "TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy."
                )
            metric = tracked_metric(key.resource_id, config)
            run.tracking = Tracking(
                float(config["TargetValue"]),
                float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN)),
                float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN)),
                bool(config.get("DisableScaleIn", False)),
            )
            bodies = tracking.alarm_bodies(
                key.resource_id, policy_uuid, arn, metric, run.tracking.target_value, not run.tracking.disable_scale_in
            )
        elif kind == STEP:
            run.stepping = _stepping(request.get("StepScalingPolicyConfiguration"))
        else:
            raise invalid(f"chaoslab runs TargetTrackingScaling and StepScaling policies, not {kind}.")
        if old is not None:
            self._drop_policy(old)
        for body in bodies:
            self.lab.cloudwatch.put_metric_alarm(body)
        run.alarms = [b["AlarmName"] for b in bodies]
        if old is not None:
            run.last_out, run.last_in = old.run.last_out, old.run.last_in
        record = PolicyRecord(key, request, old.created if old else self.lab.clock.now(), run)
        self.policies[(key, name)] = record
        self.engine.add(run)
        return record

    def delete_policy(self, key: TargetKey, name: str) -> None:
        record = self.policies.pop((key, name), None)
        if record is None:
            raise not_found(f"No scaling policy found for {key.words()}, policy name: {name}")
        self._drop_policy(record)

    def _drop_policy(self, record: PolicyRecord) -> None:
        self.engine.remove(record.run.arn)
        alive = [a for a in record.run.alarms if a in self.lab.cloudwatch.alarms]
        if alive:
            self.lab.cloudwatch.delete_alarms(alive)

    def describe_policies(
        self, namespace: str, names: list[str] | None, resource_id: str | None, dimension: str | None
    ) -> list[dict[str, Any]]:
        out = []
        for (key, name), record in self.policies.items():
            if key.namespace != namespace or (names and name not in names):
                continue
            if (resource_id is not None and key.resource_id != resource_id) or (
                dimension is not None and key.dimension != dimension
            ):
                continue
            alarms = self.lab.cloudwatch.describe_alarms(action_prefix=record.run.arn)
            out.append(record.describe([{"AlarmName": a.name, "AlarmARN": a.arn} for a in alarms]))
        return out


def _stepping(config: dict[str, Any] | None) -> Stepping:
    if not config:
        raise invalid("StepScalingPolicyConfiguration is required for a StepScaling policy.")
    adjustment_type = config.get("AdjustmentType")
    if adjustment_type not in rules.ADJUSTMENT_TYPES:
        raise invalid(f"AdjustmentType must be one of {', '.join(rules.ADJUSTMENT_TYPES)}.")
    steps = tuple(
        rules.Step(s.get("MetricIntervalLowerBound"), s.get("MetricIntervalUpperBound"), int(s["ScalingAdjustment"]))
        for s in config.get("StepAdjustments") or []
    )
    try:
        rules.check_steps(steps)
    except rules.RuleError as e:
        raise invalid(str(e)) from None
    magnitude = config.get("MinAdjustmentMagnitude")
    if magnitude is not None and adjustment_type != rules.PERCENT:
        raise invalid("MinAdjustmentMagnitude is only valid with AdjustmentType PercentChangeInCapacity.")
    return Stepping(adjustment_type, steps, None, magnitude, float(config.get("Cooldown", 0)))
