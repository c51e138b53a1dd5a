"""EC2 semantics: instances are real process units with the state machine EC2 has
(pending → running → stopping → stopped, shutting-down → terminated), in VPC subnets whose
addresses are real. Stopping an instance stops its app first (connections are refused: the ALB
answers 502) and then unplugs it (connections time out, as to a powered-off machine)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from chaoslab.apps.registry import is_bundled, known_images
from chaoslab.errors import AwsError
from chaoslab.ids import hex_id
from chaoslab.ids import instance_id as new_instance_id
from chaoslab.runtime.kinds.base import ProcessSpec, UnitRuntime
from chaoslab.runtime.network import Mode, VpcNetwork
from chaoslab.runtime.unit import ComputeUnit, ContainerSpec, ExitInfo
from chaoslab.services.compute import new_unit
from chaoslab.services.ec2 import boot, imds, instance_types
from chaoslab.services.ec2.enforcer import GroupEnforcer, Member
from chaoslab.services.ec2.firewall import Endpoint
from chaoslab.services.ec2.launch_templates import LaunchTemplates
from chaoslab.services.ec2.models import STATE_CODES, Instance, Subnet, Vpc
from chaoslab.services.ec2.network_acls import NetworkAcls
from chaoslab.services.ec2.security_groups import SecurityGroups
from chaoslab.services.ec2.userdata import is_script
from chaoslab.services.ec2.volumes import EbsVolume, env_name, instance_volumes, mount, release
from chaoslab.types import LabLike

log = logging.getLogger(__name__)

StateListener = Callable[[Instance, str, str], None]

# How long an instance's OS takes to shut down after its app has stopped: the address still
# answers (with resets) before the machine goes dark. Seed 003 saw ~4 s of 502s, then timeouts.
SHUTDOWN_SECONDS = 4.0
TERMINATED_VISIBLE_SECONDS = 3600.0
BOOT_TIMEOUT_SECONDS = 60.0


class Ec2Backend:
    """`lab.ec2`: VPCs, subnets and instances. `runtime` runs the instances' apps; `volume_io`
    gives their data volumes I/O servers (services/ec2/volumes.py) where the host allows."""

    def __init__(
        self, lab: LabLike, runtime: UnitRuntime, network_mode: Mode = "auto", volume_io: bool = False
    ) -> None:
        self.lab = lab
        self.runtime = runtime
        self.volume_io = volume_io
        self.network_mode = network_mode
        self.vpcs: dict[str, Vpc] = {}
        self.instances: dict[str, Instance] = {}
        self.extra_hosts: dict[str, str] = {}
        self.launch_templates = LaunchTemplates()
        self.security_groups = SecurityGroups(in_use=self._group_in_use)
        self.network_acls = NetworkAcls()
        self.firewall = GroupEnforcer(self.security_groups, self.network_acls, lambda sid: self.subnet(sid).cidr)
        self.shutdown_seconds = SHUTDOWN_SECONDS
        self._listeners: list[StateListener] = []
        self._metrics_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._metrics_task = asyncio.create_task(self._publish_metrics())

    async def stop(self) -> None:
        if self._metrics_task:
            self._metrics_task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*(i.unit.destroy() for i in self.instances.values() if i.unit), return_exceptions=True)
        for inst in self.instances.values():
            await release(inst.volumes)
        for vpc in self.vpcs.values():
            await vpc.network.destroy()

    def add_state_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    # networks ------------------------------------------------------------------------------
    async def create_vpc(
        self, cidr: str, subnets: dict[str, str], tags: dict[str, str] | None = None, vpc_id: str | None = None
    ) -> Vpc:
        """A VPC with one subnet per AZ (`{"us-east-1a": "10.0.10.0/24"}`); its network is real."""
        net = ipaddress.IPv4Network(cidr)
        for az, sn in subnets.items():
            if not ipaddress.IPv4Network(sn).subnet_of(net):
                raise AwsError("InvalidSubnet.Range", f"subnet {sn} ({az}) is not inside the VPC range {cidr}")
        vpc_id = vpc_id or "vpc-" + hex_id(17)
        network = VpcNetwork(self.lab.store, self.lab.run_id, vpc_id, cidr, subnets, mode=self.network_mode)
        await network.create()
        subnet_objs = {}
        for az, sn in subnets.items():
            s = Subnet("subnet-" + hex_id(17), vpc_id, az, sn, {"Name": f"{az}"})
            subnet_objs[s.subnet_id] = s
        vpc = Vpc(vpc_id, cidr, network, subnet_objs, dict(tags or {}))
        self.vpcs[vpc_id] = vpc
        default = self.security_groups.create_default(vpc_id)
        # The host stands in the default group: what it runs for the VPC (the ALB, health checks)
        # and whoever uses the machine reach default-group units as before groups were enforced.
        self.firewall.join(f"host:{vpc_id}", Member(tuple(network.host_addresses), (default.group_id,)))
        self.network_acls.create_default(vpc_id, list(subnet_objs))
        return vpc

    def _group_in_use(self, group_id: str) -> bool:
        """A group an instance that is not terminated still has, or any interface is in."""
        held = any(group_id in i.security_groups for i in self.instances.values() if i.state != "terminated")
        return held or self.firewall.in_use(group_id)

    async def enforce(self, owner: str, unit: ComputeUnit, groups: tuple[str, ...], subnet: Subnet) -> None:
        """Put a provisioned unit (instance or task) in its groups and under its subnet's ACL,
        before any program of it runs."""
        sandbox = unit.sandbox
        assert sandbox is not None, "provision() first"
        member = Member((sandbox.ip,), groups, sandbox.netns, subnet.subnet_id)
        await self.firewall.attach(owner, member, unit.network.service_ip)

    async def set_groups(self, owner: str, groups: tuple[str, ...]) -> None:
        """Replace a running interface's groups (ModifyInstanceAttribute / ...NetworkInterfaceAttribute)."""
        member = self.firewall.members.get(owner)
        if member is not None:
            await self.firewall.attach(owner, Member(member.ips, groups, member.netns, member.subnet_id))

    def join_from_host(self, owner: str, subnet_ids: list[str], refs: list[str]) -> tuple[str, ...] | None:
        """A load balancer in its groups (ids or names; none: the default) in the VPC of
        `subnet_ids`; it proxies from the host's addresses there, so those are its members.
        None when the subnets are not the lab's (nothing to enforce)."""
        vpc = next((v for v in self.vpcs.values() if any(s in v.subnets for s in subnet_ids)), None)
        if vpc is None:
            return None
        groups = self.security_groups.resolve(refs, vpc.vpc_id)
        self.firewall.join(owner, Member(tuple(vpc.network.host_addresses), groups))
        return groups

    async def guard_listeners(
        self, owner: str, binds: list[tuple[str, int]], rule_port: int, refs: list[str]
    ) -> tuple[str, ...]:
        """Guard the lab's listeners among `binds` that are on a VPC's service address (a
        database's endpoints) by groups (ids or names; none: that VPC's default), whose rules
        judge them as listening on `rule_port`."""
        on_vpc = [(v, port) for host, port in binds for v in self.vpcs.values() if v.network.service_ip == host]
        if not on_vpc:
            return tuple(refs)
        groups = self.security_groups.resolve(refs, on_vpc[0][0].vpc_id)
        await self.firewall.guard(
            owner, [Endpoint(v.network.service_ip, port, rule_port, groups) for v, port in on_vpc]
        )
        return groups

    def resolve_groups(self, refs: list[str] | None, subnet: Subnet) -> tuple[str, ...]:
        """Group ids (or names) given at launch, checked against the subnet's VPC; none: its default."""
        return self.security_groups.resolve(refs or [], subnet.vpc_id)

    def default_vpc(self) -> Vpc:
        if not self.vpcs:
            raise AwsError("VPCIdNotSpecified", "No VPC exists in the lab; the stack defines one")
        return next(iter(self.vpcs.values()))

    def subnet(self, subnet_id_or_az: str) -> Subnet:
        for vpc in self.vpcs.values():
            for s in vpc.subnets.values():
                if subnet_id_or_az in (s.subnet_id, s.az, s.tags.get("Name")):
                    return s
        raise AwsError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id_or_az}' does not exist")

    def network_of(self, subnet: Subnet) -> VpcNetwork:
        return self.vpcs[subnet.vpc_id].network

    # instances -----------------------------------------------------------------------------
    async def run_instance(
        self,
        image: str,
        subnet: Subnet,
        *,
        env: dict[str, str] | None = None,
        port: int = 80,
        tags: dict[str, str] | None = None,
        instance_type: str = "t3.micro",
        spot: bool = False,
        user_data: str | None = None,
        launch_template: dict[str, str] | None = None,
        wait_serving: bool | None = None,
        metadata_options: dict[str, Any] | None = None,
        security_groups: list[str] | None = None,
    ) -> Instance:
        """Launch one instance and boot it (pending → running)."""
        inst = self.launch_instance(
            image,
            subnet,
            env=env,
            port=port,
            tags=tags,
            instance_type=instance_type,
            spot=spot,
            user_data=user_data,
            launch_template=launch_template,
            wait_serving=wait_serving,
            metadata_options=metadata_options,
            security_groups=security_groups,
        )
        await self._boot(inst)
        return inst

    def launch_instance(
        self,
        image: str,
        subnet: Subnet,
        *,
        env: dict[str, str] | None = None,
        port: int = 80,
        tags: dict[str, str] | None = None,
        instance_type: str = "t3.micro",
        spot: bool = False,
        user_data: str | None = None,
        launch_template: dict[str, str] | None = None,
        wait_serving: bool | None = None,
        metadata_options: dict[str, Any] | None = None,
        security_groups: list[str] | None = None,
    ) -> Instance:
        """A new pending instance; `boot_soon` or `run_instance` boots it. A bundled app's image
        runs that app; any `ami-*` id boots the host's userland and runs the user data script.
        `wait_serving` (default: for a bundled app) keeps it pending until `port` is served.
        `security_groups` (ids or names; none: the VPC's default) are enforced from its first boot."""
        check_image(image)
        groups = self.resolve_groups(security_groups, subnet)
        inst = Instance(
            new_instance_id(),
            image,
            instance_type,
            subnet,
            dict(env or {}),
            port,
            dict(tags or {}),
            spot=spot,
            user_data=user_data,
            launch_template=launch_template,
            wait_serving=is_bundled(image) if wait_serving is None else wait_serving,
            security_groups=groups,
        )
        inst.metadata_options.update({k: v for k, v in (metadata_options or {}).items() if v is not None})
        self.instances[inst.instance_id] = inst
        self._set_state(inst, "pending")
        return inst

    def boot_soon(self, inst: Instance) -> None:
        """Boot in the background, as RunInstances does: it answers while instances are pending."""
        self._spawn(self._boot(inst))

    async def _boot(self, inst: Instance) -> None:
        # pending → running as on EC2: the host and the AMI's boot; then, at the first boot of an
        # instance with user data, cloud-init's stages before the script starts (docs/timing.md;
        # nothing while the stack is brought up).
        booted_by = time.monotonic() + self.lab.clock.wall(self.lab.config.timing.draw("ec2_boot_s"))
        if inst.unit is None:
            inst.unit = new_unit(
                self.lab,
                self.runtime,
                self.network_of(inst.subnet),
                inst.az,
                inst.instance_id,
                on_exit=functools.partial(self._app_exited, inst),
                limits=instance_types.limits(inst.instance_type),
            )
            lab = self.lab
            mountpoint = inst.unit.workdir / "data"
            inst.volumes = instance_volumes(
                lab.store, lab.run_id, lab.config.home, inst.instance_id, inst.az, mountpoint, serve=self.volume_io
            )
            # The volumes mount while the network is made (each takes a few hundred ms), both
            # before any program starts: a program's mount namespace is copied when it starts.
            inst.private_ip, _ = await asyncio.gather(inst.unit.provision(hosts=self.extra_hosts), mount(inst.volumes))
            await self._serve_metadata(inst)
            await self.enforce(inst.instance_id, inst.unit, inst.security_groups, inst.subnet)
        else:
            await inst.unit.set_power(True)
        await asyncio.sleep(max(0.0, booted_by - time.monotonic()))
        programs = self._programs(inst)
        if not inst.wait_serving:
            self._set_state(inst, "running")  # as on EC2: running before cloud-init runs the user data
        if inst.user_data is not None and not inst.booted:
            await self.lab.clock.sleep(self.lab.config.timing.draw("ec2_user_data_s"))
            if inst.state not in ("pending", "running"):
                return  # stopped or terminated while cloud-init ran: nothing starts
        await inst.unit.start(programs)
        inst.booted = True
        if inst.wait_serving:
            await self._wait_booted(inst)
            self._set_state(inst, "running")

    async def _serve_metadata(self, inst: Instance) -> None:
        """The instance metadata service inside the instance (netns and userns modes only),
        unless its MetadataOptions turn the endpoint off."""
        if inst.metadata_options.get("HttpEndpoint") == "disabled":
            return
        unit = inst.unit
        assert unit is not None and unit.sandbox is not None and inst.private_ip is not None
        paths = imds.instance_metadata(
            instance_id=inst.instance_id,
            instance_type=inst.instance_type,
            image_id=inst.image,
            az=inst.az,
            region=self.lab.config.region,
            ip=inst.private_ip,
            mac=unit.sandbox.mac or "",
        )
        await unit.serve(
            imds.ADDRESS,
            imds.PORT,
            imds.handler(
                lambda: paths, lambda: inst.user_data, lambda: inst.metadata_options.get("HttpTokens") == "required"
            ),
        )

    async def _wait_booted(self, inst: Instance) -> None:
        """`pending` lasts until the app accepts connections (the lab's "boot"), so a new member
        is registered with its target groups when it can pass its first health check."""
        assert inst.unit is not None
        await inst.unit.wait_serving(inst.port, BOOT_TIMEOUT_SECONDS)

    def _programs(self, inst: Instance) -> list[ContainerSpec]:
        """A bundled image's app; the user data script at first boot only (as cloud-init runs
        it once per instance), so a started instance runs only its bundled app again."""
        programs = [self._app_spec(inst)] if is_bundled(inst.image) else []
        if inst.user_data is not None and not inst.booted:
            programs.append(self._user_data_spec(inst))
        return programs

    def _base_env(self, inst: Instance) -> dict[str, str]:
        assert inst.private_ip is not None
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "INSTANCE_ID": inst.instance_id,
            "AZ": inst.az,
            "PRIVATE_IP": inst.private_ip,
            **{env_name(v.device): str(v.io.mountpoint) for v in inst.volumes if v.io is not None},
        }

    def _app_spec(self, inst: Instance) -> ContainerSpec:
        """The instance's app; the runtime adds where it binds (HOST, PORT) unless `inst.env` says."""
        return ContainerSpec(
            "app",
            ProcessSpec(image=inst.image, env={**self._base_env(inst), **inst.env}, port=inst.port),
            stop_timeout=10.0,
            log_group=self._log_group(inst),
            log_stream=inst.instance_id,
        )

    def _user_data_spec(self, inst: Instance) -> ContainerSpec:
        """The user data: a `#!` script run by the instance's init, its output on the console;
        anything else is said on the console and not run."""
        assert inst.unit is not None and inst.user_data is not None
        workdir = inst.unit.workdir
        if is_script(inst.user_data):
            command = boot.init_command(boot.install(workdir, inst.user_data))
        else:
            note = "[chaoslab] user data is not a #! script (cloud-config and MIME parts are not run)"
            command = ["/bin/sh", "-c", 'echo "$1"; exec sleep infinity', "init", note]
        env = {**self._base_env(inst), **boot.environment(workdir), **inst.env}
        return ContainerSpec(
            boot.SCRIPT_NAME,
            ProcessSpec(command=command, env=env, port=inst.port),
            stop_timeout=10.0,
            log_group=self._log_group(inst),
            log_stream=f"{inst.instance_id}/console",
            on_output=lambda _stream, line: inst.console.append(line.rstrip("\n")),
        )

    @staticmethod
    def _log_group(inst: Instance) -> str:
        return f"/ec2/{inst.tags.get('aws:autoscaling:groupName', 'instances')}"

    def _app_exited(self, inst: Instance, info: ExitInfo) -> None:
        """The app died on its own (OOM, kill-process fault): the instance keeps running, as EC2
        would; the ALB health check is what notices."""
        log.info("app on %s exited with %s", inst.instance_id, info.code)
        self.lab.events.emit(
            "unit.process_exit",
            unit_id=inst.instance_id,
            unit_kind="instance",
            process=info.name,
            code=info.code,
            output=info.output,
        )

    def get(self, instance_id: str) -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise AwsError("InvalidInstanceID.NotFound", f"The instance ID '{instance_id}' does not exist")
        return inst

    def _all(self, ids: list[str]) -> list[Instance]:
        """Every named instance, or InvalidInstanceID.NotFound before any is touched: EC2 acts
        on a multi-instance request as a whole, never on the IDs before a bad one."""
        return [self.get(iid) for iid in ids]

    def private_ip(self, instance_id: str) -> str | None:
        inst = self.instances.get(instance_id)
        return inst.private_ip if inst and inst.state not in ("terminated",) else None

    def instance_arn(self, instance_id: str) -> str:
        return self.get(instance_id).arn(self.lab.config.region, self.lab.config.account_id)

    async def stop_instances(self, ids: list[str], force: bool = False) -> list[dict[str, Any]]:
        """Returns StoppingInstances; the stop itself proceeds in the background, as on EC2."""
        changes = []
        for inst in self._all(ids):
            prev = inst.state
            if prev in ("running", "pending"):
                self._set_state(inst, "stopping", "Client.UserInitiatedShutdown")
                self._spawn(self._stop(inst, force))
            changes.append(_change(inst, prev))
        return changes

    async def _stop(self, inst: Instance, force: bool) -> None:
        assert inst.unit is not None
        if force:
            await inst.unit.kill()
        else:
            await inst.unit.stop()
            await self.lab.clock.sleep(self.shutdown_seconds)
        await inst.unit.set_power(False)
        self._set_state(inst, "stopped", "Client.UserInitiatedShutdown")

    async def start_instances(self, ids: list[str]) -> list[dict[str, Any]]:
        instances = self._all(ids)
        for inst in instances:
            if inst.state == "stopping":
                raise AwsError(
                    "IncorrectInstanceState",
                    f"The instance '{inst.instance_id}' is not in a state from which it can be started.",
                )
        changes = []
        for inst in instances:
            prev = inst.state
            if prev == "stopped":
                self._set_state(inst, "pending")
                inst.launch_time = self.lab.clock.now()
                self._spawn(self._boot(inst))
            changes.append(_change(inst, prev))
        return changes

    async def reboot_instances(self, ids: list[str]) -> None:
        for inst in self._all(ids):
            if inst.state == "running":
                self._spawn(self._reboot(inst))

    async def _reboot(self, inst: Instance) -> None:
        assert inst.unit is not None
        self.lab.events.emit("unit.state", unit_id=inst.instance_id, unit_kind="instance", state="rebooting")
        await inst.unit.stop()
        await inst.unit.set_power(False)
        await self.lab.clock.sleep(self.shutdown_seconds)
        await inst.unit.set_power(True)
        await self.lab.clock.sleep(self.lab.config.timing.draw("ec2_boot_s"))
        await inst.unit.start(self._programs(inst))
        self.lab.events.emit("unit.state", unit_id=inst.instance_id, unit_kind="instance", state="running")

    async def terminate_instances(
        self, ids: list[str], reason: str = "Client.UserInitiatedShutdown"
    ) -> list[dict[str, Any]]:
        """`reason` is the StateReason code: a Spot interruption passes Server.SpotInstanceTermination."""
        changes = []
        for inst in self._all(ids):
            prev = inst.state
            if prev not in ("shutting-down", "terminated"):
                self._set_state(inst, "shutting-down", reason)
                self._spawn(self._terminate(inst, reason))
            changes.append(_change(inst, prev))
        return changes

    async def _terminate(self, inst: Instance, reason: str) -> None:
        await self.firewall.detach(inst.instance_id)  # first, as ECS's teardown does (no rewrite in a dying namespace)
        if inst.unit:
            await inst.unit.destroy()
        await release(inst.volumes)
        self._set_state(inst, "terminated", reason)
        asyncio.get_running_loop().call_later(
            TERMINATED_VISIBLE_SECONDS, lambda: self.instances.pop(inst.instance_id, None)
        )

    def _set_state(self, inst: Instance, state: str, reason: str | None = None) -> None:
        old, inst.state = inst.state, state
        if reason is not None or state in ("running", "pending"):
            inst.state_reason = reason
        self.lab.events.emit(
            "unit.state",
            unit_id=inst.instance_id,
            unit_kind="instance",
            state=state,
            old=old,
            az=inst.az,
            ip=inst.private_ip,
            reason=reason,
        )
        for listener in list(self._listeners):
            listener(inst, old, state)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    # describe (for the API and for FIS target resolution) ----------------------------------
    def describe_instance_records(self) -> list[dict[str, Any]]:
        names = {g.group_id: g.name for g in self.security_groups.groups.values()}
        return [i.to_record(self.lab.config.account_id, names) for i in self.instances.values()]

    def volumes(self) -> list[EbsVolume]:
        """Every volume that exists (a terminated instance's are deleted with it)."""
        return [v for i in self.instances.values() for v in i.volumes if v.state != "deleted"]

    def volume(self, volume_id: str) -> EbsVolume:
        found = next((v for v in self.volumes() if v.volume_id == volume_id), None)
        if found is None:
            raise AwsError("InvalidVolume.NotFound", f"The volume '{volume_id}' does not exist.")
        return found

    def describe_volume_records(self) -> list[dict[str, Any]]:
        return [v.to_record() for v in self.volumes()]

    def describe_subnet_records(self) -> list[dict[str, Any]]:
        region, account = self.lab.config.region, self.lab.config.account_id
        return [s.to_record(region, account) for v in self.vpcs.values() for s in v.subnets.values()]

    def availability_zones(self) -> list[str]:
        return sorted({s.az for v in self.vpcs.values() for s in v.subnets.values()}) or [
            f"{self.lab.config.region}a",
            f"{self.lab.config.region}b",
        ]

    def tag(self, resource_ids: list[str], tags: dict[str, str]) -> None:
        for target in self._taggable(resource_ids):
            target.tags.update(tags)

    def untag(self, resource_ids: list[str], tags: list[dict[str, str]] | None) -> None:
        """DeleteTags: no tag list deletes every user tag (not `aws:` ones); a key without a Value
        deletes it whatever its value; a key with a Value deletes it only if the value matches."""
        for target in self._taggable(resource_ids):
            if tags is None:
                for key in [k for k in target.tags if not k.startswith("aws:")]:
                    del target.tags[key]
                continue
            for tag in tags:
                if "Value" not in tag or target.tags.get(tag["Key"]) == tag["Value"]:
                    target.tags.pop(tag["Key"], None)

    def _taggable(self, resource_ids: list[str]) -> list[Instance | Subnet | EbsVolume]:
        """Every named instance, subnet or volume, or InvalidID before any tag changes."""
        others: dict[str, Subnet | EbsVolume] = {s.subnet_id: s for v in self.vpcs.values() for s in v.subnets.values()}
        others.update({v.volume_id: v for v in self.volumes()})
        targets: list[Instance | Subnet | EbsVolume] = []
        for rid in resource_ids:
            target = self.instances.get(rid) or others.get(rid)
            if target is None:
                raise AwsError("InvalidID", f"The ID '{rid}' is not valid")
            targets.append(target)
        return targets

    # metrics -------------------------------------------------------------------------------
    async def _publish_metrics(self) -> None:
        while True:
            await asyncio.sleep(self.lab.clock.cadence(1.0))
            cw = getattr(self.lab, "cloudwatch", None)
            if cw is None:
                continue
            now = self.lab.clock.now()
            for inst in list(self.instances.values()):
                if inst.state == "running" and inst.unit:
                    group = inst.tags.get("aws:autoscaling:groupName")
                    with contextlib.suppress(Exception):
                        cpu = [instance_types.cpu_utilization(inst.unit.cpu_percent(), inst.instance_type)]
                        cw.put_metric(
                            "AWS/EC2", "CPUUtilization", {"InstanceId": inst.instance_id}, cpu, "Percent", now
                        )
                        if group:  # a group's members also make its own series, as EC2 aggregates them
                            cw.put_metric(
                                "AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": group}, cpu, "Percent", now
                            )


def check_image(image: str) -> None:
    """How images map in the lab: a bundled app's name (any registry prefix and tag) runs it;
    any `ami-*` id is the host's userland (what runs is the user data); nothing else exists."""
    if is_bundled(image) or re.fullmatch(r"ami-[0-9a-zA-Z]{1,64}", image):
        return
    raise AwsError(
        "InvalidAMIID.NotFound",
        f"The image '{image}' does not exist in the lab: use any ami-* id (the host's userland, running "
        f"your user data) or a bundled app: {', '.join(known_images())}",
    )


def _change(inst: Instance, prev: str) -> dict[str, Any]:
    return {
        "InstanceId": inst.instance_id,
        "PreviousState": {"Code": STATE_CODES[prev], "Name": prev},
        "CurrentState": {"Code": STATE_CODES[inst.state], "Name": inst.state},
    }


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception():
        log.error("EC2 background step failed", exc_info=task.exception())
