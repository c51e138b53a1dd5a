"""Target lifecycle in a target group: health checking, draining, and the routing list.

Kept apart from the API semantics in backend.py because it is the part that runs on its own:
one probe loop per registered target, drain timers, and the notifications the Auto Scaling and
ECS schedulers act on. Every state change rebuilds the group's routing list before anyone hears
about it, so a subscriber never sees a state the data plane does not already honour.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chaoslab.clock import LabClock
from chaoslab.errors import AwsError
from chaoslab.net import healthcheck as hc
from chaoslab.runtime.ports import unit_port
from chaoslab.services.elbv2.models import Registration, TargetGroup

log = logging.getLogger(__name__)

HealthListener = Callable[[str, str, int, str, str, "str | None"], Any]
Resolver = Callable[[TargetGroup, str], str]


class TargetSupervisor:
    """Runs every registered target through the ALB health state machine."""

    def __init__(self, events: Any, resolve: Resolver, clock: LabClock) -> None:
        self._events = events
        self._clock = clock  # intervals, timeouts and drain delays are scenario seconds
        self._resolve = resolve  # target id -> address; raises AwsError when it cannot
        self._listeners: list[HealthListener] = []

    def add_listener(self, callback: HealthListener) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    # transitions driven by API calls ---------------------------------------------------------
    def admit(self, tg: TargetGroup, reg: Registration) -> None:
        """A new registration: `initial` and probed if a listener uses the group, else `unused`."""
        tg.targets[(reg.target_id, reg.port)] = reg
        if tg.load_balancer_arns:
            self._notify(tg, reg, hc.UNUSED, hc.INITIAL)
            self._start(tg, reg)
        else:
            reg.health.set(hc.UNUSED, "Target.NotInUse")
        route(tg)

    def drain(self, tg: TargetGroup, reg: Registration) -> None:
        """Deregistration: no new requests at once, `draining` for the whole delay, then gone."""
        if reg.health.state == hc.DRAINING:
            return
        self._stop(reg)
        if not tg.load_balancer_arns:
            self.forget(tg, reg)
            return
        old, new = reg.health.set(hc.DRAINING, "Target.DeregistrationInProgress")
        route(tg)
        self._notify(tg, reg, old, new)
        delay = int(tg.attributes["deregistration_delay.timeout_seconds"])
        reg.drain_timer = asyncio.get_running_loop().call_later(self._clock.wall(delay), self._drained, tg, reg)

    def activate(self, tg: TargetGroup) -> None:
        """A listener now forwards to `tg`: its targets start initial health checks."""
        for reg in tg.targets.values():
            if reg.health.state == hc.UNUSED:
                old, new = reg.health.set(hc.INITIAL, "Elb.RegistrationInProgress")
                self._notify(tg, reg, old, new)
                self._start(tg, reg)
        route(tg)

    def deactivate(self, tg: TargetGroup) -> None:
        """No listener uses `tg` any more: checks stop, targets become `unused`."""
        for reg in list(tg.targets.values()):
            self._stop(reg)
            if reg.health.state == hc.DRAINING:
                self.forget(tg, reg)
                continue
            old, new = reg.health.set(hc.UNUSED, "Target.NotInUse")
            self._notify(tg, reg, old, new)
        route(tg)

    def forget(self, tg: TargetGroup, reg: Registration) -> None:
        """Remove a registration now: no probes, no timer, no pooled connections."""
        self._stop(reg)
        if reg.drain_timer is not None:
            reg.drain_timer.cancel()
        reg.upstream.release()
        if tg.targets.get((reg.target_id, reg.port)) is reg:
            del tg.targets[(reg.target_id, reg.port)]
        route(tg)

    async def close(self, groups: list[TargetGroup]) -> None:
        """Lab shutdown: stop every probe loop and timer and wait for the loops to end."""
        tasks = [reg.checker for tg in groups for reg in tg.targets.values() if reg.checker]
        for tg in groups:
            for reg in tg.targets.values():
                self._stop(reg)
                if reg.drain_timer is not None:
                    reg.drain_timer.cancel()
                reg.upstream.close_idle()
        await asyncio.gather(*tasks, return_exceptions=True)

    # the probe loop ------------------------------------------------------------------------
    def _start(self, tg: TargetGroup, reg: Registration) -> None:
        reg.checker = asyncio.get_running_loop().create_task(self._check_loop(tg, reg))

    @staticmethod
    def _stop(reg: Registration) -> None:
        if reg.checker is not None:
            reg.checker.cancel()
            reg.checker = None

    async def _check_loop(self, tg: TargetGroup, reg: Registration) -> None:
        """Probe every interval on a fixed schedule; a slow probe does not shift it (as AWS)."""
        loop = asyncio.get_running_loop()
        reg.health.start_checking()
        next_at = loop.time()
        while True:
            settings = tg.health_check
            port = reg.port if settings["HealthCheckPort"] == "traffic-port" else int(settings["HealthCheckPort"])
            if tg.target_type == "instance":
                self._refresh_address(tg, reg)
            result = await hc.probe(
                reg.upstream.host,
                unit_port(reg.upstream.host, port),
                settings["HealthCheckPath"],
                self._clock.timeout(settings["HealthCheckTimeoutSeconds"]),
                hc.parse_matcher(tg.matcher),
            )
            change = reg.health.observe(result, settings["HealthyThresholdCount"], settings["UnhealthyThresholdCount"])
            if change is not None:
                route(tg)
                self._notify(tg, reg, *change)
            step = self._clock.cadence(settings["HealthCheckIntervalSeconds"])
            next_at += step
            if loop.time() - next_at > step:
                # A probe outlasted whole intervals (its timeout has a wall-clock floor at a time
                # scale, docs/timing.md): resume the schedule from now, not with a burst of
                # back-to-back probes that would mark a recovered target healthy at once.
                next_at = loop.time()
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _refresh_address(self, tg: TargetGroup, reg: Registration) -> None:
        """An instance may come back with a new address; keep the old one if lookup fails."""
        try:
            address = self._resolve(tg, reg.target_id)
        except AwsError:
            return
        if address != reg.upstream.host:
            reg.upstream.close_idle()
            reg.upstream.host = address

    def _drained(self, tg: TargetGroup, reg: Registration) -> None:
        if tg.targets.get((reg.target_id, reg.port)) is reg:
            reg.upstream.abort_in_flight()
            self.forget(tg, reg)
            self._notify(tg, reg, hc.DRAINING, hc.UNUSED, "Target.NotRegistered")

    def _notify(self, tg: TargetGroup, reg: Registration, old: str, new: str, reason: str | None = None) -> None:
        reason = reason or reg.health.reason
        self._events.emit(
            "target.health", target_group=tg.arn, target=reg.target_id, port=reg.port, state=new, old=old, reason=reason
        )
        for callback in list(self._listeners):
            try:
                callback(tg.arn, reg.target_id, reg.port, old, new, reason)
            except Exception:
                log.exception("target health listener failed")


def route(tg: TargetGroup) -> None:
    """Rebuild the routing list: healthy targets; if none, fail open to every registered
    non-draining target (unhealthy and initial alike); 503 only when that is empty too. Targets
    in a zone the load balancer shifted away from take no part (zonal shift)."""
    live = [
        r
        for r in tg.targets.values()
        if r.health.state in (hc.HEALTHY, hc.UNHEALTHY, hc.INITIAL) and r.az not in tg.away_zones
    ]
    healthy = [r.upstream for r in live if r.health.state == hc.HEALTHY]
    tg.pool.set_routing(healthy or [r.upstream for r in live])
