"""ELBv2 semantics: load balancers, target groups, listeners, targets and their health.

Methods are named after the API operations and take/return boto3 shapes, so the API handlers
and the stack loader drive the same code. Listeners are real sockets served by the data plane's
worker processes (net/albplane.py); health checks are real probes (net/healthcheck.py). Documented deviations from AWS live in docs/alb.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import arn, hex_id
from chaoslab.net import healthcheck as hc
from chaoslab.net.albplane import DataPlane, RemoteListener, RemotePool, RemoteUpstream
from chaoslab.net.albstats import MetricSink, RequestStats
from chaoslab.runtime.ports import unit_port
from chaoslab.services.elbv2.health import HealthListener, TargetSupervisor, route
from chaoslab.services.elbv2.models import (
    HEALTH_CHECK_DEFAULTS,
    LB_ATTRIBUTE_DEFAULTS,
    TG_ATTRIBUTE_DEFAULTS,
    Listener,
    LoadBalancer,
    Registration,
    TargetGroup,
    arn_suffix,
)
from chaoslab.services.elbv2.validation import (
    ALGORITHMS,
    NAME,
    attr_list,
    error,
    health_settings,
    int_in,
    matcher_code,
    tag_dict,
    validated_attrs,
)
from chaoslab.services.elbv2.zonal import away_zones, target_zone


class _NullSink:
    def put_metric(self, *args: Any, **kwargs: Any) -> None:
        return None


class ElbV2Backend:
    """`lab.elbv2`: every ALB in the lab."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab
        self.region: str = lab.config.region
        self.account: str = lab.config.account_id
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.target_groups: dict[str, TargetGroup] = {}
        self.listeners: dict[str, Listener] = {}
        self.targets = TargetSupervisor(lab.events, self._resolve, lab.clock)
        self.plane = DataPlane(getattr(lab.config, "alb_workers", None))
        self._metrics_task: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.plane.start()
        self._metrics_task = asyncio.get_running_loop().create_task(self._publish_metrics())

    async def stop(self) -> None:
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            await asyncio.gather(self._metrics_task, return_exceptions=True)
            self._metrics_task = None
        for listener in list(self.listeners.values()):
            await listener.proxy.stop()
        await self.targets.close(list(self.target_groups.values()))
        await self.plane.stop()

    def add_health_listener(self, callback: HealthListener) -> Callable[[], None]:
        """callback(tg_arn, target_id, port, old, new, reason) on every target health change."""
        return self.targets.add_listener(callback)

    # load balancers --------------------------------------------------------------------------
    def create_load_balancer(
        self,
        Name: str,
        Subnets: list[str] | None = None,
        SubnetMappings: list[dict[str, Any]] | None = None,
        SecurityGroups: list[str] | None = None,
        Scheme: str = "internet-facing",
        Tags: list[dict[str, str]] | None = None,
        Type: str = "application",
        IpAddressType: str = "ipv4",
        **_: Any,
    ) -> dict[str, Any]:
        if Type != "application":
            raise error("ValidationError", f"Load balancer type '{Type}' is not supported by this lab")
        if not NAME.match(Name) or Name.startswith("internal-"):
            raise error("ValidationError", f"Load balancer name '{Name}' is not valid")
        subnets = list(Subnets or []) + [m["SubnetId"] for m in SubnetMappings or []]
        for lb in self.load_balancers.values():
            if lb.name == Name:
                if lb.scheme == Scheme and lb.subnets == subnets:
                    return {"LoadBalancers": [lb.describe()]}  # AWS: same settings -> idempotent
                raise error("DuplicateLoadBalancerName", "A load balancer with the same name already exists")
        lb_id = hex_id(16)
        lb_arn = arn("elasticloadbalancing", self.region, self.account, f"loadbalancer/app/{Name}/{lb_id}")
        prefix = "internal-" if Scheme == "internal" else ""
        zones = [
            {"ZoneName": self._subnet_zone(s, i), "SubnetId": s, "LoadBalancerAddresses": []}
            for i, s in enumerate(subnets)
        ]
        stats = RequestStats(arn_suffix(lb_arn))
        lb = LoadBalancer(
            arn=lb_arn,
            name=Name,
            dns_name=f"{prefix}{Name}-{int(lb_id[:8], 16) % 10**10}.{self.region}.elb.amazonaws.com",
            scheme=Scheme,
            vpc_id=self._subnet_vpc(subnets),
            subnets=subnets,
            zones=zones,
            security_groups=list(SecurityGroups or []),
            ip_address_type=IpAddressType,
            stats=stats,
            key=self.plane.add_load_balancer(stats, float(LB_ATTRIBUTE_DEFAULTS["idle_timeout.timeout_seconds"])),
            tags=tag_dict(Tags),
        )
        lb.security_groups = self._join_groups(lb_arn, subnets, list(SecurityGroups or []))
        self.load_balancers[lb_arn] = lb
        return {"LoadBalancers": [lb.describe()]}

    def set_security_groups(self, LoadBalancerArn: str, SecurityGroups: list[str], **_: Any) -> dict[str, Any]:
        lb = self._lb(LoadBalancerArn)
        lb.security_groups = self._join_groups(lb.arn, lb.subnets, SecurityGroups)
        return {"SecurityGroupIds": lb.security_groups}

    def _join_groups(self, lb_arn: str, subnets: list[str], refs: list[str]) -> list[str]:
        """The load balancer's groups, enforced where the lab's VPC has its subnets (EC2 keeps
        the memberships); none given: the VPC's default group, as AWS gives it."""
        join = getattr(getattr(self.lab, "ec2", None), "join_from_host", None)
        if join is None:  # a lab without EC2's groups (an ALB on its own): nothing to enforce
            return refs
        try:
            groups = join(lb_arn, subnets, refs)
        except AwsError as exc:
            raise error("InvalidSecurityGroup", exc.message) from None
        return refs if groups is None else list(groups)

    def describe_load_balancers(
        self, LoadBalancerArns: list[str] | None = None, Names: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        lbs = list(self.load_balancers.values())
        if LoadBalancerArns:
            lbs = [self._lb(a) for a in LoadBalancerArns]
        if Names:
            by_name = {lb.name: lb for lb in lbs}
            missing = [n for n in Names if n not in by_name]
            if missing:
                raise error("LoadBalancerNotFound", f"Load balancers '{missing}' not found")
            lbs = [by_name[n] for n in Names]
        return {"LoadBalancers": [lb.describe() for lb in lbs]}

    async def delete_load_balancer(self, LoadBalancerArn: str, **_: Any) -> dict[str, Any]:
        lb = self.load_balancers.get(LoadBalancerArn)
        if lb is None:
            return {}  # AWS: deleting a load balancer that is already gone succeeds
        if lb.attributes["deletion_protection.enabled"] == "true":
            raise error("OperationNotPermitted", "Load balancer has deletion protection enabled")
        for listener_arn in list(lb.listeners):
            await self.delete_listener(listener_arn)
        del self.load_balancers[LoadBalancerArn]
        firewall = getattr(getattr(self.lab, "ec2", None), "firewall", None)
        if firewall is not None:
            firewall.leave(LoadBalancerArn)
        return {}

    def describe_load_balancer_attributes(self, LoadBalancerArn: str, **_: Any) -> dict[str, Any]:
        return {"Attributes": attr_list(self._lb(LoadBalancerArn).attributes)}

    def modify_load_balancer_attributes(
        self, LoadBalancerArn: str, Attributes: list[dict[str, str]], **_: Any
    ) -> dict[str, Any]:
        lb = self._lb(LoadBalancerArn)
        changes = validated_attrs(Attributes, LB_ATTRIBUTE_DEFAULTS, "Load balancer")
        if "idle_timeout.timeout_seconds" in changes:
            int_in(changes["idle_timeout.timeout_seconds"], 1, 4000, "idle_timeout.timeout_seconds")
        lb.attributes.update(changes)
        self.plane.set_idle_timeout(lb.key, float(lb.attributes["idle_timeout.timeout_seconds"]))
        return {"Attributes": attr_list(lb.attributes)}

    # target groups ---------------------------------------------------------------------------
    def create_target_group(
        self,
        Name: str,
        Protocol: str | None = None,
        Port: int | None = None,
        VpcId: str | None = None,
        TargetType: str = "instance",
        Matcher: dict[str, str] | None = None,
        Tags: list[dict[str, str]] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        if not NAME.match(Name):
            raise error("ValidationError", f"Target group name '{Name}' is not valid")
        if TargetType not in ("instance", "ip"):
            raise error("ValidationError", f"Target type '{TargetType}' is not supported by this lab")
        if Protocol != "HTTP" or Port is None:
            raise error("ValidationError", "Target groups of type instance/ip need Protocol HTTP and a Port")
        health = health_settings(dict(HEALTH_CHECK_DEFAULTS), params)
        matcher = matcher_code(Matcher, "200")
        for tg in self.target_groups.values():
            if tg.name == Name:
                if (tg.protocol, tg.port, tg.vpc_id, tg.target_type, tg.health_check, tg.matcher) == (
                    Protocol,
                    Port,
                    VpcId,
                    TargetType,
                    health,
                    matcher,
                ):
                    return {"TargetGroups": [tg.describe()]}
                raise error(
                    "DuplicateTargetGroupName", "A target group with the same name exists, but with different settings"
                )
        tg_arn = arn("elasticloadbalancing", self.region, self.account, f"targetgroup/{Name}/{hex_id(16)}")
        tg = TargetGroup(
            arn=tg_arn,
            name=Name,
            protocol=Protocol,
            port=Port,
            vpc_id=VpcId,
            target_type=TargetType,
            health_check=health,
            matcher=matcher,
            pool=RemotePool(self.plane, arn_suffix(tg_arn)),
            tags=tag_dict(Tags),
        )
        self.target_groups[tg_arn] = tg
        return {"TargetGroups": [tg.describe()]}

    def describe_target_groups(
        self,
        LoadBalancerArn: str | None = None,
        TargetGroupArns: list[str] | None = None,
        Names: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        tgs = list(self.target_groups.values())
        if LoadBalancerArn:
            self._lb(LoadBalancerArn)
            tgs = [tg for tg in tgs if LoadBalancerArn in tg.load_balancer_arns]
        if TargetGroupArns:
            tgs = [self._tg(a) for a in TargetGroupArns]
        if Names:
            by_name = {tg.name: tg for tg in tgs}
            missing = [n for n in Names if n not in by_name]
            if missing:
                raise error("TargetGroupNotFound", f"Target groups '{missing}' not found")
            tgs = [by_name[n] for n in Names]
        return {"TargetGroups": [tg.describe() for tg in tgs]}

    def modify_target_group(
        self, TargetGroupArn: str, Matcher: dict[str, str] | None = None, **params: Any
    ) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        health = health_settings(dict(tg.health_check), params)
        tg.matcher = matcher_code(Matcher, tg.matcher)  # validated before anything changes
        tg.health_check = health
        return {"TargetGroups": [tg.describe()]}

    def delete_target_group(self, TargetGroupArn: str, **_: Any) -> dict[str, Any]:
        tg = self.target_groups.get(TargetGroupArn)
        if tg is None:
            return {}
        if tg.load_balancer_arns:
            raise error("ResourceInUse", f"Target group '{TargetGroupArn}' is currently in use by a listener or a rule")
        for reg in list(tg.targets.values()):
            self.targets.forget(tg, reg)
        del self.target_groups[TargetGroupArn]
        return {}

    def describe_target_group_attributes(self, TargetGroupArn: str, **_: Any) -> dict[str, Any]:
        return {"Attributes": attr_list(self._tg(TargetGroupArn).attributes)}

    def modify_target_group_attributes(
        self, TargetGroupArn: str, Attributes: list[dict[str, str]], **_: Any
    ) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        changes = validated_attrs(Attributes, TG_ATTRIBUTE_DEFAULTS, "Target group")
        if "deregistration_delay.timeout_seconds" in changes:
            int_in(changes["deregistration_delay.timeout_seconds"], 0, 3600, "deregistration_delay.timeout_seconds")
        if "slow_start.duration_seconds" in changes:
            value = int_in(changes["slow_start.duration_seconds"], 0, 900, "slow_start.duration_seconds")
            if 0 < value < 30:
                raise error("ValidationError", "slow_start.duration_seconds must be 0 or between 30 and 900")
        algorithm = changes.get("load_balancing.algorithm.type")
        if algorithm is not None and algorithm not in ALGORITHMS:
            raise error("ValidationError", f"load_balancing.algorithm.type must be one of {ALGORITHMS}")
        tg.attributes.update(changes)
        tg.pool.algorithm = tg.attributes["load_balancing.algorithm.type"]
        return {"Attributes": attr_list(tg.attributes)}

    # listeners -------------------------------------------------------------------------------
    async def create_listener(
        self,
        LoadBalancerArn: str,
        DefaultActions: list[dict[str, Any]],
        Port: int = 80,
        Protocol: str = "HTTP",
        Tags: list[dict[str, str]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Bind a real socket on lab.config.host:Port (0 = any free port; the real one is reported)."""
        lb = self._lb(LoadBalancerArn)
        if Protocol != "HTTP":
            raise error("ValidationError", f"Listener protocol '{Protocol}' is not supported by this lab")
        tg = self._tg(self._forward_target(DefaultActions))
        for other in (self.listeners[a] for a in lb.listeners):
            if Port and other.port == Port:
                if other.default_actions == DefaultActions:
                    return {"Listeners": [other.describe()]}
                raise error("DuplicateListener", "A listener already exists on this port for this load balancer")
        proxy = RemoteListener(self.plane, self.lab.config.host, Port, lb.key, tg.pool.key)
        try:
            real_port = await proxy.start()
        except OSError as err:
            raise error("ValidationError", f"Cannot listen on {self.lab.config.host}:{Port}: {err.strerror}") from None
        lb_part = arn_suffix(lb.arn)
        listener_arn = arn("elasticloadbalancing", self.region, self.account, f"listener/{lb_part}/{hex_id(16)}")
        listener = Listener(
            arn=listener_arn,
            load_balancer_arn=lb.arn,
            port=real_port,
            protocol=Protocol,
            default_actions=DefaultActions,
            target_group_arn=tg.arn,
            proxy=proxy,
            tags=tag_dict(Tags),
        )
        self.listeners[listener_arn] = listener
        lb.listeners.append(listener_arn)
        if lb.arn not in tg.load_balancer_arns:
            tg.load_balancer_arns.append(lb.arn)
            if len(tg.load_balancer_arns) == 1:
                self.targets.activate(tg)
            self._follow_shifts(tg)
        return {"Listeners": [listener.describe()]}

    def describe_listeners(
        self, LoadBalancerArn: str | None = None, ListenerArns: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        if ListenerArns:
            return {"Listeners": [self._listener(a).describe() for a in ListenerArns]}
        if not LoadBalancerArn:
            raise error("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
        return {"Listeners": [self.listeners[a].describe() for a in self._lb(LoadBalancerArn).listeners]}

    async def delete_listener(self, ListenerArn: str, **_: Any) -> dict[str, Any]:
        listener = self._listener(ListenerArn)
        await listener.proxy.stop()
        del self.listeners[ListenerArn]
        lb = self.load_balancers[listener.load_balancer_arn]
        lb.listeners.remove(ListenerArn)
        tg = self.target_groups.get(listener.target_group_arn)
        still_used = any(self.listeners[a].target_group_arn == listener.target_group_arn for a in lb.listeners)
        if tg is not None and not still_used and lb.arn in tg.load_balancer_arns:
            tg.load_balancer_arns.remove(lb.arn)
            if not tg.load_balancer_arns:
                self.targets.deactivate(tg)
            self._follow_shifts(tg)
        return {}

    def listener_address(self, listener_arn: str) -> tuple[str, int]:
        """Where the listener really accepts connections (host, port)."""
        listener = self._listener(listener_arn)
        return listener.proxy.host, listener.port

    # targets ---------------------------------------------------------------------------------
    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        resolved = [
            (t["Id"], int(t.get("Port") or tg.port or 0), self._resolve(tg, t["Id"]), t.get("AvailabilityZone"))
            for t in Targets
        ]
        for target_id, port, _host, _zone in resolved:  # all checked before any is admitted
            if not 1 <= port <= 65535:
                raise error("ValidationError", f"A port must be specified for target '{target_id}'")
        for target_id, port, host, zone in resolved:
            old = tg.targets.get((target_id, port))
            if old is not None and old.health.state != hc.DRAINING:
                continue  # registering a registered target is a no-op
            if old is not None:
                self.targets.forget(tg, old)  # re-registering a draining target starts afresh
            registration = Registration(
                target_id, port, zone, RemoteUpstream(self.plane, target_id, host, unit_port(host, port))
            )
            registration.az = target_zone(self.lab, tg.target_type, target_id, zone)
            self.targets.admit(tg, registration)
        return {}

    def deregister_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        regs = []
        for t in Targets:
            reg = tg.targets.get((t["Id"], int(t.get("Port") or tg.port or 0)))
            if reg is None:
                raise error("InvalidTarget", f"The following targets are not registered: '{t['Id']}'")
            regs.append(reg)
        for reg in regs:
            self.targets.drain(tg, reg)
        return {}

    def describe_target_health(
        self, TargetGroupArn: str, Targets: list[dict[str, Any]] | None = None, **_: Any
    ) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        port_spec = tg.health_check["HealthCheckPort"]
        if not Targets:
            return {"TargetHealthDescriptions": [r.describe(port_spec) for r in tg.targets.values()]}
        out = []
        for t in Targets:
            port = int(t.get("Port") or tg.port or 0)
            reg = tg.targets.get((t["Id"], port))
            if reg is not None:
                out.append(reg.describe(port_spec))
            else:
                out.append(
                    {
                        "Target": {"Id": t["Id"], "Port": port},
                        "HealthCheckPort": str(port) if port_spec == "traffic-port" else port_spec,
                        "TargetHealth": {
                            "State": hc.UNUSED,
                            "Reason": "Target.NotRegistered",
                            "Description": hc.REASONS["Target.NotRegistered"],
                        },
                    }
                )
        return {"TargetHealthDescriptions": out}

    # zonal shift ---------------------------------------------------------------------------
    def shift_zone(self, LoadBalancerArn: str, shift_id: str, zone: str) -> None:
        """Start a zonal shift: the load balancer routes no request to targets in `zone`."""
        self._lb(LoadBalancerArn).zonal_shifts[shift_id] = zone
        self._reroute(LoadBalancerArn)

    def unshift_zone(self, shift_id: str) -> None:
        """End a zonal shift wherever it is active; idempotent."""
        for lb in self.load_balancers.values():
            if lb.zonal_shifts.pop(shift_id, None) is not None:
                self._reroute(lb.arn)

    def _reroute(self, lb_arn: str) -> None:
        for tg in self.target_groups.values():
            if lb_arn in tg.load_balancer_arns:
                self._follow_shifts(tg)

    def _follow_shifts(self, tg: TargetGroup) -> None:
        """Re-route `tg` after its load balancers' shifts (or its set of load balancers) changed."""
        tg.away_zones = away_zones(tg, self.load_balancers)
        route(tg)

    # tags ------------------------------------------------------------------------------------
    def add_tags(self, ResourceArns: list[str], Tags: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        for resource in [self._taggable(a) for a in ResourceArns]:
            resource.tags.update(tag_dict(Tags))
        return {}

    def remove_tags(self, ResourceArns: list[str], TagKeys: list[str], **_: Any) -> dict[str, Any]:
        for resource in [self._taggable(a) for a in ResourceArns]:
            for key in TagKeys:
                resource.tags.pop(key, None)
        return {}

    def describe_tags(self, ResourceArns: list[str], **_: Any) -> dict[str, Any]:
        return {
            "TagDescriptions": [
                {"ResourceArn": a, "Tags": [{"Key": k, "Value": v} for k, v in self._taggable(a).tags.items()]}
                for a in ResourceArns
            ]
        }

    # data-plane records ----------------------------------------------------------------------
    def recent_requests(self, since: float = 0.0, load_balancer_arn: str | None = None) -> list[dict[str, Any]]:
        """Proxied requests recorded after `since` (`since` and `time` are epoch seconds)."""
        self.plane.drain()
        lbs = [self._lb(load_balancer_arn)] if load_balancer_arn else list(self.load_balancers.values())
        records = [dict(r, load_balancer=lb.name) for lb in lbs for r in lb.stats.recent(since)]
        records.sort(key=lambda r: r["time"])
        return records

    # internals -------------------------------------------------------------------------------
    def _lb(self, lb_arn: str) -> LoadBalancer:
        lb = self.load_balancers.get(lb_arn)
        if lb is None:
            raise error("LoadBalancerNotFound", f"Load balancer '{lb_arn}' not found")
        return lb

    def _tg(self, tg_arn: str) -> TargetGroup:
        tg = self.target_groups.get(tg_arn)
        if tg is None:
            raise error("TargetGroupNotFound", f"Target group '{tg_arn}' not found")
        return tg

    def _listener(self, listener_arn: str) -> Listener:
        listener = self.listeners.get(listener_arn)
        if listener is None:
            raise error("ListenerNotFound", f"Listener '{listener_arn}' not found")
        return listener

    def _taggable(self, resource_arn: str) -> LoadBalancer | TargetGroup | Listener:
        if ":targetgroup/" in resource_arn:
            return self._tg(resource_arn)
        if ":listener/" in resource_arn:
            return self._listener(resource_arn)
        return self._lb(resource_arn)

    @staticmethod
    def _forward_target(actions: list[dict[str, Any]]) -> str:
        for action in actions or []:
            if action.get("Type") == "forward":
                if action.get("TargetGroupArn"):
                    return action["TargetGroupArn"]
                groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
                if len(groups) == 1:
                    return groups[0]["TargetGroupArn"]
        raise error("ValidationError", "The default action must forward to exactly one target group")

    def _resolve(self, tg: TargetGroup, target_id: str) -> str:
        """Target address: an ip target's own IP, an instance's private IP from lab.ec2."""
        if tg.target_type == "ip":
            try:
                ipaddress.IPv4Address(target_id)
            except ValueError:
                raise error("InvalidTarget", f"The IP address '{target_id}' is not a valid IPv4 address") from None
            return target_id
        ec2 = getattr(self.lab, "ec2", None)
        address = None
        if ec2 is not None and target_id.startswith("i-"):
            try:
                address = ec2.private_ip(target_id)
            except Exception:
                address = None
        if not address:
            raise error("InvalidTarget", f"The following targets are not valid instances: '{target_id}'")
        return address

    def _subnet_zone(self, subnet_id: str, index: int) -> str:
        ec2 = getattr(self.lab, "ec2", None)
        zone = getattr(ec2, "subnet_zone", None)
        if zone is not None:
            return zone(subnet_id)
        return f"{self.region}{'abcdef'[index % 6]}"

    def _subnet_vpc(self, subnets: list[str]) -> str:
        ec2 = getattr(self.lab, "ec2", None)
        vpc_of = getattr(ec2, "subnet_vpc", None)
        if vpc_of is not None and subnets:
            return vpc_of(subnets[0])
        return "vpc-00000000000000001"

    async def _publish_metrics(self) -> None:
        """Once a (scenario) second: request aggregates per LB, healthy/unhealthy host counts per
        TG and its requests per healthy target, stamped with the scenario second the batch began in."""
        loop = asyncio.get_running_loop()
        step = self.lab.clock.cadence(1.0)
        next_at = loop.time() + step
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += step
            sink: MetricSink = getattr(self.lab, "cloudwatch", None) or _NullSink()
            stamp = float(int(self.lab.clock.now() - step * self.lab.clock.scale))
            routed: dict[str, int] = {}
            self.plane.drain()
            for lb in self.load_balancers.values():
                for dimension, count in lb.stats.flush(sink, stamp).items():
                    routed[dimension] = routed.get(dimension, 0) + count
            for tg in self.target_groups.values():
                states = [r.health.state for r in tg.targets.values()]
                healthy = states.count(hc.HEALTHY)
                if routed.get(tg.pool.dimension) and healthy:  # what target tracking on ALBRequestCountPerTarget reads
                    sink.put_metric(
                        "AWS/ApplicationELB",
                        "RequestCountPerTarget",
                        {"TargetGroup": tg.pool.dimension},
                        [routed[tg.pool.dimension] / healthy],
                        "None",
                        stamp,
                    )
                for lb_arn in tg.load_balancer_arns:
                    dims = {"LoadBalancer": arn_suffix(lb_arn), "TargetGroup": tg.pool.dimension}
                    sink.put_metric(
                        "AWS/ApplicationELB",
                        "HealthyHostCount",
                        dims,
                        [float(states.count(hc.HEALTHY))],
                        "Count",
                        stamp,
                    )
                    sink.put_metric(
                        "AWS/ApplicationELB",
                        "UnHealthyHostCount",
                        dims,
                        [float(states.count(hc.UNHEALTHY))],
                        "Count",
                        stamp,
                    )
