"""`lab.autoscaling.refreshes`: instance refreshes in progress and done. Each round of a group's
control loop runs one step of its active refresh before the group converges: the step takes old
instances out of service as refresh.py allows and sets how far above its desired capacity the
group may go; the group's own launch path brings up the replacements (the desired launch
template version, target group registration, health checks). A refresh pauses at its
checkpoints, fails when an alarm of its AlarmSpecification is in ALARM, and rolls back (by
request, or on failure with AutoRollback) by replacing what it launched with instances of the
group's previous launch template version, the same way (docs/autoscaling.md)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from chaoslab.errors import AwsError
from chaoslab.services.autoscaling import refresh
from chaoslab.services.autoscaling.refresh import Preferences


class Groups(Protocol):
    """What refreshes need of the Auto Scaling backend (typed here, not imported: the backend
    imports this module)."""

    lab: Any

    def get(self, name: str) -> Any: ...

    def kick(self, name: str) -> None: ...

    def resolved_version(self, group: Any) -> str: ...

    async def retire(self, group: Any, member: Any, cause: str) -> None: ...


@dataclass
class Run:
    refresh_id: str
    group: str
    prefs: Preferences
    desired_config: dict[str, Any] | None
    to_replace: set[str]
    total: int
    previous_version: str = "$Default"  # the group's launch template version when it started
    status: str = "Pending"
    reason: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None
    checkpoint: int = 0  # the index of the next checkpoint in prefs.checkpoints
    paused_since: float | None = None  # scenario time the current checkpoint was reached
    rollback: dict[str, Any] | None = None  # RollbackDetails, once it rolls back

    def describe(self) -> dict[str, Any]:
        done = self.status in ("Successful", "RollbackSuccessful")
        out: dict[str, Any] = {
            "AutoScalingGroupName": self.group,
            "InstanceRefreshId": self.refresh_id,
            "Status": self.status,
            "StartTime": datetime.fromtimestamp(self.started, UTC),
            "PercentageComplete": 100
            if done
            else min(99, refresh.percentage(self.total, self.total - len(self.to_replace))),
            "InstancesToUpdate": len(self.to_replace),
            "Preferences": self.prefs.describe(),
            "Strategy": "Rolling",
        }
        if self.reason:
            out["StatusReason"] = self.reason
        if self.ended is not None:
            out["EndTime"] = datetime.fromtimestamp(self.ended, UTC)
        if self.desired_config is not None:
            out["DesiredConfiguration"] = self.desired_config
        if self.rollback is not None:
            out["RollbackDetails"] = self.rollback
        return out


class GroupRefreshes:
    def __init__(self, backend: Groups) -> None:
        self.backend = backend
        self.runs: dict[str, list[Run]] = {}  # group name -> its refreshes, newest first

    def active(self, name: str) -> Run | None:
        return next((r for r in self.runs.get(name, []) if r.status in refresh.ACTIVE), None)

    def start(self, name: str, p: dict[str, Any]) -> Run:
        group = self.backend.get(name)
        if p.get("Strategy", "Rolling") != "Rolling":
            raise refresh.invalid(f"Strategy must be Rolling, not {p['Strategy']}.")
        if self.active(name) is not None:
            raise AwsError(
                "InstanceRefreshInProgress",
                "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
            )
        desired_config = p.get("DesiredConfiguration")
        prefs = refresh.preferences(p.get("Preferences") or {}, group.grace, desired_config is not None)
        if prefs.auto_rollback:
            self._check_reversible(group.template.version)
        for alarm in prefs.alarms:
            if self.backend.lab.cloudwatch.find_alarm(alarm) is None:
                raise refresh.invalid(f"The alarm {alarm} of the AlarmSpecification does not exist.")
        version = self._desired_version(group, desired_config)
        target = self.backend.resolved_version(group) if version is None else version
        live = group.live()
        to_replace = {m.instance_id for m in live if not (prefs.skip_matching and m.template_version == target)}
        run = Run(str(uuid.uuid4()), name, prefs, desired_config, to_replace, len(to_replace), group.template.version)
        group.launch_version = None if desired_config is None else desired_config["LaunchTemplate"].get("Version")
        self.runs.setdefault(name, []).insert(0, run)
        self.backend.kick(name)
        return run

    def _desired_version(self, group: Any, config: dict[str, Any] | None) -> str | None:
        """The version number a DesiredConfiguration resolves to now (None: the group's own)."""
        if config is None:
            return None
        lt = config.get("LaunchTemplate")
        if not lt or config.get("MixedInstancesPolicy"):
            raise refresh.invalid("chaoslab refreshes onto a DesiredConfiguration with a LaunchTemplate only.")
        try:
            template = self.backend.lab.ec2.launch_templates.get(
                lt.get("LaunchTemplateId"), lt.get("LaunchTemplateName")
            )
            version = template.version(lt.get("Version") or "$Default")
        except AwsError as exc:
            raise refresh.invalid(f"You must use a valid fully-formed launch template. {exc.message}") from None
        if template.name != group.template.name:
            raise refresh.invalid("chaoslab refreshes a group onto a version of its own launch template only.")
        config["LaunchTemplate"] = {
            "LaunchTemplateId": template.template_id,
            "LaunchTemplateName": template.name,
            "Version": lt.get("Version") or "$Default",
        }
        return str(version.number)

    def cancel(self, name: str) -> Run:
        self.backend.get(name)
        run = self.active(name)
        if run is None or run.status == "RollbackInProgress":
            raise AwsError(
                "ActiveInstanceRefreshNotFound",
                f"No in progress or pending Instance Refresh found for Auto Scaling group {name}",
            )
        run.status = "Cancelling"
        self.backend.kick(name)
        return run

    def rollback(self, name: str) -> Run:
        """RollbackInstanceRefresh: undo the active refresh (IrreversibleInstanceRefresh where
        AWS cannot: no desired configuration, or a group on $Latest or $Default)."""
        group = self.backend.get(name)
        run = self.active(name)
        if run is None or run.status in ("Cancelling", "RollbackInProgress"):
            raise AwsError(
                "ActiveInstanceRefreshNotFound",
                f"No in progress or pending Instance Refresh found for Auto Scaling group {name}",
            )
        if run.desired_config is None:
            raise AwsError(
                "IrreversibleInstanceRefresh",
                "The instance refresh cannot be rolled back because it has no desired configuration.",
            )
        self._check_reversible(run.previous_version)
        self._roll_back(group, run, "Rollback initiated by user request.")
        return run

    @staticmethod
    def _check_reversible(version: str) -> None:
        if version in ("$Latest", "$Default"):
            raise AwsError(
                "IrreversibleInstanceRefresh",
                f"The instance refresh cannot be rolled back because the Auto Scaling group uses the launch "
                f"template's {version} version.",
            )

    def _roll_back(self, group: Any, run: Run, reason: str) -> None:
        """Replace every instance not on the previous version with one that is."""
        now = self.backend.lab.clock.now()
        run.rollback = {
            "RollbackReason": reason,
            "RollbackStartTime": datetime.fromtimestamp(now, UTC),
            "PercentageCompleteOnRollback": min(99, refresh.percentage(run.total, run.total - len(run.to_replace))),
            "InstancesToUpdateOnRollback": len(run.to_replace),
        }
        run.status, run.reason, run.paused_since = "RollbackInProgress", reason, None
        group.launch_version = run.previous_version
        previous = self.backend.resolved_version(group)
        run.to_replace = {m.instance_id for m in group.live() if m.template_version != previous}
        run.total = len(run.to_replace)
        self.backend.kick(group.name)

    def describe(self, name: str, ids: list[str] | None) -> list[dict[str, Any]]:
        self.backend.get(name)
        return [r.describe() for r in self.runs.get(name, []) if not ids or r.refresh_id in ids]

    def delete_group(self, name: str) -> None:
        self.runs.pop(name, None)

    async def step(self, group: Any) -> None:
        """One round of the group's active refresh, if it has one."""
        run = self.active(group.name)
        if run is None:
            return
        if run.status == "Cancelling":
            self._end(group, run, "Cancelled")
            return
        rolling_back = run.status == "RollbackInProgress"
        if not rolling_back:
            run.status = "InProgress"
            alarm = self._alarm_firing(run)
            if alarm is not None:
                self._fail(group, run, f"The instance refresh failed: alarm {alarm} is in ALARM state.")
                return
        live = {m.instance_id: m for m in group.live()}
        old = [live[i] for i in run.to_replace if i in live]
        run.to_replace = {m.instance_id for m in old}  # an old one replaced otherwise is done too
        now = self.backend.lab.clock.now()
        ready = [
            m
            for m in live.values()
            if m.instance_id not in run.to_replace
            and m.lifecycle == "InService"
            and now - m.launched >= run.prefs.warmup
            and (not group.target_group_arns or m.instance_id in group.elb_healthy)
        ]
        healthy = sum(1 for m in old if m.lifecycle == "InService") + len(ready)
        if not old and len(ready) >= group.desired:
            if rolling_back:
                self._end(group, run, "RollbackSuccessful")
                return
            if run.desired_config is not None:
                group.template = replace(group.template, version=run.desired_config["LaunchTemplate"]["Version"])
            self._end(group, run, "Successful")
            return
        replaceable = len(old) if rolling_back else self._until_checkpoint(group, run, healthy, now)
        planned = refresh.step(group.desired, healthy, replaceable, run.prefs)
        group.surge = planned.surge
        for member in sorted(old, key=lambda m: m.launched)[: planned.terminate]:
            run.to_replace.discard(member.instance_id)
            stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
            await self.backend.retire(
                group,
                member,
                "an instance was taken out of service in response to an instance refresh.  "
                f"At {stamp} instance {member.instance_id} was selected for termination",
            )

    def _until_checkpoint(self, group: Any, run: Run, healthy: int, now: float) -> int:
        """How many more old instances may go before the next checkpoint (all of them without
        one). At a checkpoint none may, until the group is healthy again and the delay passed."""
        left = len(run.to_replace)
        points = run.prefs.checkpoints
        while run.checkpoint < len(points):
            quota = refresh.checkpoint_quota(run.total, points[run.checkpoint])
            replaced = run.total - left
            if replaced < quota:
                return quota - replaced
            if healthy < group.desired:
                return 0  # the checkpoint's replacements are still warming up
            if run.paused_since is None:
                run.paused_since = now
                run.reason = (
                    f"Checkpoint {run.checkpoint + 1} of {len(points)} reached at {points[run.checkpoint]}%: "
                    f"waiting {run.prefs.checkpoint_delay} seconds before continuing."
                )
            if now - run.paused_since < run.prefs.checkpoint_delay:
                return 0
            run.checkpoint, run.paused_since, run.reason = run.checkpoint + 1, None, None
        return left

    def _alarm_firing(self, run: Run) -> str | None:
        for name in run.prefs.alarms:
            alarm = self.backend.lab.cloudwatch.find_alarm(name)
            if alarm is not None and alarm.state == "ALARM":
                return name
        return None

    def _fail(self, group: Any, run: Run, reason: str) -> None:
        """Failed, or rolled back when the refresh asked for AutoRollback."""
        if run.prefs.auto_rollback:
            self._roll_back(group, run, reason)
            return
        run.reason = reason
        self._end(group, run, "Failed")

    @staticmethod
    def _end(group: Any, run: Run, status: str) -> None:
        run.status, run.ended = status, time.time()
        group.surge, group.launch_version = 0, None
