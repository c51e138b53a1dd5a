"""ELBv2 semantics: load balancers, target groups, listeners, targets and their health.

Methods are named after the API operations and take/return boto3 shapes, so the API handlers
and the stack loader drive the same code. Listeners are real sockets (net/alb.py); health
checks are real probes (net/healthcheck.py). Documented deviations from AWS live in docs/alb.md.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from typing import Any, Callable

from chaoslab.errors import AwsError
from chaoslab.ids import arn, hex_id
from chaoslab.net import healthcheck as hc
from chaoslab.net.alb import ListenerProxy, MetricSink, RequestStats, TargetPool, Upstream
from chaoslab.services.elbv2.models import (
    HEALTH_CHECK_DEFAULTS, LB_ATTRIBUTE_DEFAULTS, TG_ATTRIBUTE_DEFAULTS, Listener, LoadBalancer,
    Registration, TargetGroup, arn_suffix,
)

log = logging.getLogger(__name__)

HealthListener = Callable[[str, str, int, str, str, "str | None"], Any]
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
_HC_INT_LIMITS = {  # the lab allows 1 s intervals/timeouts so CI experiments are fast (docs/alb.md)
    "HealthCheckIntervalSeconds": (1, 300), "HealthCheckTimeoutSeconds": (1, 120),
    "HealthyThresholdCount": (2, 10), "UnhealthyThresholdCount": (2, 10),
}
_ALGORITHMS = ("round_robin", "least_outstanding_requests", "weighted_random")


def _error(code: str, message: str) -> AwsError:
    return AwsError(code, message, 400)


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
        self._health_listeners: list[HealthListener] = []
        self._metrics_task: asyncio.Task[None] | None = None

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._metrics_task = asyncio.get_running_loop().create_task(self._publish_metrics())

    async def stop(self) -> None:
        if self._metrics_task is not None:
            self._metrics_task.cancel()
            await asyncio.gather(self._metrics_task, return_exceptions=True)
            self._metrics_task = None
        for listener in list(self.listeners.values()):
            await listener.proxy.stop()
        for tg in self.target_groups.values():
            for reg in tg.targets.values():
                self._stop_checks(reg)
                if reg.drain_timer is not None:
                    reg.drain_timer.cancel()
                reg.upstream.close_idle()
        checkers = [r.checker for tg in self.target_groups.values() for r in tg.targets.values() if r.checker]
        await asyncio.gather(*checkers, return_exceptions=True)

    def add_health_listener(self, callback: HealthListener) -> Callable[[], None]:
        """callback(tg_arn, target_id, port, old, new, reason) on every target health change."""
        self._health_listeners.append(callback)
        return lambda: self._health_listeners.remove(callback) if callback in self._health_listeners else None

    # load balancers --------------------------------------------------------------------------
    def create_load_balancer(self, Name: str, Subnets: list[str] | None = None,
                             SubnetMappings: list[dict[str, Any]] | None = None,
                             SecurityGroups: list[str] | None = None, Scheme: str = "internet-facing",
                             Tags: list[dict[str, str]] | None = None, Type: str = "application",
                             IpAddressType: str = "ipv4", **_: Any) -> dict[str, Any]:
        if Type != "application":
            raise _error("ValidationError", f"Load balancer type '{Type}' is not supported by this lab")
        if not _NAME.match(Name) or Name.startswith("internal-"):
            raise _error("ValidationError", f"Load balancer name '{Name}' is not valid")
        subnets = list(Subnets or []) + [m["SubnetId"] for m in SubnetMappings or []]
        for lb in self.load_balancers.values():
            if lb.name == Name:
                if lb.scheme == Scheme and lb.subnets == subnets:
                    return {"LoadBalancers": [lb.describe()]}  # AWS: same settings -> idempotent
                raise _error("DuplicateLoadBalancerName", "A load balancer with the same name already exists")
        lb_id = hex_id(16)
        lb_arn = arn("elasticloadbalancing", self.region, self.account, f"loadbalancer/app/{Name}/{lb_id}")
        prefix = "internal-" if Scheme == "internal" else ""
        zones = [{"ZoneName": self._subnet_zone(s, i), "SubnetId": s, "LoadBalancerAddresses": []}
                 for i, s in enumerate(subnets)]
        lb = LoadBalancer(
            arn=lb_arn, name=Name, dns_name=f"{prefix}{Name}-{int(lb_id[:8], 16) % 10**10}.{self.region}.elb.amazonaws.com",
            scheme=Scheme, vpc_id=self._subnet_vpc(subnets), subnets=subnets, zones=zones,
            security_groups=list(SecurityGroups or []), ip_address_type=IpAddressType,
            stats=RequestStats(arn_suffix(lb_arn)), tags=_tag_dict(Tags),
        )
        self.load_balancers[lb_arn] = lb
        return {"LoadBalancers": [lb.describe()]}

    def describe_load_balancers(self, LoadBalancerArns: list[str] | None = None,
                                Names: list[str] | None = None, **_: Any) -> dict[str, Any]:
        lbs = list(self.load_balancers.values())
        if LoadBalancerArns:
            lbs = [self._lb(a) for a in LoadBalancerArns]
        if Names:
            by_name = {lb.name: lb for lb in lbs}
            missing = [n for n in Names if n not in by_name]
            if missing:
                raise _error("LoadBalancerNotFound", f"Load balancers '{missing}' not found")
            lbs = [by_name[n] for n in Names]
        return {"LoadBalancers": [lb.describe() for lb in lbs]}

    async def delete_load_balancer(self, LoadBalancerArn: str, **_: Any) -> dict[str, Any]:
        lb = self.load_balancers.get(LoadBalancerArn)
        if lb is None:
            return {}  # AWS: deleting a load balancer that is already gone succeeds
        if lb.attributes["deletion_protection.enabled"] == "true":
            raise _error("OperationNotPermitted", "Load balancer has deletion protection enabled")
        for listener_arn in list(lb.listeners):
            await self.delete_listener(listener_arn)
        del self.load_balancers[LoadBalancerArn]
        return {}

    def describe_load_balancer_attributes(self, LoadBalancerArn: str, **_: Any) -> dict[str, Any]:
        return {"Attributes": _attr_list(self._lb(LoadBalancerArn).attributes)}

    def modify_load_balancer_attributes(self, LoadBalancerArn: str, Attributes: list[dict[str, str]],
                                        **_: Any) -> dict[str, Any]:
        lb = self._lb(LoadBalancerArn)
        changes = _validated_attrs(Attributes, LB_ATTRIBUTE_DEFAULTS, "Load balancer")
        if "idle_timeout.timeout_seconds" in changes:
            _int_in(changes["idle_timeout.timeout_seconds"], 1, 4000, "idle_timeout.timeout_seconds")
        lb.attributes.update(changes)
        return {"Attributes": _attr_list(lb.attributes)}

    # target groups ---------------------------------------------------------------------------
    def create_target_group(self, Name: str, Protocol: str | None = None, Port: int | None = None,
                            VpcId: str | None = None, TargetType: str = "instance",
                            Matcher: dict[str, str] | None = None, Tags: list[dict[str, str]] | None = None,
                            **params: Any) -> dict[str, Any]:
        if not _NAME.match(Name):
            raise _error("ValidationError", f"Target group name '{Name}' is not valid")
        if TargetType not in ("instance", "ip"):
            raise _error("ValidationError", f"Target type '{TargetType}' is not supported by this lab")
        if Protocol != "HTTP" or Port is None:
            raise _error("ValidationError", "Target groups of type instance/ip need Protocol HTTP and a Port")
        health = self._health_settings(dict(HEALTH_CHECK_DEFAULTS), params)
        matcher = self._matcher(Matcher, "200")
        for tg in self.target_groups.values():
            if tg.name == Name:
                if (tg.protocol, tg.port, tg.vpc_id, tg.target_type, tg.health_check, tg.matcher) == (
                        Protocol, Port, VpcId, TargetType, health, matcher):
                    return {"TargetGroups": [tg.describe()]}
                raise _error("DuplicateTargetGroupName", "A target group with the same name exists, but with different settings")
        tg_arn = arn("elasticloadbalancing", self.region, self.account, f"targetgroup/{Name}/{hex_id(16)}")
        tg = TargetGroup(arn=tg_arn, name=Name, protocol=Protocol, port=Port, vpc_id=VpcId,
                         target_type=TargetType, health_check=health, matcher=matcher,
                         pool=TargetPool(arn_suffix(tg_arn)), tags=_tag_dict(Tags))
        self.target_groups[tg_arn] = tg
        return {"TargetGroups": [tg.describe()]}

    def describe_target_groups(self, LoadBalancerArn: str | None = None, TargetGroupArns: list[str] | None = None,
                               Names: list[str] | None = None, **_: Any) -> dict[str, Any]:
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
                raise _error("TargetGroupNotFound", f"Target groups '{missing}' not found")
            tgs = [by_name[n] for n in Names]
        return {"TargetGroups": [tg.describe() for tg in tgs]}

    def modify_target_group(self, TargetGroupArn: str, Matcher: dict[str, str] | None = None,
                            **params: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        tg.health_check = self._health_settings(dict(tg.health_check), params)
        tg.matcher = self._matcher(Matcher, tg.matcher)
        return {"TargetGroups": [tg.describe()]}

    def delete_target_group(self, TargetGroupArn: str, **_: Any) -> dict[str, Any]:
        tg = self.target_groups.get(TargetGroupArn)
        if tg is None:
            return {}
        if tg.load_balancer_arns:
            raise _error("ResourceInUse", f"Target group '{TargetGroupArn}' is currently in use by a listener or a rule")
        for reg in tg.targets.values():
            self._stop_checks(reg)
            if reg.drain_timer is not None:
                reg.drain_timer.cancel()
            reg.upstream.close_idle()
        del self.target_groups[TargetGroupArn]
        return {}

    def describe_target_group_attributes(self, TargetGroupArn: str, **_: Any) -> dict[str, Any]:
        return {"Attributes": _attr_list(self._tg(TargetGroupArn).attributes)}

    def modify_target_group_attributes(self, TargetGroupArn: str, Attributes: list[dict[str, str]],
                                       **_: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        changes = _validated_attrs(Attributes, TG_ATTRIBUTE_DEFAULTS, "Target group")
        if "deregistration_delay.timeout_seconds" in changes:
            _int_in(changes["deregistration_delay.timeout_seconds"], 0, 3600, "deregistration_delay.timeout_seconds")
        if "slow_start.duration_seconds" in changes:
            value = _int_in(changes["slow_start.duration_seconds"], 0, 900, "slow_start.duration_seconds")
            if 0 < value < 30:
                raise _error("ValidationError", "slow_start.duration_seconds must be 0 or between 30 and 900")
        algorithm = changes.get("load_balancing.algorithm.type")
        if algorithm is not None and algorithm not in _ALGORITHMS:
            raise _error("ValidationError", f"load_balancing.algorithm.type must be one of {_ALGORITHMS}")
        tg.attributes.update(changes)
        tg.pool.algorithm = tg.attributes["load_balancing.algorithm.type"]
        return {"Attributes": _attr_list(tg.attributes)}

    # listeners -------------------------------------------------------------------------------
    async def create_listener(self, LoadBalancerArn: str, DefaultActions: list[dict[str, Any]],
                              Port: int = 80, Protocol: str = "HTTP", Tags: list[dict[str, str]] | None = None,
                              **_: Any) -> dict[str, Any]:
        """Bind a real socket on lab.config.host:Port (0 = any free port; the real one is reported)."""
        lb = self._lb(LoadBalancerArn)
        if Protocol != "HTTP":
            raise _error("ValidationError", f"Listener protocol '{Protocol}' is not supported by this lab")
        tg = self._tg(self._forward_target(DefaultActions))
        for other in (self.listeners[a] for a in lb.listeners):
            if Port and other.port == Port:
                if other.default_actions == DefaultActions:
                    return {"Listeners": [other.describe()]}
                raise _error("DuplicateListener", "A listener already exists on this port for this load balancer")
        attrs = lb.attributes
        proxy = ListenerProxy(self.lab.config.host, Port, tg.pool, lb.stats,
                              idle_timeout=lambda: float(attrs["idle_timeout.timeout_seconds"]))
        try:
            real_port = await proxy.start()
        except OSError as err:
            raise _error("ValidationError", f"Cannot listen on {self.lab.config.host}:{Port}: {err.strerror}") from None
        lb_part = arn_suffix(lb.arn)
        listener_arn = arn("elasticloadbalancing", self.region, self.account, f"listener/{lb_part}/{hex_id(16)}")
        listener = Listener(arn=listener_arn, load_balancer_arn=lb.arn, port=real_port, protocol=Protocol,
                            default_actions=DefaultActions, target_group_arn=tg.arn, proxy=proxy,
                            tags=_tag_dict(Tags))
        self.listeners[listener_arn] = listener
        lb.listeners.append(listener_arn)
        if lb.arn not in tg.load_balancer_arns:
            tg.load_balancer_arns.append(lb.arn)
            if len(tg.load_balancer_arns) == 1:
                self._activate(tg)
        return {"Listeners": [listener.describe()]}

    def describe_listeners(self, LoadBalancerArn: str | None = None, ListenerArns: list[str] | None = None,
                           **_: Any) -> dict[str, Any]:
        if ListenerArns:
            return {"Listeners": [self._listener(a).describe() for a in ListenerArns]}
        if not LoadBalancerArn:
            raise _error("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
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
                self._deactivate(tg)
        return {}

    def listener_address(self, listener_arn: str) -> tuple[str, int]:
        """Where the listener really accepts connections (host, port)."""
        listener = self._listener(listener_arn)
        return listener.proxy.host, listener.port

    # targets ---------------------------------------------------------------------------------
    def register_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        resolved = [(t["Id"], int(t.get("Port") or tg.port or 0), self._resolve(tg, t["Id"]), t.get("AvailabilityZone"))
                    for t in Targets]
        for target_id, port, host, zone in resolved:
            if not 1 <= port <= 65535:
                raise _error("ValidationError", f"A port must be specified for target '{target_id}'")
            old = tg.targets.get((target_id, port))
            if old is not None and old.health.state != hc.DRAINING:
                continue  # registering a registered target is a no-op
            if old is not None:
                self._forget(tg, old)
            reg = Registration(target_id, port, zone, Upstream(target_id, host, port))
            tg.targets[(target_id, port)] = reg
            if tg.load_balancer_arns:
                self._notify(tg, reg, hc.UNUSED, hc.INITIAL)
                self._start_checks(tg, reg)
            else:
                reg.health.set(hc.UNUSED, "Target.NotInUse")
        self._route(tg)
        return {}

    def deregister_targets(self, TargetGroupArn: str, Targets: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        tg = self._tg(TargetGroupArn)
        regs = []
        for t in Targets:
            reg = tg.targets.get((t["Id"], int(t.get("Port") or tg.port or 0)))
            if reg is None:
                raise _error("InvalidTarget", f"The following targets are not registered: '{t['Id']}'")
            regs.append(reg)
        delay = int(tg.attributes["deregistration_delay.timeout_seconds"])
        for reg in regs:
            if reg.health.state == hc.DRAINING:
                continue
            self._stop_checks(reg)
            if not tg.load_balancer_arns:
                self._forget(tg, reg)
                continue
            old, new = reg.health.set(hc.DRAINING, "Target.DeregistrationInProgress")
            self._notify(tg, reg, old, new)
            reg.drain_timer = asyncio.get_running_loop().call_later(delay, self._drained, tg, reg)
        self._route(tg)
        return {}

    def describe_target_health(self, TargetGroupArn: str, Targets: list[dict[str, Any]] | None = None,
                               **_: Any) -> dict[str, Any]:
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
                out.append({"Target": {"Id": t["Id"], "Port": port},
                            "HealthCheckPort": str(port) if port_spec == "traffic-port" else port_spec,
                            "TargetHealth": {"State": hc.UNUSED, "Reason": "Target.NotRegistered",
                                             "Description": hc.REASONS["Target.NotRegistered"]}})
        return {"TargetHealthDescriptions": out}

    # tags ------------------------------------------------------------------------------------
    def add_tags(self, ResourceArns: list[str], Tags: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        for resource in [self._taggable(a) for a in ResourceArns]:
            resource.tags.update(_tag_dict(Tags))
        return {}

    def remove_tags(self, ResourceArns: list[str], TagKeys: list[str], **_: Any) -> dict[str, Any]:
        for resource in [self._taggable(a) for a in ResourceArns]:
            for key in TagKeys:
                resource.tags.pop(key, None)
        return {}

    def describe_tags(self, ResourceArns: list[str], **_: Any) -> dict[str, Any]:
        return {"TagDescriptions": [
            {"ResourceArn": a, "Tags": [{"Key": k, "Value": v} for k, v in self._taggable(a).tags.items()]}
            for a in ResourceArns]}

    # data-plane records ----------------------------------------------------------------------
    def recent_requests(self, since: float = 0.0, load_balancer_arn: str | None = None) -> list[dict[str, Any]]:
        """Proxied requests recorded after `since` (`since` and `time` are epoch seconds)."""
        lbs = [self._lb(load_balancer_arn)] if load_balancer_arn else list(self.load_balancers.values())
        records = [dict(r, load_balancer=lb.name) for lb in lbs for r in lb.stats.recent(since)]
        records.sort(key=lambda r: r["time"])
        return records

    # internals -------------------------------------------------------------------------------
    def _lb(self, lb_arn: str) -> LoadBalancer:
        lb = self.load_balancers.get(lb_arn)
        if lb is None:
            raise _error("LoadBalancerNotFound", f"Load balancer '{lb_arn}' not found")
        return lb

    def _tg(self, tg_arn: str) -> TargetGroup:
        tg = self.target_groups.get(tg_arn)
        if tg is None:
            raise _error("TargetGroupNotFound", f"Target group '{tg_arn}' not found")
        return tg

    def _listener(self, listener_arn: str) -> Listener:
        listener = self.listeners.get(listener_arn)
        if listener is None:
            raise _error("ListenerNotFound", f"Listener '{listener_arn}' not found")
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
        raise _error("ValidationError", "The default action must forward to exactly one target group")

    @staticmethod
    def _health_settings(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        for key in HEALTH_CHECK_DEFAULTS:
            if params.get(key) is not None:
                current[key] = params[key]
        for key, (low, high) in _HC_INT_LIMITS.items():
            current[key] = _int_in(current[key], low, high, key)
        if current["HealthCheckTimeoutSeconds"] > current["HealthCheckIntervalSeconds"]:
            raise _error("ValidationError", "Health check timeout must not exceed the health check interval")
        if current["HealthCheckProtocol"] != "HTTP":
            raise _error("ValidationError", "This lab's ALB health checks speak HTTP only")
        port = str(current["HealthCheckPort"])
        if port != "traffic-port" and not (port.isdigit() and 1 <= int(port) <= 65535):
            raise _error("ValidationError", f"Health check port '{port}' is not valid")
        current["HealthCheckPort"] = port
        if not str(current["HealthCheckPath"]).startswith("/"):
            raise _error("ValidationError", "Health check path must begin with a '/'")
        if current["HealthCheckEnabled"] is False:
            raise _error("ValidationError", "Health checks cannot be disabled for instance and ip target groups")
        return current

    @staticmethod
    def _matcher(matcher: dict[str, str] | None, default: str) -> str:
        code = (matcher or {}).get("HttpCode") or default
        try:
            hc.parse_matcher(code)
        except ValueError:
            raise _error("ValidationError", f"Health check matcher HTTP code '{code}' must be within '200-499'") from None
        return code

    def _resolve(self, tg: TargetGroup, target_id: str) -> str:
        """Target address: an ip target's own IP, an instance's private IP from lab.ec2."""
        if tg.target_type == "ip":
            try:
                ipaddress.IPv4Address(target_id)
            except ValueError:
                raise _error("InvalidTarget", f"The IP address '{target_id}' is not a valid IPv4 address") from None
            return target_id
        ec2 = getattr(self.lab, "ec2", None)
        address = None
        if ec2 is not None and target_id.startswith("i-"):
            try:
                address = ec2.private_ip(target_id)
            except Exception:  # noqa: BLE001 - any lookup failure means "not a valid instance"
                address = None
        if not address:
            raise _error("InvalidTarget", f"The following targets are not valid instances: '{target_id}'")
        return address

    def _activate(self, tg: TargetGroup) -> None:
        """A listener now forwards to `tg`: its targets start initial health checks."""
        for reg in tg.targets.values():
            if reg.health.state == hc.UNUSED:
                old, new = reg.health.set(hc.INITIAL, "Elb.RegistrationInProgress")
                self._notify(tg, reg, old, new)
                self._start_checks(tg, reg)
        self._route(tg)

    def _deactivate(self, tg: TargetGroup) -> None:
        for reg in list(tg.targets.values()):
            self._stop_checks(reg)
            if reg.health.state == hc.DRAINING:
                self._forget(tg, reg)
                continue
            old, new = reg.health.set(hc.UNUSED, "Target.NotInUse")
            self._notify(tg, reg, old, new)
        self._route(tg)

    def _start_checks(self, tg: TargetGroup, reg: Registration) -> None:
        reg.checker = asyncio.get_running_loop().create_task(self._check_loop(tg, reg))

    @staticmethod
    def _stop_checks(reg: Registration) -> None:
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
            result = await hc.probe(reg.upstream.host, port, settings["HealthCheckPath"],
                                    settings["HealthCheckTimeoutSeconds"], hc.parse_matcher(tg.matcher))
            change = reg.health.observe(result, settings["HealthyThresholdCount"], settings["UnhealthyThresholdCount"])
            if change is not None:
                self._route(tg)
                self._notify(tg, reg, *change)
            next_at += settings["HealthCheckIntervalSeconds"]
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
            self._forget(tg, reg)
            self._notify(tg, reg, hc.DRAINING, hc.UNUSED, "Target.NotRegistered")

    def _forget(self, tg: TargetGroup, reg: Registration) -> None:
        self._stop_checks(reg)
        if reg.drain_timer is not None:
            reg.drain_timer.cancel()
        reg.upstream.close_idle()
        tg.targets.pop((reg.target_id, reg.port), None)
        self._route(tg)

    @staticmethod
    def _route(tg: TargetGroup) -> None:
        """Rebuild the routing list: healthy targets; if none, fail open to every registered
        non-draining target (unhealthy and initial alike); 503 only when that is empty too."""
        live = [r for r in tg.targets.values() if r.health.state in (hc.HEALTHY, hc.UNHEALTHY, hc.INITIAL)]
        healthy = [r.upstream for r in live if r.health.state == hc.HEALTHY]
        tg.pool.set_routing(healthy or [r.upstream for r in live])

    def _notify(self, tg: TargetGroup, reg: Registration, old: str, new: str, reason: str | None = None) -> None:
        reason = reason or reg.health.reason
        self.lab.events.emit("target.health", target_group=tg.arn, target=reg.target_id, port=reg.port,
                             state=new, old=old, reason=reason)
        for callback in list(self._health_listeners):
            try:
                callback(tg.arn, reg.target_id, reg.port, old, new, reason)
            except Exception:  # noqa: BLE001 - one broken subscriber must not stop health checking
                log.exception("target health listener failed")

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
        """Once a second: request aggregates per LB, and healthy/unhealthy host counts per TG."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + 1.0
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            next_at += 1.0
            sink: MetricSink = getattr(self.lab, "cloudwatch", None) or _NullSink()
            stamp = float(int(time.time()) - 1)
            for lb in self.load_balancers.values():
                lb.stats.flush(sink, stamp)
            for tg in self.target_groups.values():
                states = [r.health.state for r in tg.targets.values()]
                for lb_arn in tg.load_balancer_arns:
                    dims = {"LoadBalancer": arn_suffix(lb_arn), "TargetGroup": tg.pool.dimension}
                    sink.put_metric("AWS/ApplicationELB", "HealthyHostCount", dims,
                                    [float(states.count(hc.HEALTHY))], "Count", stamp)
                    sink.put_metric("AWS/ApplicationELB", "UnHealthyHostCount", dims,
                                    [float(states.count(hc.UNHEALTHY))], "Count", stamp)


def _tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or []}


def _attr_list(attributes: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in attributes.items()]


def _validated_attrs(attributes: list[dict[str, str]], known: dict[str, str], what: str) -> dict[str, str]:
    changes = {}
    for attr in attributes:
        if attr["Key"] not in known:
            raise _error("ValidationError", f"{what} attribute key '{attr['Key']}' is not recognized")
        changes[attr["Key"]] = str(attr.get("Value", ""))
    return changes


def _int_in(value: Any, low: int, high: int, name: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _error("ValidationError", f"'{name}' must be an integer") from None
    if not low <= number <= high:
        raise _error("ValidationError", f"'{name}' must be between {low} and {high}")
    return number
