"""`lab.autoscaling.refreshes`: instance refreshes in progress and done. Each round of a group's
control loop runs one step of its active refresh before the group converges: the step takes old
instances out of service as refresh.py allows and sets how far above its desired capacity the
group may go; the group's own launch path brings up the replacements (the desired launch
template version, target group registration, health checks) (docs/autoscaling.md)."""

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
    status: str = "Pending"
    reason: str | None = None
    started: float = field(default_factory=time.time)
    ended: float | None = None

    def describe(self) -> dict[str, Any]:
        done = self.status == "Successful"
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
        prefs = refresh.preferences(p.get("Preferences") or {}, group.grace)
        desired_config = p.get("DesiredConfiguration")
        version = self._desired_version(group, desired_config)
        target = self.backend.resolved_version(group) if version is None else version
        live = group.live()
        to_replace = {m.instance_id for m in live if not (prefs.skip_matching and m.template_version == target)}
        run = Run(str(uuid.uuid4()), name, prefs, desired_config, to_replace, len(to_replace))
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
        if run is None:
            raise AwsError(
                "ActiveInstanceRefreshNotFound",
                f"No in progress or pending Instance Refresh found for Auto Scaling group {name}",
            )
        run.status = "Cancelling"
        self.backend.kick(name)
        return run

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
        run.status = "InProgress"
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
        if not old and len(ready) >= group.desired:
            if run.desired_config is not None:
                group.template = replace(group.template, version=run.desired_config["LaunchTemplate"]["Version"])
            self._end(group, run, "Successful")
            return
        healthy = sum(1 for m in old if m.lifecycle == "InService") + len(ready)
        planned = refresh.step(group.desired, healthy, len(old), run.prefs)
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

    @staticmethod
    def _end(group: Any, run: Run, status: str) -> None:
        run.status, run.ended = status, time.time()
        group.surge, group.launch_version = 0, None
