"""The scaling engine: policies bound to a scalable target, run when a CloudWatch alarm that
names them in its AlarmActions is in ALARM — at the transition and again every minute while it
stays there, as AWS invokes scaling actions — within the target's bounds and the policy's
cooldowns. Each service's backend owns one engine for its own policies; the target says what
scaling it means (an ECS service's desiredCount, a group's desired capacity)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chaoslab.scaling import rules

log = logging.getLogger(__name__)

TARGET_TRACKING, STEP, SIMPLE = "TargetTrackingScaling", "StepScaling", "SimpleScaling"
REINVOKE_SECONDS = 60.0
"""While an alarm stays in ALARM, AWS invokes its scaling action again every minute."""


class Scalable(Protocol):
    """What a policy scales: its bounds, its capacity now, and the change (which the service
    records as its own scaling activity)."""

    def bounds(self) -> tuple[int, int]: ...

    def capacity(self) -> int: ...

    def scale_to(self, capacity: int, policy: str, alarm: str | None) -> bool:
        """Whether the capacity changed (a target may have this direction suspended); `alarm` is
        None when a caller executed the policy itself (EC2's ExecutePolicy)."""


@dataclass(frozen=True)
class Tracking:
    """A target-tracking policy's settings (cooldowns in scenario seconds)."""

    target_value: float
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool = False


@dataclass(frozen=True)
class Stepping:
    """A step or simple policy: steps (empty for a simple policy, whose one adjustment is
    `adjustment`), how to read them, and the cooldown after it acts."""

    adjustment_type: str
    steps: tuple[rules.Step, ...] = ()
    adjustment: int | None = None
    min_magnitude: int | None = None
    cooldown: float = 0.0


@dataclass
class Policy:
    """One policy as the engine runs it; `alarms` are the ones it created (target tracking)."""

    arn: str
    name: str
    kind: str
    target: Scalable
    tracking: Tracking | None = None
    stepping: Stepping | None = None
    alarms: list[str] = field(default_factory=list)
    last_out: float | None = None
    last_in: float | None = None


class ScalingEngine:
    """Runs `policies` (keyed by ARN) from the alarms of `lab.cloudwatch` on `lab.clock`; the
    lab's rooms are looked up when used, so a backend can own an engine from its constructor."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.policies: dict[str, Policy] = {}
        self._task: asyncio.Task[None] | None = None
        self._remove_listener: Callable[[], None] | None = None

    @property
    def cloudwatch(self) -> Any:
        return self.lab.cloudwatch

    @property
    def clock(self) -> Any:
        return self.lab.clock

    async def start(self) -> None:
        self._remove_listener = self.cloudwatch.add_alarm_listener(self._alarm_changed)
        self._task = asyncio.get_running_loop().create_task(self._reinvoke_forever(), name="scaling-engine")

    async def stop(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add(self, policy: Policy) -> None:
        self.policies[policy.arn] = policy

    def remove(self, arn: str) -> Policy | None:
        return self.policies.pop(arn, None)

    def _alarm_changed(self, arn: str, old: str, new: str, reason: str) -> None:
        if new == "ALARM":
            alarm = self.cloudwatch.find_alarm(arn)
            if alarm is not None:
                self.invoke(alarm)

    async def _reinvoke_forever(self) -> None:
        while True:
            await asyncio.sleep(self.clock.cadence(REINVOKE_SECONDS))
            for alarm in list(self.cloudwatch.alarms.values()):
                if alarm.state == "ALARM":
                    self.invoke(alarm)

    def invoke(self, alarm: Any) -> None:
        """Run every policy of ours the alarm names in its AlarmActions (if its actions are on)."""
        if not alarm.actions_enabled:
            return
        for action in alarm.config.get("AlarmActions", []):
            policy = self.policies.get(action)
            if policy is None:
                continue
            try:
                self.execute(policy, alarm)
            except Exception:  # one broken policy must not stop the alarm's other actions
                log.exception("scaling policy %s failed", policy.name)

    def execute(self, policy: Policy, alarm: Any) -> int | None:
        """Scale once for `alarm`; the new capacity, or None when nothing changed."""
        value = self.cloudwatch.latest_value(alarm)
        if value is None:
            return None
        high = alarm.comparison.startswith("Greater")
        return self.run(policy, value, alarm.threshold, high, alarm.name)

    def run(
        self,
        policy: Policy,
        value: float,
        threshold: float,
        high: bool = True,
        alarm: str | None = None,
        honor_cooldown: bool = True,
    ) -> int | None:
        """Scale once for a metric `value` against an alarm's `threshold` (`high`: the alarm
        fires above it); the new capacity, or None when nothing changed."""
        current = policy.target.capacity()
        wanted = self._wanted(policy, value, threshold, high, current)
        if wanted is None:
            return None
        low, top = policy.target.bounds()
        new = rules.clamp(wanted, low, top)
        now = self.clock.now()
        if new == current or (honor_cooldown and self._cooling(policy, new > current, now)):
            return None
        if not policy.target.scale_to(new, policy.name, alarm):
            return None
        if new > current:
            policy.last_out = now
        else:
            policy.last_in = now
        return new

    @staticmethod
    def _wanted(policy: Policy, value: float, threshold: float, high: bool, current: int) -> int | None:
        if policy.tracking is not None:
            t = policy.tracking
            wanted = rules.tracking_capacity(current, value, t.target_value)
            if (high and wanted <= current) or (not high and (wanted >= current or t.disable_scale_in)):
                return None  # each alarm moves capacity one way only
            return wanted
        s = policy.stepping
        if s is None:
            return None
        if s.steps:
            step = rules.step_for(s.steps, value - threshold)
            if step is None:
                return None
            return rules.adjusted(current, s.adjustment_type, step.adjustment, s.min_magnitude)
        return rules.adjusted(current, s.adjustment_type, s.adjustment or 0, s.min_magnitude)

    @staticmethod
    def _cooling(policy: Policy, out: bool, now: float) -> bool:
        """The lab's cooldown rule (docs/autoscaling.md): no scale-out within the scale-out
        cooldown of the last one, no scale-in within the scale-in cooldown of the last scaling
        either way; a step or simple policy waits its one cooldown after it acted."""
        if policy.tracking is not None:
            t = policy.tracking
            if out:
                return policy.last_out is not None and now - policy.last_out < t.scale_out_cooldown
            last = max((x for x in (policy.last_in, policy.last_out) if x is not None), default=None)
            return last is not None and now - last < t.scale_in_cooldown
        cooldown = policy.stepping.cooldown if policy.stepping else 0.0
        last = max((x for x in (policy.last_in, policy.last_out) if x is not None), default=None)
        return last is not None and now - last < cooldown
