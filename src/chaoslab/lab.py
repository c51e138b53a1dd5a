"""The Lab: one asyncio loop owning every emulated service. It builds the backends, starts them
in dependency order, serves the AWS API, and on the way down stops experiments (reverting
their faults) before it stops the units they act on. At start it first cleans up whatever a
crashed earlier lab left behind: processes, namespaces, links, routes, pending fault reverts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from chaoslab import dashboard, unitexec, unitshell, watchdog
from chaoslab.aws import guard
from chaoslab.aws.gateway import Gateway
from chaoslab.clock import LabClock
from chaoslab.config import LAB_FILE, LabConfig
from chaoslab.events import EventLog
from chaoslab.exporter import routes as exporter_routes
from chaoslab.ids import hex_id
from chaoslab.runtime import cgroups, forkserver
from chaoslab.runtime.hostcaps import limitations, single_uid_namespace
from chaoslab.runtime.kinds.container import cleanup_containers
from chaoslab.runtime.kinds.engine import find_engine, unavailable_reason
from chaoslab.runtime.kinds.select import SelectingRuntime
from chaoslab.runtime.network import Mode, cleanup_leftovers
from chaoslab.runtime.ports import LOOPBACK_PORT_OFFSET, remapped
from chaoslab.runtime.recovery import kill_leftover_processes
from chaoslab.runtime.volume import cleanup_mounts
from chaoslab.services import SERVICES
from chaoslab.services.spec import Backend, ServiceSpec, start_order
from chaoslab.store import Store

log = logging.getLogger(__name__)


class Lab:
    """Everything a running lab owns. Backends reach each other through it (`lab.ec2`, …)."""

    # Set from the service specs in __init__; declared so the lab reads as a `LabLike`.
    iam: Any
    cloudwatch: Any
    logs: Any
    ec2: Any
    elbv2: Any
    rds: Any
    autoscaling: Any
    ecs: Any
    applicationautoscaling: Any
    servicediscovery: Any
    ssm: Any
    fis: Any

    def __init__(self, config: LabConfig | None = None, *, network_mode: Mode = "auto") -> None:
        self.config = config or LabConfig()
        self.config.ensure_home()
        self.run_id = hex_id(8)
        self.started_at = time.time()
        self.clock = LabClock(self.config.time_scale, self.started_at)
        self.stack_name: str | None = None
        self.store = Store(self.config.home / "state.db")
        run_dir = self.config.home / "runs" / self.run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        self.events = EventLog(run_dir / "events.jsonl")
        # Every service with a backend, built from its spec (services/__init__.py) in start order;
        # `options` are the lab's settings for one service.
        # Tasks and instances are real processes, a task's containers real containers where an
        # engine has their image (runtime/kinds/select.py).
        runtime = self.runtime = SelectingRuntime(find_engine(), self.store, self.run_id, unavailable_reason())
        # Where units' CPU and memory limits are enforced; None (and why) where the host has no
        # cgroups the lab may write.
        self.cgroups, self.cgroups_unavailable = cgroups.detect(self.store, self.run_id)
        options: dict[str, dict[str, Any]] = {
            "ec2": {"runtime": runtime, "network_mode": network_mode, "volume_io": True},
            "ecs": {"runtime": runtime},
        }
        self._order: list[ServiceSpec] = []
        for spec in start_order(SERVICES):
            if spec.backend is not None:  # a stateless service (STS) has none
                setattr(self, spec.package, spec.backend(self, **options.get(spec.package, {})))
                self._order.append(spec)
        self.gateway = Gateway(self)
        self._started: list[Backend] = []

    def _backends(self) -> list[Backend]:
        """The backends in start order, read at start: a test may swap one in before it."""
        return [getattr(self, spec.package) for spec in self._order]

    async def start(self) -> None:
        await watchdog.wait_for_previous(self.store)  # a crashed lab's watchdog finishes first
        killed = await kill_leftover_processes(self.store)
        removed = await cleanup_leftovers(self.store) + await cleanup_mounts(self.store)
        removed += await cleanup_containers(self.store)
        removed += cgroups.cleanup_cgroups(self.store)
        if killed or removed:
            self.events.emit("lab.recovered", killed_processes=killed, removed_resources=removed)
        self.gateway.add_routes(
            [
                web.get("/_chaoslab/status", self._status_route),
                web.get("/_chaoslab/events", self._events_route),
                web.get("/_chaoslab/alb-requests", self._alb_requests_route),
            ]
        )
        self.gateway.add_routes(dashboard.routes(self))
        self.gateway.lab_token = guard.write_token(self.config.home)
        self.gateway.add_routes(exporter_routes.routes(self))
        self.gateway.add_routes(unitexec.routes(self))
        self.gateway.add_routes(unitshell.routes(self))
        for backend in self._backends():
            await backend.start()
            self._started.append(backend)
        await self.gateway.start()
        self.config.api_port = self.gateway.port or self.config.api_port
        self.events.emit("lab.started", run_id=self.run_id, api=self.config.endpoint_url)

    async def stop(self) -> None:
        """Experiments first (their faults are reverted), then units, then the rest."""
        self.events.emit("lab.stopping", run_id=self.run_id)
        with contextlib.suppress(Exception):
            await self.gateway.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.config.home / guard.TOKEN_FILE).unlink()
        for backend in reversed(self._started):
            try:
                await asyncio.wait_for(backend.stop(), timeout=60)
            except Exception:
                log.exception("stopping %s failed", type(backend).__name__)
        self._started.clear()
        await forkserver.close_all()
        # Anything a backend failed to stop is still recorded in the store: finish the job.
        await kill_leftover_processes(self.store)
        await cleanup_leftovers(self.store)
        await cleanup_mounts(self.store)
        cgroups.cleanup_cgroups(self.store)  # the lab's own top cgroup, and any a unit left
        self.events.emit("lab.stopped", run_id=self.run_id)
        self.events.close()

    # status ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What `chaoslab status` shows: endpoints, units, target health, database, alarms."""
        vpcs = list(self.ec2.vpcs.values())
        return {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "stack": self.stack_name,
            "started_at": self.started_at,
            "time_scale": self.clock.scale,
            "timing": self.config.timing.describe(),
            "scenario_now": self.clock.now(),
            "api": self.config.endpoint_url,
            "region": self.config.region,
            "account_id": self.config.account_id,
            "enforce_iam": self.config.enforce_iam,
            "network_mode": _network_mode(vpcs[0].network.mode) if vpcs else None,
            "notes": [*self.notes(vpcs[0].network.mode), self.runtime.describe(vpcs[0].network.mode)] if vpcs else [],
            "unit_port_offset": LOOPBACK_PORT_OFFSET
            if vpcs and vpcs[0].network.mode == "loopback" and remapped()
            else None,
            "load_balancers": self._lb_status(),
            "instances": [
                {
                    "id": i.instance_id,
                    "state": i.state,
                    "az": i.az,
                    "ip": i.private_ip,
                    "group": i.tags.get("aws:autoscaling:groupName"),
                    "image": i.image,
                    "runtime": i.unit.kinds() if i.unit else {},
                }
                for i in self.ec2.instances.values()
            ],
            "tasks": [
                {
                    "id": t.task_id,
                    "cluster": t.cluster.name,
                    "service": t.service,
                    "state": t.last_status,
                    "desired": t.desired_status,
                    "az": t.az,
                    "ip": t.private_ip,
                    "health": t.health_status,
                    "stop_code": t.stop_code,
                    "stopped_reason": t.stopped_reason,
                    "runtime": t.unit.kinds() if t.unit else {},
                }
                for t in self.ecs.tasks.values()
            ],
            "databases": [
                {
                    "cluster": c["DBClusterIdentifier"],
                    "status": c["Status"],
                    "endpoint": c["Endpoint"],
                    "port": c["Port"],
                    "writer": next(
                        (m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", []) if m.get("IsClusterWriter")),
                        None,
                    ),
                }
                for c in self.rds.describe_db_clusters()["DBClusters"]
            ],
            "alarms": [
                {"name": a.name, "state": a.state}
                for a in self.cloudwatch.describe_alarms(types=["MetricAlarm", "CompositeAlarm"])
            ],
        }

    def notes(self, mode: str) -> list[str]:
        """What the lab cannot do on this host: its network mode's limits, and resource limits."""
        notes = limitations(mode)
        if self.cgroups_unavailable is not None:
            notes.append(
                f"units run without CPU and memory limits ({self.cgroups_unavailable}): CPU stress "
                "is of the host's cores and CPUUtilization of the reserved CPU as if it were the limit"
            )
        return notes

    def _lb_status(self) -> list[dict[str, Any]]:
        out = []
        for lb in self.elbv2.describe_load_balancers()["LoadBalancers"]:
            listeners = self.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
            groups = []
            for tg in self.elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]:
                health = self.elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
                groups.append(
                    {
                        "name": tg["TargetGroupName"],
                        "targets": [
                            {
                                "id": d["Target"]["Id"],
                                "port": d["Target"].get("Port"),
                                "state": d["TargetHealth"]["State"],
                                "reason": d["TargetHealth"].get("Reason"),
                            }
                            for d in health["TargetHealthDescriptions"]
                        ],
                    }
                )
            out.append(
                {
                    "name": lb["LoadBalancerName"],
                    "listeners": [
                        f"http://{self.elbv2.listener_address(listener['ListenerArn'])[0]}:"
                        f"{self.elbv2.listener_address(listener['ListenerArn'])[1]}"
                        for listener in listeners
                    ],
                    "target_groups": groups,
                }
            )
        return out

    async def _status_route(self, request: web.Request) -> web.Response:
        return web.json_response(self.status(), dumps=lambda o: json.dumps(o, default=str))

    async def _events_route(self, request: web.Request) -> web.Response:
        """Lab events after `since` (a sequence number): runners and reports follow the lab with it."""
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return web.json_response({"message": "since must be an integer sequence number"}, status=400)
        kinds = set(request.query["kinds"].split(",")) if request.query.get("kinds") else None
        events = self.events.since(since, kinds)
        return web.json_response(
            {"events": events, "last": events[-1]["seq"] if events else since},
            dumps=lambda o: json.dumps(o, default=str),
        )

    async def _alb_requests_route(self, request: web.Request) -> web.Response:
        """What the ALBs saw per request (target chosen, status, ELB- or target-generated, error
        kind) after `since` (epoch seconds): lets a runner attribute failures to a target."""
        try:
            since = float(request.query.get("since", "0"))
        except ValueError:
            return web.json_response({"message": "since must be epoch seconds"}, status=400)
        return web.json_response(
            {"requests": self.elbv2.recent_requests(since)}, dumps=lambda o: json.dumps(o, default=str)
        )

    def write_lab_file(self) -> Path:
        """Where a detached lab can be found: pid, API endpoint, run id. `launcher` is the process
        that started it: itself, or in userns mode the host-side broker that is its parent."""
        path = self.config.home / LAB_FILE
        tmp = path.with_suffix(".tmp")
        launcher = os.getppid() if single_uid_namespace() else os.getpid()
        tmp.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "launcher": launcher,
                    "run_id": self.run_id,
                    "api": self.config.endpoint_url,
                    "api_port": self.config.api_port,
                    "stack": self.stack_name,
                    "started_at": self.started_at,
                    "time_scale": self.clock.scale,
                }
            )
        )
        tmp.replace(path)
        return path

    def remove_lab_file(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.config.home / LAB_FILE).unlink()


def _network_mode(vpc_mode: str) -> str:
    """What `status` calls the mode: namespaces built as root inside the lab's own user
    namespace are the `userns` mode."""
    return "userns" if vpc_mode == "netns" and single_uid_namespace() else vpc_mode
