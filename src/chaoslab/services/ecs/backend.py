"""ECS semantics on real processes: the task lifecycle (PROVISIONING … RUNNING … STOPPED) with
stop codes, container health checks, and a service scheduler that keeps `desiredCount` tasks
running, spread over AZs, registered with the service's target groups, replacing any that stop
or fail their health checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chaoslab.errors import AwsError
from chaoslab.ids import task_id as new_task_id
from chaoslab.runtime.kinds.base import ImageUnavailable, InImage, ProcessSpec, UnitRuntime
from chaoslab.runtime.unit import ContainerSpec, ExitInfo
from chaoslab.services.compute import new_unit
from chaoslab.services.ec2.models import Subnet
from chaoslab.services.ecs import capacity, containers, discovery, task_metadata, utilization
from chaoslab.services.ecs import deployments as rollout
from chaoslab.services.ecs.containers import StartFailure
from chaoslab.services.ecs.deployments import Deployment
from chaoslab.services.ecs.models import Cluster, ContainerState, Service, Task, new_deployment_id
from chaoslab.services.ecs.taskdef import TaskDefinitions, health_settings
from chaoslab.types import LabLike

log = logging.getLogger(__name__)

STOPPED_VISIBLE_SECONDS = 3600.0  # stopped tasks stay describable for about an hour
LISTEN_WAIT_SECONDS = 60.0
START_CONFIRM_SECONDS = 0.5
MiB = 1024 * 1024
# What ECS says of a container the kernel killed for its memory limit (SIGKILL: 128 + 9).
OOM_EXIT_CODE = 137
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
START_BACKOFF_FIRST, START_BACKOFF_MAX = 5.0, 900.0  # after a failed start; AWS's throttle caps at 15 min
START_IMPAIRED = (
    "(service {name}) is unable to consistently start tasks successfully. For more information, "
    "see the Troubleshooting section of the Amazon ECS Developer Guide."
)
# The agent's words when the awslogs driver cannot create its stream, plus the group it looked for.
LOG_GROUP_MISSING = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried "
    "1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
    "group does not exist. : exit status 1 (awslogs-group {group})"
)


class AwsLogs(NamedTuple):
    """Where the awslogs driver sends a container's output, and whether it may create the group."""

    group: str
    stream: str
    create_group: bool


def awslogs_of(container: dict[str, Any], task_id: str) -> AwsLogs | None:
    """The container's awslogs destination (stream `<prefix>/<container>/<task-id>`, as the agent
    names it), or None when it uses another driver or names no group."""
    config = container.get("logConfiguration") or {}
    opts = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not opts.get("awslogs-group"):
        return None
    prefix = opts.get("awslogs-stream-prefix")
    stream = f"{prefix}/{container['name']}/{task_id}" if prefix else task_id
    return AwsLogs(opts["awslogs-group"], stream, str(opts.get("awslogs-create-group", "")).lower() == "true")


