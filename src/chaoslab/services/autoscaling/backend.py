"""Auto Scaling semantics: keep `desired` instances InService, spread over the group's AZs;
replace instances that stop running (always) or that the ALB finds unhealthy (health-check type
ELB, after the grace period). Members register with the group's target groups at launch.

Two outside influences on where a group launches: launch checks (a zone refusing launches with
EC2's error, as when it has no capacity: the group records a failed activity and tries its other
zones) and zonal shifts (the group launches outside the shifted zones; its members there stay)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.autoscaling.policies import GroupPolicies
from chaoslab.services.autoscaling.refresh_runs import GroupRefreshes
from chaoslab.services.autoscaling.scheduled import GroupSchedules
from chaoslab.services.ec2.launch_templates import LaunchTemplate, Version, launch_groups
from chaoslab.services.ec2.models import Instance, Subnet
from chaoslab.services.ec2.userdata import decode_user_data
from chaoslab.types import LabLike

log = logging.getLogger(__name__)

# How often the group sweeps its members' health. AWS does not publish this; instance-state
# changes are noticed within about a minute in practice, which two sweeps in a row finding a
# member not running model: 30-60 s after the change. Stacks may shorten it (fast CI runs).
DEFAULT_SWEEP_SECONDS = 30.0


@dataclass
class GroupTemplate:
    """The EC2 launch template a group launches from, by name, resolved at every launch (so
    `$Latest` follows new versions), and what the lab adds to its members: the port they serve
    (registration, the wait for a first health check) and their environment (a stack's DB_*)."""

    name: str
    version: str = "$Default"
    port: int = 80
    environment: dict[str, str] = field(default_factory=dict)


@dataclass
class Member:
    instance_id: str
    az: str
    launched: float
    lifecycle: str = "Pending"  # Pending | InService | Terminating | Terminated
    health: str = "Healthy"
    template_version: str = "1"


@dataclass
class Group:
    name: str
    template: GroupTemplate
    subnets: list[Subnet]
    min_size: int
    max_size: int
    desired: int
    target_group_arns: list[str]
    health_check_type: str = "EC2"
    grace: int = 300
    tags: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    sweep_seconds: float = DEFAULT_SWEEP_SECONDS
    unhealthy_in_elb: set[str] = field(default_factory=set)
    zonal_shifts: dict[str, str] = field(default_factory=dict)  # shift id -> zone traffic left
    instance_type: str = "t3.micro"  # of the template version last launched
    desired_cause: str | None = None  # a scaling policy's change, until the group reaches it
    surge: int = 0  # instances an instance refresh may keep above the desired capacity
    launch_version: str | None = None  # an instance refresh's desired version, while it runs
    elb_healthy: set[str] = field(default_factory=set)
    not_running_at_last_sweep: set[str] = field(default_factory=set)  # instance ids

    def arn(self, region: str, account: str) -> str:
        return (
            f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{uuid.uuid5(uuid.NAMESPACE_URL, self.name)}"
            f":autoScalingGroupName/{self.name}"
        )

    def live(self) -> list[Member]:
        return [m for m in self.members.values() if m.lifecycle in ("Pending", "InService")]


LaunchCheck = Callable[[Group, str], "AwsError | None"]
"""(group, zone) -> the error EC2 answers that launch with, or None to let it go ahead."""


class AutoScalingBackend:
    """`lab.autoscaling`."""

    def __init__(self, lab: LabLike) -> None:
        self.lab = lab
        self.groups: dict[str, Group] = {}
        # Port and environment a stack gave its launch templates' members, by template name: what
        # a group made through the API from that template starts from.
        self.template_defaults: dict[str, GroupTemplate] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._kick: dict[str, asyncio.Event] = {}
        self._launch_checks: dict[str, LaunchCheck] = {}
        self.policies = GroupPolicies(self)
        self.refreshes = GroupRefreshes(self)
        self.schedules = GroupSchedules(self)

    async def start(self) -> None:
        self.lab.elbv2.add_health_listener(self._target_health_changed)
        await self.policies.engine.start()
        self.schedules.scheduler.start()

    async def stop(self) -> None:
        await self.schedules.scheduler.stop()
        await self.policies.engine.stop()
        for task in self._loops.values():
            task.cancel()
        await asyncio.gather(*self._loops.values(), return_exceptions=True)

    # API-level operations ------------------------------------------------------------------
    async def create_group(
        self,
        name: str,
        template: GroupTemplate,
        subnets: list[Subnet],
        *,
        min_size: int,
        max_size: int,
        desired: int | None = None,
        target_group_arns: list[str] | None = None,
        health_check_type: str = "EC2",
        grace: int = 300,
        tags: list[dict[str, Any]] | None = None,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
        wait: bool = True,
    ) -> Group:
        if name in self.groups:
            raise AwsError(
                "AlreadyExists",
                f"AutoScalingGroup by this name already exists - A group with the name {name} already exists",
            )
        desired = min_size if desired is None else desired
        if not (0 <= min_size <= desired <= max_size):
            raise AwsError(
                "ValidationError",
                f"Desired capacity:{desired} must be between the specified min size:{min_size} and max size:{max_size}",
            )
        if health_check_type not in ("EC2", "ELB"):
            raise AwsError("ValidationError", f"HealthCheckType must be EC2 or ELB, not {health_check_type!r}")
        _check_grace(grace)
        _, version = self._resolve(template)
        if not subnets:
            raise AwsError("ValidationError", "At least one subnet (VPCZoneIdentifier) is required")
        group = Group(
            name,
            template,
            subnets,
            min_size,
            max_size,
            desired,
            list(target_group_arns or []),
            health_check_type,
            grace,
            list(tags or []),
            sweep_seconds=sweep_seconds,
            instance_type=version.data.get("InstanceType") or "t3.micro",
        )
        self.groups[name] = group
        self._kick[name] = asyncio.Event()
        if wait:
            await self._converge(group)
        self._loops[name] = asyncio.create_task(self._run(group))
        return group

    def get(self, name: str) -> Group:
        group = self.groups.get(name)
        if group is None:
            raise AwsError("ValidationError", f"AutoScalingGroup name not found - AutoScalingGroup '{name}' not found")
        return group

    def kick(self, name: str) -> None:
        """Run the group's control loop now rather than at its next tick."""
        self._kick[name].set()

    def resolved_version(self, group: Group) -> str:
        """The launch template version number the group's next launch would use."""
        return str(
            self._resolve(replace(group.template, version=group.launch_version or group.template.version))[1].number
        )

    def set_desired(self, name: str, desired: int) -> None:
        group = self.get(name)
        if not group.min_size <= desired <= group.max_size:
            raise AwsError(
                "ValidationError",
                f"New SetDesiredCapacity value {desired} is below min value {group.min_size} or above max value {group.max_size} for the AutoScalingGroup.",
            )
        group.desired = desired
        self._kick[name].set()

    def update_group(
        self,
        name: str,
        *,
        min_size: int | None = None,
        max_size: int | None = None,
        desired: int | None = None,
        grace: int | None = None,
        health_check_type: str | None = None,
    ) -> None:
        """Checked as a whole before any change; a new min/max without a desired capacity pulls the
        desired capacity into range, as AWS does, but an explicit desired capacity must fit."""
        group = self.get(name)
        low = group.min_size if min_size is None else min_size
        high = group.max_size if max_size is None else max_size
        if low < 0:
            raise AwsError("ValidationError", f"The min size:{low} must be greater than or equal to 0")
        if low > high:
            raise AwsError(
                "ValidationError", f"The max size:{high} must be greater than or equal to the min size:{low}"
            )
        if desired is not None and not low <= desired <= high:
            raise AwsError(
                "ValidationError",
                f"Desired capacity:{desired} must be between the specified min size:{low} and max size:{high}",
            )
        if health_check_type not in (None, "EC2", "ELB"):
            raise AwsError("ValidationError", f"HealthCheckType must be EC2 or ELB, not {health_check_type!r}")
        if grace is not None:
            _check_grace(grace)
        group.min_size, group.max_size = low, high
        group.desired = max(low, min(high, group.desired if desired is None else desired))
        group.grace = group.grace if grace is None else grace
        group.health_check_type = health_check_type or group.health_check_type
        self._kick[name].set()

    async def delete_group(self, name: str, force: bool = False) -> None:
        group = self.get(name)
        if group.live() and not force:
            raise AwsError(
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.",
                400,
            )
        task = self._loops.pop(name, None)
        if task:
            task.cancel()
        for member in group.live():
            await self.retire(group, member, "group deleted")
        del self.groups[name]
        self.policies.delete_group(name)
        self.refreshes.delete_group(name)
        self.schedules.delete_group(name)

    # outside influences on launches ------------------------------------------------------------
    def add_launch_check(self, key: str, check: LaunchCheck) -> None:
        """Ask `check` before every launch; the first error any check returns fails that launch."""
        self._launch_checks[key] = check

    def remove_launch_check(self, key: str) -> None:
        """Idempotent: removing a check that is not there does nothing."""
        self._launch_checks.pop(key, None)

    def shift_zone(self, name: str, shift_id: str, zone: str) -> None:
        """A zonal shift: the group launches outside `zone` until `unshift_zone(shift_id)`."""
        self.get(name).zonal_shifts[shift_id] = zone

    def unshift_zone(self, shift_id: str) -> None:
        """End a zonal shift on every group that has it; idempotent."""
        for group in self.groups.values():
            group.zonal_shifts.pop(shift_id, None)

    # the control loop ----------------------------------------------------------------------
    async def _run(self, group: Group) -> None:
        """Converge every (scenario) second or when kicked; sweep health every `sweep_seconds`."""
        clock = self.lab.clock
        last_sweep = clock.now()
        while True:
            kick = self._kick[group.name]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(kick.wait(), timeout=clock.cadence(1.0))
            kick.clear()
            try:
                if clock.now() - last_sweep >= group.sweep_seconds:
                    last_sweep = clock.now()
                    await self._sweep_health(group)
                await self.refreshes.step(group)
                await self._converge(group)
                self._publish_metrics(group)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("auto scaling group %s step failed", group.name)

    async def _sweep_health(self, group: Group) -> None:
        """Mark and replace members that two sweeps in a row found not running, or ELB-unhealthy
        past their grace. A stop is so noticed one to two sweeps after it, never at once: with
        the fast profile's 2 s sweep the ALB's health checks (1 s, two failures) see a stopped
        target first, as AWS's do, and requests routed to it in between fail as they would."""
        now = self.lab.clock.now()
        seen_down, group.not_running_at_last_sweep = group.not_running_at_last_sweep, set()
        for member in group.live():
            inst = self.lab.ec2.instances.get(member.instance_id)
            state = inst.state if inst else "terminated"
            reason = None
            if state not in ("pending", "running"):
                group.not_running_at_last_sweep.add(member.instance_id)
                if member.instance_id in seen_down:
                    reason = f"an EC2 health check indicating it has been {state}"
            elif (
                group.health_check_type == "ELB"
                and member.instance_id in group.unhealthy_in_elb
                and now - member.launched >= group.grace
            ):
                reason = "an ELB health check failure"
            if reason:
                member.health = "Unhealthy"
                await self.retire(group, member, f"an instance was taken out of service in response to {reason}")

    async def _converge(self, group: Group) -> None:
        """Launch or retire members until the group holds its desired capacity (plus the surge an
        instance refresh allows)."""
        while (missing := group.desired + group.surge - len(group.live())) > 0:
            # Launched side by side, as Auto Scaling does: each boots in its own time, not in a queue.
            plan = self._launch_plan(group, missing)
            if None in await asyncio.gather(*(self._launch(group, order) for order in plan)):
                break  # every zone refused one: the control loop tries again on its next tick
        live = group.live()
        while len(live) > group.desired + group.surge:
            victim = max(live, key=lambda m: (self._az_count(group, m.az), m.launched))
            await self.retire(
                group,
                victim,
                self._caused(
                    group,
                    "an instance was taken out of service in response to a difference between desired and actual capacity",
                )
                if group.desired_cause
                else "a user request update of AutoScalingGroup constraints",
            )
            live = group.live()
        if len(live) == group.desired:
            group.desired_cause = None

    def _az_count(self, group: Group, az: str) -> int:
        return sum(1 for m in group.live() if m.az == az)

    def _launch_plan(self, group: Group, launches: int) -> list[list[Subnet]]:
        """The zone order of each of `launches` launches made together: least-populated zone first,
        counting the launches planned before it, so they spread over the zones as members do;
        zones shifted away from last only when nothing else is left."""
        counts = {s.az: self._az_count(group, s.az) for s in group.subnets}
        away = set(group.zonal_shifts.values())
        plan: list[list[Subnet]] = []
        for _ in range(launches):
            order = sorted(group.subnets, key=lambda s: (counts[s.az], group.subnets.index(s)))
            order = [s for s in order if s.az not in away] or order
            counts[order[0].az] += 1
            plan.append(order)
        return plan

    async def _launch(self, group: Group, order: list[Subnet]) -> Instance | None:
        """One new member in the first zone of `order` that takes the launch; a zone that refuses it
        leaves a failed activity, as on AWS, and the next zone is tried. None if every zone refused."""
        for subnet in order:
            refused = next((e for c in list(self._launch_checks.values()) if (e := c(group, subnet.az))), None)
            if refused is None:
                try:
                    return await self._launch_in(group, subnet)
                except AwsError as exc:
                    refused = exc
            message = f"{refused.message} Launching EC2 instance failed."
            self._activity(
                group,
                f"Launching a new EC2 instance.  Status Reason: {message}",
                "an instance was started in response to a difference between desired and actual capacity",
                status=("Failed", message),
                details={"Subnet ID": subnet.subnet_id, "Availability Zone": subnet.az},
            )
        return None

    def _resolve(self, tpl: GroupTemplate) -> tuple[LaunchTemplate, Version]:
        """The EC2 template and version a launch uses now; ValidationError as Auto Scaling says it."""
        try:
            template = self.lab.ec2.launch_templates.get(name=tpl.name)
            return template, template.version(tpl.version)
        except AwsError as exc:
            raise AwsError(
                "ValidationError", f"You must use a valid fully-formed launch template. {exc.message}"
            ) from None

    async def _launch_in(self, group: Group, subnet: Subnet) -> Instance:
        tpl = group.template
        template, version = self._resolve(replace(tpl, version=group.launch_version or tpl.version))
        data = version.data
        group.instance_type = data.get("InstanceType") or group.instance_type
        tags = {
            t["Key"]: t.get("Value", "")
            for spec in data.get("TagSpecifications") or []
            if spec.get("ResourceType") == "instance"
            for t in spec.get("Tags") or []
        }
        tags.update({t["Key"]: t.get("Value", "") for t in group.tags if t.get("PropagateAtLaunch", True)})
        tags["aws:autoscaling:groupName"] = group.name
        inst = await self.lab.ec2.run_instance(
            data.get("ImageId") or "",
            subnet,
            env=tpl.environment,
            port=tpl.port,
            tags=tags,
            instance_type=group.instance_type,
            user_data=decode_user_data(data["UserData"]) if data.get("UserData") else None,
            launch_template={
                "LaunchTemplateId": template.template_id,
                "LaunchTemplateName": template.name,
                "Version": str(version.number),
            },
            wait_serving=True if group.target_group_arns else None,
            metadata_options=data.get("MetadataOptions"),
            security_groups=launch_groups(data),
        )
        member = Member(
            inst.instance_id, inst.az, self.lab.clock.now(), lifecycle="InService", template_version=str(version.number)
        )
        group.members[inst.instance_id] = member
        for tg in group.target_group_arns:
            self.lab.elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": inst.instance_id, "Port": tpl.port}])
        self._activity(
            group,
            f"Launching a new EC2 instance: {inst.instance_id}",
            self._caused(
                group, "an instance was started in response to a difference between desired and actual capacity"
            ),
        )
        return inst

    @staticmethod
    def _caused(group: Group, cause: str) -> str:
        """An activity's cause, after the scaling policy's change that led to it, as AWS chains them."""
        if not group.desired_cause:
            return cause
        return f"{group.desired_cause}.  At {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {cause}"

    async def retire(self, group: Group, member: Member, cause: str) -> None:
        member.lifecycle = "Terminating"
        for tg in group.target_group_arns:
            with contextlib.suppress(AwsError):
                self.lab.elbv2.deregister_targets(
                    TargetGroupArn=tg, Targets=[{"Id": member.instance_id, "Port": group.template.port}]
                )
        with contextlib.suppress(AwsError):
            await self.lab.ec2.terminate_instances([member.instance_id])
        member.lifecycle = "Terminated"
        group.unhealthy_in_elb.discard(member.instance_id)
        group.elb_healthy.discard(member.instance_id)
        self._activity(group, f"Terminating EC2 instance: {member.instance_id}", cause)

    def record_failure(self, group: Group, description: str, cause: str, message: str) -> None:
        """A change that could not be made (a scheduled action the group's sizes refuse)."""
        self._activity(group, f"{description}.  Status Reason: {message}", cause, status=("Failed", message))

    def _activity(
        self,
        group: Group,
        description: str,
        cause: str,
        status: tuple[str, str] | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        """Record an activity; `status` is (StatusCode, StatusMessage) for one that did not succeed."""
        now = datetime.now(UTC)
        activity: dict[str, Any] = {
            "ActivityId": str(uuid.uuid4()),
            "AutoScalingGroupName": group.name,
            "Description": description,
            "Cause": f"At {now:%Y-%m-%dT%H:%M:%SZ} {cause}.",
            "StartTime": now,
            "EndTime": now,
            "StatusCode": "Successful",
            "Progress": 100,
        }
        if status is not None:
            activity["StatusCode"], activity["StatusMessage"] = status
        if details is not None:
            activity["Details"] = json.dumps(details)
        group.activities.append(activity)
        self.lab.events.emit(
            "asg.activity", group=group.name, description=description, cause=cause, status=activity["StatusCode"]
        )

    # signals from EC2 and the ALB ----------------------------------------------------------
    def _target_health_changed(
        self, tg_arn: str, target_id: str, port: int, old: str, new: str, reason: str | None
    ) -> None:
        for group in self.groups.values():
            if tg_arn in group.target_group_arns and target_id in group.members:
                if new == "unhealthy":
                    group.unhealthy_in_elb.add(target_id)
                elif new == "healthy":
                    group.unhealthy_in_elb.discard(target_id)
                if new == "healthy":
                    group.elb_healthy.add(target_id)
                else:
                    group.elb_healthy.discard(target_id)

    def _publish_metrics(self, group: Group) -> None:
        cw = getattr(self.lab, "cloudwatch", None)
        if cw is None:
            return
        dims = {"AutoScalingGroupName": group.name}
        in_service = sum(1 for m in group.live() if m.lifecycle == "InService")
        for name, value in (
            ("GroupInServiceInstances", in_service),
            ("GroupDesiredCapacity", group.desired),
            ("GroupMinSize", group.min_size),
            ("GroupMaxSize", group.max_size),
            ("GroupTotalInstances", len(group.live())),
        ):
            with contextlib.suppress(Exception):
                cw.put_metric("AWS/AutoScaling", name, dims, [float(value)], "None")

    # describe ------------------------------------------------------------------------------
    def describe(self, group: Group) -> dict[str, Any]:
        region, account = self.lab.config.region, self.lab.config.account_id
        return {
            "AutoScalingGroupName": group.name,
            "AutoScalingGroupARN": group.arn(region, account),
            "LaunchTemplate": self._template_ref(group.template, group.template.version),
            "MinSize": group.min_size,
            "MaxSize": group.max_size,
            "DesiredCapacity": group.desired,
            "DefaultCooldown": 300,
            "AvailabilityZones": sorted({s.az for s in group.subnets}),
            "VPCZoneIdentifier": ",".join(s.subnet_id for s in group.subnets),
            "TargetGroupARNs": group.target_group_arns,
            "HealthCheckType": group.health_check_type,
            "HealthCheckGracePeriod": group.grace,
            "CreatedTime": datetime.fromtimestamp(group.created, UTC),
            "Instances": [
                self.describe_member(group, m) for m in group.members.values() if m.lifecycle != "Terminated"
            ],
            "Tags": [
                {
                    "ResourceId": group.name,
                    "ResourceType": "auto-scaling-group",
                    "Key": t["Key"],
                    "Value": t.get("Value", ""),
                    "PropagateAtLaunch": t.get("PropagateAtLaunch", True),
                }
                for t in group.tags
            ],
            "TerminationPolicies": ["Default"],
        }

    def describe_member(self, group: Group, m: Member) -> dict[str, Any]:
        return {
            "InstanceId": m.instance_id,
            "AvailabilityZone": m.az,
            "LifecycleState": m.lifecycle,
            "HealthStatus": m.health,
            "InstanceType": group.instance_type,
            "LaunchTemplate": self._template_ref(group.template, m.template_version),
            "ProtectedFromScaleIn": False,
            "AutoScalingGroupName": group.name,
        }

    def _template_ref(self, tpl: GroupTemplate, version: str) -> dict[str, str]:
        ref = {"LaunchTemplateName": tpl.name, "Version": version}
        with contextlib.suppress(AwsError):
            ref["LaunchTemplateId"] = self.lab.ec2.launch_templates.get(name=tpl.name).template_id
        return ref


def _check_grace(grace: int) -> None:
    """AWS: the health check grace period is 0 or more seconds."""
    if grace < 0:
        raise AwsError(
            "ValidationError", f"Value {grace} for HealthCheckGracePeriod must be greater than or equal to 0"
        )