class EcsBackend:
    """`lab.ecs`. `runtime` runs the tasks' containers."""

    def __init__(self, lab: LabLike, runtime: UnitRuntime) -> None:
        self.lab = lab
        self.runtime = runtime
        self.clusters: dict[str, Cluster] = {}
        self.task_definitions = TaskDefinitions(lab.config.region, lab.config.account_id)
        self.services: dict[tuple[str, str], Service] = {}
        self.tasks: dict[str, Task] = {}
        self._scheduler: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        # Wall seconds a service task without a load balancer must stay up before it is RUNNING:
        # process start-up does not scale with the lab clock (docs/ecs.md).
        self.start_confirm_seconds = START_CONFIRM_SECONDS

    async def start(self) -> None:
        self._scheduler = asyncio.create_task(self._schedule_forever())
        self.lab.elbv2.add_health_listener(self._target_health_changed)

    async def stop(self) -> None:
        if self._scheduler:
            self._scheduler.cancel()
            await asyncio.gather(self._scheduler, return_exceptions=True)
        for t in list(self._background):
            t.cancel()
        await asyncio.gather(*(t.unit.destroy() for t in self.tasks.values() if t.unit), return_exceptions=True)

    # clusters ------------------------------------------------------------------------------
    def create_cluster(
        self,
        name: str = "default",
        tags: dict[str, str] | None = None,
        settings: list[dict[str, Any]] | None = None,
        capacity_providers: list[str] | None = None,
        default_strategy: list[dict[str, Any]] | None = None,
    ) -> Cluster:
        if name in self.clusters and self.clusters[name].status == "ACTIVE":
            return self.clusters[name]
        arn = f"arn:aws:ecs:{self.lab.config.region}:{self.lab.config.account_id}:cluster/{name}"
        cluster = Cluster(name, arn, dict(tags or {}), list(settings or []))
        if capacity_providers is not None or default_strategy is not None:
            self._set_providers(cluster, capacity_providers or [], default_strategy or [])
        self.clusters[name] = cluster
        return cluster

    def put_cluster_capacity_providers(
        self, cluster_ref: str, providers: list[str], default_strategy: list[dict[str, Any]]
    ) -> Cluster:
        cluster = self.cluster(cluster_ref)
        self._set_providers(cluster, providers, default_strategy)
        return cluster

    @staticmethod
    def _set_providers(cluster: Cluster, providers: list[str], default_strategy: list[dict[str, Any]]) -> None:
        """The cluster's providers (the lab's two Fargate ones) and the strategy its services use
        when they name neither a launch type nor a strategy of their own."""
        strategy = capacity.check_strategy(default_strategy)
        capacity.check_strategy([{"capacityProvider": p, "weight": 1} for p in providers])
        missing = [s["capacityProvider"] for s in strategy if s["capacityProvider"] not in providers]
        if missing:
            raise AwsError(
                "InvalidParameterException",
                f"The default capacity provider strategy names {', '.join(missing)}, which is not associated with the cluster.",
            )
        cluster.capacity_providers, cluster.default_strategy = list(providers), strategy

    def cluster(self, ref: str | None) -> Cluster:
        name = (ref or "default").rsplit("/", 1)[-1]
        cluster = self.clusters.get(name)
        if cluster is None or cluster.status != "ACTIVE":
            raise AwsError("ClusterNotFoundException", "Cluster not found.")
        return cluster

    def delete_cluster(self, ref: str) -> Cluster:
        cluster = self.cluster(ref)
        if any(s.cluster is cluster and s.status == "ACTIVE" for s in self.services.values()):
            raise AwsError(
                "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active."
            )
        if any(t.cluster is cluster and t.last_status != "STOPPED" for t in self.tasks.values()):
            raise AwsError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
        cluster.status = "INACTIVE"
        return cluster

    def describe_cluster(self, cluster: Cluster) -> dict[str, Any]:
        tasks = [t for t in self.tasks.values() if t.cluster is cluster]
        return {
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": cluster.status,
            "runningTasksCount": sum(t.last_status == "RUNNING" for t in tasks),
            "pendingTasksCount": sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in tasks),
            "activeServicesCount": sum(s.cluster is cluster and s.status == "ACTIVE" for s in self.services.values()),
            "registeredContainerInstancesCount": 0,
            "settings": cluster.settings,
            "capacityProviders": list(cluster.capacity_providers),
            "defaultCapacityProviderStrategy": [dict(item) for item in cluster.default_strategy],
            "tags": [{"key": k, "value": v} for k, v in cluster.tags.items()],
        }

    # services ------------------------------------------------------------------------------
    def create_service(
        self,
        cluster_ref: str | None,
        name: str,
        task_definition: str,
        desired_count: int,
        *,
        launch_type: str | None = None,
        capacity_provider_strategy: list[dict[str, Any]] | None = None,
        load_balancers: list[dict[str, Any]] | None = None,
        network_configuration: dict[str, Any] | None = None,
        grace: int = 0,
        deployment_configuration: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        service_registries: list[dict[str, Any]] | None = None,
    ) -> Service:
        cluster = self.cluster(cluster_ref)
        existing = self.services.get((cluster.name, name))
        if existing and existing.status == "ACTIVE":
            raise AwsError("InvalidParameterException", "Creation of service was not idempotent.")
        td = self.task_definitions.get(task_definition)
        if desired_count < 0:
            raise AwsError("InvalidParameterException", "desiredCount must be 0 or greater.")
        lbs = list(load_balancers or [])
        for lb in lbs:
            self._check_load_balancer(td, lb)
        if lbs and td.get("networkMode") == "awsvpc":
            for lb in lbs:
                tg = self.lab.elbv2.target_groups.get(lb["targetGroupArn"])
                if tg is not None and getattr(tg, "target_type", "ip") != "ip":
                    raise AwsError(
                        "InvalidParameterException",
                        f"The provided target group {lb['targetGroupArn']} has target type instance, "
                        "which is incompatible with the awsvpc network mode specified in the task definition.",
                    )
        subnets = self._subnets(network_configuration)
        if launch_type and capacity_provider_strategy:
            raise AwsError(
                "InvalidParameterException",
                "Specifying both a launch type and capacity provider strategy is not supported.",
            )
        strategy = capacity.check_strategy(
            capacity_provider_strategy or ([] if launch_type else cluster.default_strategy)
        )
        self._groups(network_configuration, subnets[0])
        registries = self._registries(service_registries or [], td)
        svc = Service(
            name,
            cluster,
            td,
            desired_count,
            launch_type or ("FARGATE" if not strategy else ""),
            strategy,
            lbs,
            subnets,
            dict(network_configuration or {}),
            grace,
            dict(deployment_configuration or {}),
            dict(tags or {}),
            registries,
        )
        self.services[(cluster.name, name)] = svc
        self._event(svc, f"(service {name}) was created.")
        self._kick.set()
        return svc

    def _registries(self, registries: list[dict[str, Any]], td: dict[str, Any]) -> list[dict[str, Any]]:
        if not registries:
            return []
        return discovery.check_registries(registries, td, self.lab.servicediscovery.service_by_arn)

    def _check_load_balancer(self, td: dict[str, Any], lb: dict[str, Any]) -> None:
        if "targetGroupArn" not in lb:
            raise AwsError(
                "InvalidParameterException",
                "loadBalancers[].targetGroupArn is required for an Application Load Balancer.",
            )
        self.lab.elbv2.describe_target_groups(TargetGroupArns=[lb["targetGroupArn"]])
        container = next((c for c in td["containerDefinitions"] if c["name"] == lb.get("containerName")), None)
        if container is None:
            raise AwsError(
                "InvalidParameterException",
                f"The container {lb.get('containerName')} does not exist in the task definition.",
            )
        ports = [pm["containerPort"] for pm in container.get("portMappings", [])]
        if lb.get("containerPort") not in ports:
            raise AwsError(
                "InvalidParameterException",
                f"The container {container['name']} did not have a container port {lb.get('containerPort')} "
                f"defined (ports: {ports}).",
            )

    def _groups(self, network_configuration: dict[str, Any] | None, subnet: Subnet) -> tuple[str, ...]:
        """awsvpcConfiguration.securityGroups as group ids (checked); none given: the VPC's default."""
        refs = ((network_configuration or {}).get("awsvpcConfiguration") or {}).get("securityGroups")
        groups: tuple[str, ...] = self.lab.ec2.resolve_groups(refs, subnet)
        return groups

    def _subnets(self, network_configuration: dict[str, Any] | None) -> list[Subnet]:
        ids = ((network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
        if ids:
            return [self.lab.ec2.subnet(s) for s in ids]
        return list(self.lab.ec2.default_vpc().subnets.values())

    def service(self, cluster_ref: str | None, name: str) -> Service:
        cluster = self.cluster(cluster_ref)
        svc = self.services.get((cluster.name, name.rsplit("/", 1)[-1]))
        if svc is None or svc.status == "INACTIVE":
            raise AwsError("ServiceNotFoundException", "Service not found.")
        return svc

    def update_service(
        self,
        cluster_ref: str | None,
        name: str,
        *,
        desired_count: int | None = None,
        task_definition: str | None = None,
        force_new_deployment: bool = False,
        grace: int | None = None,
        service_registries: list[dict[str, Any]] | None = None,
    ) -> Service:
        svc = self.service(cluster_ref, name)
        if svc.status != "ACTIVE":
            raise AwsError("ServiceNotActiveException", "Service was not ACTIVE.")
        if desired_count is not None and desired_count < 0:
            raise AwsError("InvalidParameterException", "desiredCount must be 0 or greater.")
        td = None if task_definition is None else self.task_definitions.get(task_definition)  # before any change
        if service_registries is not None:  # tasks started from now on register there
            svc.service_registries = self._registries(service_registries, td or svc.task_definition)
        if desired_count is not None:
            svc.desired_count = svc.primary.desired_count = desired_count
        if td is not None or force_new_deployment:
            self._new_deployment(svc, td or svc.task_definition)
            self._event(svc, f"(service {svc.name}) has started a new deployment ({svc.deployment_id}).")
        if grace is not None:
            svc.grace = grace
        svc.primary.updated_at = self.lab.clock.now()
        svc.steady = False
        self._kick.set()
        return svc

    def _new_deployment(self, svc: Service, td: dict[str, Any], reason: str = "") -> None:
        """A new PRIMARY deployment; the ones before it turn ACTIVE until their tasks are replaced."""
        now = self.lab.clock.now()
        for d in svc.deployments:
            d.status = "ACTIVE"
        svc.deployments.insert(
            0, Deployment(new_deployment_id(), td, svc.desired_count, now, now, rollout_reason=reason)
        )
        svc.task_definition = td
        self._reset_start_backoff(svc)  # as on ECS: a new deployment ends the throttle
        svc.steady = False

    async def delete_service(self, cluster_ref: str | None, name: str, force: bool = False) -> Service:
        svc = self.service(cluster_ref, name)
        if svc.desired_count > 0 and not force:
            raise AwsError("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
        svc.status = "DRAINING"
        svc.desired_count = 0
        for task in self._service_tasks(svc):
            self.stop_task_soon(task, "ServiceSchedulerInitiated", "Service deleted")
        self._spawn(self._finish_delete(svc))
        return svc

    async def _finish_delete(self, svc: Service) -> None:
        while self._service_tasks(svc):
            await asyncio.sleep(0.2)
        svc.status = "INACTIVE"

    def _service_tasks(self, svc: Service) -> list[Task]:
        return [
            t
            for t in self.tasks.values()
            if t.service == svc.name and t.cluster is svc.cluster and t.desired_status != "STOPPED"
        ]

    def describe_service(self, svc: Service) -> dict[str, Any]:
        tasks = [t for t in self.tasks.values() if t.service == svc.name and t.cluster is svc.cluster]
        running = sum(t.last_status == "RUNNING" and t.desired_status == "RUNNING" for t in tasks)
        pending = sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in tasks)
        out = {
            "serviceArn": svc.arn,
            "serviceName": svc.name,
            "clusterArn": svc.cluster.arn,
            "loadBalancers": svc.load_balancers,
            "serviceRegistries": svc.service_registries,
            "status": svc.status,
            "desiredCount": svc.desired_count,
            "runningCount": running,
            "pendingCount": pending,
            "launchType": svc.launch_type or None,
            "capacityProviderStrategy": svc.capacity_provider_strategy or None,
            "taskDefinition": svc.task_definition["taskDefinitionArn"],
            "deploymentConfiguration": {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": False, "rollback": False},
                **svc.deployment_configuration,
            },
            "deployments": [self._describe_deployment(svc, d, tasks) for d in svc.deployments],
            "events": list(reversed(svc.events[-100:])),
            "createdAt": _utc(svc.created_at),
            "healthCheckGracePeriodSeconds": svc.grace,
            "schedulingStrategy": "REPLICA",
            "networkConfiguration": svc.network_configuration or None,
            "tags": [{"key": k, "value": v} for k, v in svc.tags.items()],
            "deploymentController": {"type": "ECS"},
            "enableExecuteCommand": False,
        }
        return {k: v for k, v in out.items() if v is not None}

    def _describe_deployment(self, svc: Service, d: Deployment, tasks: list[Task]) -> dict[str, Any]:
        """One `deployments[]` entry; an ACTIVE deployment's desiredCount is the tasks it still keeps."""
        own = [t for t in tasks if t.started_by == d.id]
        out = {
            "id": d.id,
            "status": d.status,
            "taskDefinition": d.task_definition["taskDefinitionArn"],
            "desiredCount": svc.desired_count if d is svc.primary else sum(t.desired_status == "RUNNING" for t in own),
            "pendingCount": sum(t.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") for t in own),
            "runningCount": sum(t.last_status == "RUNNING" and t.desired_status == "RUNNING" for t in own),
            "failedTasks": d.failed_tasks,
            "createdAt": _utc(d.created_at),
            "updatedAt": _utc(d.updated_at),
            "launchType": svc.launch_type or None,
            "rolloutState": d.rollout_state,
            "rolloutStateReason": d.rollout_reason,
            "networkConfiguration": svc.network_configuration or None,
        }
        return {k: v for k, v in out.items() if v is not None}

    def service_event(self, svc: Service, message: str) -> None:
        """Add an event to the service (DescribeServices shows it) from outside ECS, e.g. a
        Fargate Spot interruption warning sent by a FIS lab action."""
        self._event(svc, message)

    def _event(self, svc: Service, message: str) -> None:
        svc.events.append({"id": str(time.time_ns()), "createdAt": datetime.now(UTC), "message": message})
        self.lab.events.emit("ecs.service_event", service=svc.name, cluster=svc.cluster.name, message=message)

    # tasks ---------------------------------------------------------------------------------
    async def run_task(
        self,
        cluster_ref: str | None,
        task_definition: str,
        count: int = 1,
        *,
        started_by: str | None = None,
        group: str | None = None,
        network_configuration: dict[str, Any] | None = None,
        launch_type: str | None = None,
        capacity_provider: str | None = None,
        tags: dict[str, str] | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> list[Task]:
        cluster = self.cluster(cluster_ref)
        td = self.task_definitions.get(task_definition)
        if not 1 <= count <= 10:
            raise AwsError("InvalidParameterException", "count must be between 1 and 10.")
        subnets = self._subnets(network_configuration)
        groups = self._groups(network_configuration, subnets[0])
        tasks = []
        for i in range(count):
            subnet = subnets[i % len(subnets)]
            task = self._new_task(
                cluster,
                td,
                group or f"family:{td['family']}",
                started_by,
                subnet,
                None,
                launch_type or "FARGATE",
                capacity_provider,
                tags,
            )
            task.security_groups = groups
            tasks.append(task)
            self._spawn(self._launch(task, None, overrides or {}))
        return tasks

    def _new_task(
        self,
        cluster: Cluster,
        td: dict[str, Any],
        group: str,
        started_by: str | None,
        subnet: Subnet,
        service: str | None,
        launch_type: str,
        capacity_provider: str | None,
        tags: dict[str, str] | None,
    ) -> Task:
        task = Task(
            new_task_id(),
            cluster,
            td,
            group,
            started_by,
            subnet,
            launch_type,
            capacity_provider or ("FARGATE" if launch_type == "FARGATE" else None),
            service,
            dict(tags or {}),
        )
        task.containers = [
            ContainerState(c["name"], c["image"], c.get("essential", True)) for c in td["containerDefinitions"]
        ]
        self.tasks[task.task_id] = task
        self._state(task, "PROVISIONING")
        return task

    async def _launch(self, task: Task, svc: Service | None, overrides: dict[str, Any]) -> None:
        """PROVISIONING → PENDING → ACTIVATING → RUNNING, or STOPPED with TaskFailedToStart."""
        try:
            network = self.lab.ec2.network_of(task.subnet)
            task.unit = new_unit(
                self.lab,
                self.runtime,
                network,
                task.az,
                task.task_id,
                on_exit=lambda info: self._container_exited(task, info),
                limits=utilization.task_limits(task.task_definition),
            )
            # Fargate's capacity and ENI attachment, then the image pull: AWS's times (docs/timing.md).
            provisioned_by = time.monotonic() + self.lab.clock.wall(self.lab.config.timing.draw("ecs_provisioning_s"))
            task.private_ip = await task.unit.provision(hosts=self.lab.ec2.extra_hosts)
            await asyncio.sleep(max(0.0, provisioned_by - time.monotonic()))
            task.metadata_served = await self._serve_metadata(task)
            task.security_groups = task.security_groups or self._groups(None, task.subnet)
            await self.lab.ec2.enforce(task.task_id, task.unit, task.security_groups, task.subnet)
            if task.desired_status == "STOPPED":
                return await self._teardown(task)
            self._state(task, "PENDING")
            task.pull_started_at = self.lab.clock.now()
            defs = task.task_definition["containerDefinitions"]
            kinds = [await self._kind(task, c, overrides) for c in defs]
            specs = [self._container_spec(task, c, overrides, kind) for c, kind in zip(defs, kinds, strict=True)]
            self._open_log_streams(task)
            await self.lab.clock.sleep(self.lab.config.timing.draw("ecs_image_pull_s"))
            if task.desired_status == "STOPPED":
                return await self._teardown(task)
            task.pull_stopped_at = self.lab.clock.now()
            self._state(task, "ACTIVATING")
            await task.unit.start(specs)
            for c in task.containers:
                c.last_status = "RUNNING"
                c.health_started = self.lab.clock.now()
            if svc is not None:
                await self._wait_listening(task, svc)
                if not svc.load_balancers:  # nothing to wait for: give a crash at start-up a moment to show
                    await asyncio.sleep(self.start_confirm_seconds)
                if task.desired_status == "STOPPED":  # its essential container already exited
                    return await self._teardown(task)
                self._register(task, svc)
            task.started_at = self.lab.clock.now()
            self._state(task, "RUNNING")
            if svc is not None:
                self._register_discovery(task, svc)
                self._reset_start_backoff(svc)
                deployment = self._deployment_of(svc, task)
                if deployment is not None:  # as on ECS: a task of it running resets its failed count
                    deployment.failed_tasks = 0
            if any(c.get("healthCheck") for c in task.task_definition["containerDefinitions"]):
                self._spawn(self._health_loop(task))
        except StartFailure as failure:
            task.failed = True
            task.stop_code, task.stopped_reason = "TaskFailedToStart", str(failure)
            for c in task.containers:
                c.last_status, c.reason = "STOPPED", str(failure)
            task.desired_status = "STOPPED"
            await self._teardown(task)
            self._start_failed(svc)
        except Exception as exc:  # a lab bug must not leave a half-started task behind
            log.exception("task %s failed to start", task.task_id)
            task.failed = True
            task.stop_code, task.stopped_reason = "TaskFailedToStart", f"ResourceInitializationError: {exc}"
            task.desired_status = "STOPPED"
            await self._teardown(task)
            self._start_failed(svc)
        finally:
            self._kick.set()

    @staticmethod
    def _override(c: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        return next((o for o in overrides.get("containerOverrides", []) if o.get("name") == c["name"]), {})

    def _command(self, c: dict[str, Any], overrides: dict[str, Any]) -> list[str]:
        override = self._override(c, overrides)
        return [*(c.get("entryPoint") or []), *(override.get("command") or c.get("command") or [])]

    async def _kind(self, task: Task, c: dict[str, Any], overrides: dict[str, Any]) -> str:
        """The pull step: whether the container runs in its image or as a process (the
        runtime's choice), or cannot run at all, as ECS says of an image it cannot pull."""
        probe = ProcessSpec(image=c["image"], command=self._command(c, overrides), in_image=InImage())
        try:
            assert task.unit is not None and task.unit.sandbox is not None, "provisioned first"
            return await self.runtime.kind_for(task.unit.sandbox, probe)
        except ImageUnavailable as e:
            raise StartFailure(
                f"CannotPullContainerError: pull image manifest has been retried 1 time(s): {e}"
            ) from None

    def _container_spec(
        self, task: Task, c: dict[str, Any], overrides: dict[str, Any], kind: str = "process"
    ) -> ContainerSpec:
        """What the container runs, in the task definition's terms; the runtime adds where it
        binds (HOST, PORT: its first port mapping) unless its environment says. In its image
        (`kind` "container") it gets the task's and its own limits, as ECS applies them."""
        override = self._override(c, overrides)
        ports = [pm["containerPort"] for pm in c.get("portMappings", [])]
        in_image = self._in_image(task, c) if kind == "container" else None
        # A host program gets a plain PATH; a container keeps its image's unless it names one.
        env = {
            **({"PATH": "/usr/local/bin:/usr/bin:/bin"} if in_image is None else {}),
            task_metadata.ENV: task_metadata.uri(task.task_id, c["name"]) if task.metadata_served else "",
            "AWS_REGION": self.lab.config.region,
            "INSTANCE_ID": task.task_id,
            "AZ": task.az,
            "PRIVATE_IP": task.private_ip or "",
        }
        env.update(containers.environment_files(c))  # `environment` wins over the files, as on ECS
        for pair in [*c.get("environment", []), *override.get("environment", [])]:
            env[pair["name"]] = str(pair.get("value", ""))
        env.update(containers.secrets(c, getattr(getattr(self.lab, "ssm", None), "parameters", None)))
        command = self._command(c, overrides)
        # Without a workingDirectory a container starts in the task's scratch directory; one that
        # runs as another user starts in / (an image without WORKDIR), which every user may enter.
        cwd = c.get("workingDirectory") or ("/" if c.get("user") else None)
        if in_image is not None:
            cwd = None  # it is the image's directory, in `in_image`
        elif cwd and not os.path.isdir(cwd):
            raise StartFailure(
                f"CannotStartContainerError: workingDirectory {cwd} does not exist (units see this host's files)"
            )
        logs = awslogs_of(c, task.task_id)
        return ContainerSpec(
            c["name"],
            ProcessSpec(
                image=c["image"],
                in_image=in_image,
                command=command,
                env=env,
                port=ports[0] if ports else 80,
                cwd=cwd,
                user=c.get("user"),
            ),
            essential=c.get("essential", True),
            stop_timeout=float(c.get("stopTimeout", 30)),
            log_group=logs.group if logs else None,
            log_stream=logs.stream if logs else None,
            limits=utilization.container_limits(c),
        )

    async def _serve_metadata(self, task: Task) -> bool:
        """The task metadata endpoint v4 inside the task (netns and userns modes only)."""
        unit = task.unit
        assert unit is not None and unit.sandbox is not None
        mac, cidr = unit.sandbox.mac, task.subnet.cidr

        names = {task_metadata.container_id(task.task_id, c.name): c.name for c in task.containers}

        def stats(cid: str) -> dict[str, Any]:
            """A container's own cgroup leaf; without cgroups, the task's processes."""
            cg, name = unit.cgroup, names.get(cid)
            memory = cg.memory_bytes(name) if cg else unit.memory_bytes()
            cpu = cg.cpu_seconds(name) if cg else 0.0
            limit = unit.limits.memory_mib * MiB if unit.limits.memory_mib else None
            return task_metadata.docker_stats(cpu, memory, limit, time.time())

        handler = task_metadata.handler(lambda: task_metadata.task_document(task, mac, cidr), stats)
        return await unit.serve(task_metadata.ADDRESS, task_metadata.PORT, handler)

    @staticmethod
    def _in_image(task: Task, c: dict[str, Any]) -> InImage:
        """The engine's limits: the task's `cpu` as a cap (1024 units = one CPU), the
        container's `cpu` as its weight, its `memory` (or else the task's) as the hard limit."""
        td = task.task_definition
        task_cpu, task_memory = td.get("cpu"), td.get("memory")
        return InImage(
            cpus=int(task_cpu) / 1024 if task_cpu else None,
            cpu_shares=int(c["cpu"]) if c.get("cpu") else None,
            memory_mib=int(c.get("memory") or task_memory or 0) or None,
            workdir=c.get("workingDirectory"),
        )

    def _open_log_streams(self, task: Task) -> None:
        """What the awslogs driver does before a container starts: the group must exist, or is
        created with `awslogs-create-group: "true"`; then the container's stream is created."""
        logs = getattr(self.lab, "logs", None)
        if logs is None:
            return
        for c in task.task_definition["containerDefinitions"]:
            target = awslogs_of(c, task.task_id)
            if target is None:
                continue
            if target.group not in logs.groups and not target.create_group:
                raise StartFailure(LOG_GROUP_MISSING.format(group=target.group))
            try:
                if target.group not in logs.groups:
                    logs.create_log_group(target.group)
                if target.stream not in logs.groups[target.group].streams:
                    logs.create_log_stream(target.group, target.stream)
            except AwsError as e:
                raise StartFailure(
                    f"ResourceInitializationError: failed to validate logger args: {e.code}: "
                    f"{e.message} : exit status 1"
                ) from None

    async def _wait_listening(self, task: Task, svc: Service) -> None:
        """Register once the container's port accepts connections (its app has started), so the
        first ALB health check can pass; a task that never listens is registered anyway after the
        wait and fails its checks, as on ECS."""
        deadline = time.monotonic() + LISTEN_WAIT_SECONDS
        for lb in svc.load_balancers:
            if task.unit:
                await task.unit.wait_serving(int(lb["containerPort"]), deadline - time.monotonic())

    def _register(self, task: Task, svc: Service) -> None:
        for lb in svc.load_balancers:
            port = int(lb["containerPort"])
            with contextlib.suppress(AwsError):
                self.lab.elbv2.register_targets(
                    TargetGroupArn=lb["targetGroupArn"], Targets=[{"Id": task.private_ip, "Port": port}]
                )
                task.registrations.append((lb["targetGroupArn"], port))

    def _register_discovery(self, task: Task, svc: Service) -> None:
        """Register a RUNNING task in its service's Cloud Map registries, as ECS does."""
        for reg in svc.service_registries:
            target = self.lab.servicediscovery.service_by_arn(reg["registryArn"])
            if target is None or task.private_ip is None:
                continue  # the registry was deleted under the service; ECS reports nothing either
            srv = any(r["Type"] == "SRV" for r in target.records)
            attrs = discovery.attributes(
                reg,
                task.private_ip,
                task.az,
                task.cluster.name,
                svc.name,
                task.task_definition["family"],
                self.lab.config.region,
                srv,
            )
            try:
                self.lab.servicediscovery.register_instance(target.id, task.task_id, attrs)
            except AwsError as exc:
                self._event(svc, f"(service {svc.name}) failed to register task {task.task_id}: {exc.message}")
                continue
            task.discovery.append(target.id)

    def _deregister_discovery(self, task: Task) -> None:
        for srv_id in task.discovery:
            with contextlib.suppress(AwsError):  # deregistered already, or its service is gone
                self.lab.servicediscovery.deregister_instance(srv_id, task.task_id)
        task.discovery.clear()

    def _discovery_health(self, task: Task) -> None:
        """A registry with a custom health check follows the task's container health."""
        if not task.discovery:
            return
        status = "UNHEALTHY" if task.health_status == "UNHEALTHY" else "HEALTHY"
        for srv_id in task.discovery:
            with contextlib.suppress(AwsError):  # no custom health check on it: nothing to report
                self.lab.servicediscovery.set_custom_health(srv_id, task.task_id, status)

    def _container_exited(self, task: Task, info: ExitInfo) -> None:
        container = next(c for c in task.containers if c.name == info.name)
        container.last_status, container.exit_code = "STOPPED", info.code
        if info.oom_killed:  # as ECS reports a container the kernel killed for its memory limit
            container.exit_code, container.reason = OOM_EXIT_CODE, OOM_REASON
        self.lab.events.emit(
            "unit.process_exit",
            unit_id=task.task_id,
            unit_kind="task",
            process=info.name,
            code=info.code,
            output=info.output,
        )
        if info.essential and task.desired_status == "RUNNING":
            task.failed = True
            # ECS puts an OOM kill in the container's reason; the task stopped for its essential container
            self.stop_task_soon(task, "EssentialContainerExited", "Essential container in task exited")

    async def _health_loop(self, task: Task) -> None:
        """Docker-style container health checks run inside the task's network identity."""
        defs = {
            c["name"]: c["healthCheck"] for c in task.task_definition["containerDefinitions"] if c.get("healthCheck")
        }
        last_run: dict[str, float] = {}
        while task.last_status == "RUNNING" and task.desired_status == "RUNNING":
            await asyncio.sleep(self.lab.clock.cadence(0.5))
            now = self.lab.clock.now()
            for name, hc in defs.items():
                cfg = health_settings(hc)
                if now - last_run.get(name, 0.0) < cfg["interval"]:
                    continue
                last_run[name] = now
                ok = await self._probe(task, name, hc, cfg["timeout"])
                state = next(c for c in task.containers if c.name == name)
                in_start = now - state.health_started < cfg["startPeriod"]
                if ok:
                    state.health, state.health_failures = "HEALTHY", 0
                elif not in_start:
                    state.health_failures += 1
                    if state.health_failures >= cfg["retries"]:
                        state.health = "UNHEALTHY"
            self._discovery_health(task)
            if task.service and task.health_status == "UNHEALTHY":
                task.failed = True
                self.stop_task_soon(task, "ServiceSchedulerInitiated", "Task failed container health checks")

    async def _probe(self, task: Task, name: str, hc: dict[str, Any], timeout: int) -> bool:
        cmd = hc["command"]
        argv = ["sh", "-c", cmd[1]] if cmd[0] == "CMD-SHELL" else list(cmd[1:])
        try:
            if task.unit is None:
                return False
            code, _ = await task.unit.run(argv, timeout=timeout, container=name)
            return code == 0
        except Exception:
            return False

    def stop_task_soon(self, task: Task, stop_code: str, reason: str, drain: bool = False) -> None:
        """Stop a task; with `drain`, it stays up through its target groups' deregistration delay
        first (a deployment replacing it), so requests in flight finish."""
        if task.desired_status == "STOPPED":
            return
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = stop_code, reason
        task.stopping_at = self.lab.clock.now()
        self._spawn(self._stop_sequence(task, drain))

    def interrupt_spot(self, task: Task, warning: float, experiment: str | None = None) -> bool:
        """Reclaim a Fargate Spot task's capacity as AWS does: the task is marked stopping with
        stopCode SpotInterruption at once (a task state change, so the service launches its
        replacement), its containers get SIGTERM with the warning, and the task stops when they
        have exited or `warning` scenario seconds later, whichever comes first. False for a task
        that is not a running Spot task."""
        if task.capacity_provider != "FARGATE_SPOT" or task.desired_status != "RUNNING":
            return False
        task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = "SpotInterruption", "Your Spot Task was interrupted."
        task.stopping_at = self.lab.clock.now()
        stop_at = datetime.fromtimestamp(task.stopping_at + warning, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.lab.events.emit(
            "ecs.task_event",
            task=task.arn,
            service=task.service,
            cluster=task.cluster.name,
            message="Spot interruption warning",
            stop_code=task.stop_code,
            reason=task.stopped_reason,
            stop_at=stop_at,
            experiment=experiment,
        )
        service = self.services.get((task.cluster.name, task.service)) if task.service else None
        if service is not None:
            self._event(
                service,
                f"(service {task.service}) (task {task.task_id}) received a Spot interruption warning; "
                f"it stops at {stop_at}.",
            )
        if task.unit is not None:
            task.unit.signal(signal.SIGTERM)
        self._kick.set()
        self._spawn(self._spot_stop(task, warning))
        return True

    async def _spot_stop(self, task: Task, warning: float) -> None:
        """Stop an interrupted task once its containers have exited, or when the warning ends."""
        deadline = time.monotonic() + self.lab.clock.wall(warning)
        while task.unit is not None and task.unit.running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self._stop_sequence(task)

    async def stop_task(self, cluster_ref: str | None, task_ref: str, reason: str | None = None) -> Task:
        """StopTask: the task deregisters, gets SIGTERM, then SIGKILL after stopTimeout."""
        task = self.get_task(cluster_ref, task_ref)
        self.stop_task_soon(task, "UserInitiated", reason or "Task stopped by user")
        return task

    async def _stop_sequence(self, task: Task, drain: bool = False) -> None:
        if task.last_status in ("PROVISIONING", "PENDING", "ACTIVATING") and task.unit is None:
            return  # _launch notices desired STOPPED and tears down
        while task.last_status in ("PROVISIONING", "PENDING", "ACTIVATING"):
            await asyncio.sleep(0.05)
        if task.last_status in ("DEPROVISIONING", "STOPPED"):
            return  # _launch tore it down itself
        self._state(task, "DEACTIVATING")
        self._deregister_discovery(task)
        for tg, port in task.registrations:
            with contextlib.suppress(AwsError):
                self.lab.elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": task.private_ip, "Port": port}])
        if drain and task.registrations:
            await self.lab.clock.sleep(max(self._deregistration_delay(tg) for tg, _ in task.registrations))
        self._state(task, "STOPPING")
        if task.unit:
            await task.unit.stop()
        await self._teardown(task)

    def _deregistration_delay(self, tg_arn: str) -> float:
        tg = self.lab.elbv2.target_groups.get(tg_arn)
        return 0.0 if tg is None else float(tg.attributes["deregistration_delay.timeout_seconds"])

    async def _teardown(self, task: Task) -> None:
        self._deregister_discovery(task)
        self._state(task, "DEPROVISIONING")
        # Out of its groups before its namespace is emptied: a rewrite of the members' chains
        # (another unit leaving at the same time) must not run inside a namespace being killed.
        await self.lab.ec2.firewall.detach(task.task_id)
        if task.unit:
            await task.unit.destroy()
        for c in task.containers:
            if c.last_status != "STOPPED":
                c.last_status = "STOPPED"
                if c.exit_code is None:
                    c.exit_code = 137 if task.stop_code != "EssentialContainerExited" else None
        task.stopped_at = self.lab.clock.now()
        task.desired_status = "STOPPED"
        self._state(task, "STOPPED")
        if task.failed:
            self._count_failure(task)
        self._kick.set()
        asyncio.get_running_loop().call_later(STOPPED_VISIBLE_SECONDS, lambda: self.tasks.pop(task.task_id, None))

    def _state(self, task: Task, status: str) -> None:
        old, task.last_status = task.last_status, status
        self.lab.events.emit(
            "unit.state",
            unit_id=task.task_id,
            unit_kind="task",
            state=status,
            old=old,
            az=task.az,
            ip=task.private_ip,
            service=task.service,
            cluster=task.cluster.name,
            stop_code=task.stop_code,
            reason=task.stopped_reason,
        )

    def get_task(self, cluster_ref: str | None, task_ref: str) -> Task:
        self.cluster(cluster_ref)
        task = self.tasks.get(task_ref.rsplit("/", 1)[-1])
        if task is None:
            raise AwsError("InvalidParameterException", "The referenced task was not found.")
        return task

    def list_tasks(
        self,
        cluster_ref: str | None,
        *,
        service: str | None = None,
        family: str | None = None,
        desired_status: str = "RUNNING",
        started_by: str | None = None,
    ) -> list[str]:
        cluster = self.cluster(cluster_ref)
        return [
            t.arn
            for t in self.tasks.values()
            if t.cluster is cluster
            and t.desired_status == desired_status
            and (service is None or t.service == service.rsplit("/", 1)[-1])
            and (family is None or t.task_definition["family"] == family)
            and (started_by is None or t.started_by == started_by)
        ]

    def describe_task_records(self, cluster: str | None = None, service: str | None = None) -> list[dict[str, Any]]:
        """Task shapes for FIS target resolution (aws:ecs:task with cluster/service parameters)."""
        out = []
        for t in self.tasks.values():
            if cluster and cluster not in (t.cluster.name, t.cluster.arn):
                continue
            if service and t.service != service.rsplit("/", 1)[-1]:
                continue
            out.append(t.describe())
        return out

    def task_by_arn(self, arn: str) -> Task | None:
        return self.tasks.get(arn.rsplit("/", 1)[-1])

    # the scheduler -------------------------------------------------------------------------
    async def _schedule_forever(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._kick.wait(), timeout=self.lab.clock.cadence(1.0))
            self._kick.clear()
            try:
                for svc in list(self.services.values()):
                    if svc.status == "ACTIVE":
                        self._reconcile(svc)
                self._publish_metrics()
            except Exception:
                log.exception("ECS scheduler step failed")

    def _reconcile(self, svc: Service) -> None:
        live = self._service_tasks(svc)
        now = self.lab.clock.now()
        for t in live:  # ELB health: replace after the grace period
            if t.elb_unhealthy_since is not None and t.started_at and now - t.started_at >= svc.grace:
                tgs = ", ".join(tg for tg, _ in t.registrations)
                self._event(
                    svc, f"(service {svc.name}) (task {t.task_id}) failed ELB health checks in (target-group {tgs})"
                )
                t.failed = True
                self.stop_task_soon(
                    t, "ServiceSchedulerInitiated", f"Task failed ELB health checks in (target-group {tgs})"
                )
        live = self._service_tasks(svc)
        current = [t for t in live if t.started_by == svc.deployment_id]
        outdated = [t for t in live if t.started_by != svc.deployment_id]
        if svc.primary.rollout_state == rollout.FAILED:
            pass  # the circuit breaker stopped this deployment without a rollback: no new tasks
        elif outdated:
            self._roll(svc, current, outdated, now)
        else:
            self._keep_count(svc, current, now)
        self._settle(svc)

    def _keep_count(self, svc: Service, current: list[Task], now: float) -> None:
        """A service with one deployment: start what is missing, stop the newest extra ones."""
        missing = svc.desired_count - len(current)
        if missing > 0 and now >= svc.launch_after:
            self._start_tasks(svc, missing)
        elif missing < 0:
            for t in sorted(current, key=lambda t: t.created_at, reverse=True)[:-missing]:
                self.stop_task_soon(
                    t, "ServiceSchedulerInitiated", f"Scaling activity initiated by (deployment {svc.deployment_id})"
                )
            self._event(svc, f"(service {svc.name}) has stopped {-missing} running tasks.")

    def _roll(self, svc: Service, current: list[Task], outdated: list[Task], now: float) -> None:
        """One step of a rolling deployment within minimumHealthyPercent and maximumPercent."""
        bounds = rollout.limits(svc.desired_count, svc.deployment_configuration)
        old_unhealthy = [t for t in outdated if not self._healthy(t)]
        old_healthy = sorted((t for t in outdated if self._healthy(t)), key=lambda t: t.created_at)
        healthy = len(old_healthy) + sum(self._healthy(t) for t in current)
        plan = rollout.step(svc.desired_count, len(current), len(outdated), healthy, len(old_unhealthy), bounds)
        victims = [*old_unhealthy, *old_healthy][: plan.stop]
        for t in victims:
            self.stop_task_soon(
                t,
                "ServiceSchedulerInitiated",
                f"Scaling activity initiated by (deployment {svc.deployment_id})",
                drain=True,
            )
        if victims:
            self._event(
                svc,
                f"(service {svc.name}) has stopped {len(victims)} running tasks: "
                + " ".join(f"(task {t.task_id})" for t in victims)
                + ".",
            )
        if plan.start and now >= svc.launch_after:
            self._start_tasks(svc, plan.start)

    def _start_tasks(self, svc: Service, count: int) -> None:
        started = [self._start_service_task(svc) for _ in range(count)]
        self._event(
            svc,
            f"(service {svc.name}) has started {len(started)} tasks: "
            + " ".join(f"(task {t.task_id})" for t in started)
            + ".",
        )
        svc.steady = False

    def _settle(self, svc: Service) -> None:
        """A PRIMARY whose tasks all run (and, after an update, pass their health checks) with no
        other task left (draining ones included) is COMPLETED, the ACTIVE deployments go, and the
        service is steady."""
        mine = [t for t in self.tasks.values() if t.service == svc.name and t.cluster is svc.cluster]
        others = [t for t in mine if t.started_by != svc.deployment_id and t.last_status != "STOPPED"]
        current = [t for t in self._service_tasks(svc) if t.started_by == svc.deployment_id]
        running = [t for t in current if t.last_status == "RUNNING"]
        ready = running if svc.last_completed is None else [t for t in running if self._healthy(t)]
        steady = not others and len(ready) == svc.desired_count == len(current)
        primary = svc.primary
        if steady:
            svc.deployments = [primary]
        if steady and primary.rollout_state == rollout.IN_PROGRESS:
            primary.rollout_state, primary.rollout_reason = rollout.COMPLETED, rollout.completed_reason(primary.id)
            primary.updated_at = self.lab.clock.now()
            svc.last_completed = primary
            self._event(svc, f"(service {svc.name}) (deployment {primary.id}) deployment completed.")
        if steady and not svc.steady:
            self._event(svc, f"(service {svc.name}) has reached a steady state.")
        svc.steady = steady

    def _healthy(self, task: Task) -> bool:
        """Running, passing its container health checks (if it has any) and healthy in every
        target group it is registered with (a group no listener uses does not check)."""
        if task.last_status != "RUNNING" or task.desired_status != "RUNNING":
            return False
        checked = any(c.get("healthCheck") for c in task.task_definition["containerDefinitions"])
        if task.health_status != ("HEALTHY" if checked else "UNKNOWN"):
            return False
        for tg_arn, port in task.registrations:
            tg = self.lab.elbv2.target_groups.get(tg_arn)
            reg = None if tg is None else tg.targets.get((task.private_ip, port))
            if reg is None or reg.health.state not in ("healthy", "unused"):
                return False
        return True

    def _count_failure(self, task: Task) -> None:
        """A service task failed: it counts against its deployment; the circuit breaker may trip."""
        svc = self.services.get((task.cluster.name, task.service or ""))
        deployment = self._deployment_of(svc, task) if svc else None
        if svc is None or deployment is None:
            return
        deployment.failed_tasks += 1
        if deployment is svc.primary and rollout.trips(deployment, svc.deployment_configuration):
            self._fail_deployment(svc)

    @staticmethod
    def _deployment_of(svc: Service, task: Task) -> Deployment | None:
        return next((d for d in svc.deployments if d.id == task.started_by), None)

    def _fail_deployment(self, svc: Service) -> None:
        """The circuit breaker: the deployment is FAILED; with rollback, the last COMPLETED
        deployment's task definition becomes a new PRIMARY deployment (not when the failing one
        already runs it: a failed rollback does not roll back again)."""
        failed = svc.primary
        failed.rollout_state, failed.rollout_reason = rollout.FAILED, rollout.CIRCUIT_BREAKER_FAILED
        failed.updated_at = self.lab.clock.now()
        self._event(svc, f"(service {svc.name}) deployment {failed.id} deployment failed: tasks failed to start.")
        _, rollback = rollout.breaker(svc.deployment_configuration)
        target = svc.last_completed
        if rollback and target is not None and target.task_definition is not failed.task_definition:
            self._event(svc, f"(service {svc.name}) rolling back to deployment {target.id}.")
            self._new_deployment(svc, target.task_definition, rollout.rollback_reason(target.id))
        self._kick.set()

    def _start_failed(self, svc: Service | None) -> None:
        """A service task never reached RUNNING: back off before the next launch (doubling up to
        AWS's 15 minutes, so a broken task definition does not spin) and say so once, as ECS does."""
        if svc is None:
            return
        svc.start_failures += 1
        delay = START_BACKOFF_FIRST * 2 ** min(svc.start_failures - 1, 10)
        svc.launch_after = self.lab.clock.now() + min(START_BACKOFF_MAX, delay)
        if not svc.start_impaired:
            svc.start_impaired = True
            self._event(svc, START_IMPAIRED.format(name=svc.name))

    @staticmethod
    def _reset_start_backoff(svc: Service) -> None:
        svc.start_failures, svc.launch_after, svc.start_impaired = 0, 0.0, False

    def _start_service_task(self, svc: Service) -> Task:
        counts = {s.az: 0 for s in svc.subnets}
        for t in self._service_tasks(svc):
            counts[t.az] = counts.get(t.az, 0) + 1
        subnet = min(svc.subnets, key=lambda s: (counts.get(s.az, 0), svc.subnets.index(s)))
        provider = None
        if svc.capacity_provider_strategy:
            placed = Counter(t.capacity_provider for t in self._service_tasks(svc) if t.capacity_provider)
            provider = capacity.next_provider(svc.capacity_provider_strategy, placed)
        launch_type = svc.launch_type or "FARGATE"
        task = self._new_task(
            svc.cluster,
            svc.task_definition,
            f"service:{svc.name}",
            svc.deployment_id,
            subnet,
            svc.name,
            launch_type,
            provider,
            svc.tags,
        )
        task.security_groups = self._groups(svc.network_configuration, subnet)
        self._spawn(self._launch(task, svc, {}))
        return task

    def _target_health_changed(
        self, tg_arn: str, target_id: str, port: int, old: str, new: str, reason: str | None
    ) -> None:
        for t in self.tasks.values():
            if t.private_ip == target_id and (tg_arn, port) in t.registrations and t.desired_status == "RUNNING":
                if new == "unhealthy":
                    t.elb_unhealthy_since = t.elb_unhealthy_since or self.lab.clock.now()
                    self._kick.set()
                elif new == "healthy":
                    t.elb_unhealthy_since = None

    def _publish_metrics(self) -> None:
        cw = getattr(self.lab, "cloudwatch", None)
        if cw is None:
            return
        now = self.lab.clock.now()
        for svc in self.services.values():
            tasks = [t for t in self._service_tasks(svc) if t.last_status == "RUNNING" and t.unit]
            if not tasks:
                continue
            cpu = utilization.utilization(
                [utilization.used_cpu_units(t.unit.cpu_percent()) for t in tasks if t.unit],
                [utilization.reserved_cpu_units(t.task_definition) for t in tasks],
            )
            memory = utilization.utilization(
                [t.unit.memory_bytes() / MiB for t in tasks if t.unit],
                [utilization.reserved_memory_mib(t.task_definition) for t in tasks],
            )
            for dims in ({"ClusterName": svc.cluster.name, "ServiceName": svc.name}, {"ClusterName": svc.cluster.name}):
                with contextlib.suppress(Exception):
                    cw.put_metric("AWS/ECS", "CPUUtilization", dims, [cpu], "Percent", now)
                    cw.put_metric("AWS/ECS", "MemoryUtilization", dims, [memory], "Percent", now)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _utc(timestamp: float) -> datetime:
    """An epoch time as the aware datetime botocore serialises for ECS's timestamp members."""
    return datetime.fromtimestamp(timestamp, UTC)
