"""Network faults on compute units: `NetworkRules` (an iptables rule set: blackhole, packet
loss, disrupt-connectivity) and `NetworkLatency` (REDIRECT rules and the delay proxy), plus the
helpers that find a unit's namespace and resolve FIS `sources`.

The undo record holds everything the revert needs (namespace, chains, proxy tag), so `revert`
works in the running lab and at the next start after a crash — and does nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import sys
import time
from typing import Any

import psutil

from chaoslab.faults import network_rules as rules
from chaoslab.faults.base import Fault, FaultStartError, NetworkFaultError
from chaoslab.faults.lookup import live_unit
from chaoslab.faults.network_iptables import RuleSet, install, netns_exists, remove, remove_jumps
from chaoslab.ids import hex_id
from chaoslab.runtime.commands import run_command
from chaoslab.runtime.unit import ComputeUnit

EGRESS_PROXY_PORT = 15101
INGRESS_PROXY_PORT = 15102
PROXY_MODULE = "chaoslab.faults.network_delayproxy"
PROXY_DRAIN_S = 2.0  # at a revert, how long the proxy may finish the flows in flight
NETNS_ONLY = (
    "needs the lab's netns network mode (root on Linux), where each unit has its own network "
    "namespace; this lab runs units on loopback addresses"
)


def new_tag() -> str:
    return hex_id(8)


def unit_netns(unit: ComputeUnit | None, what: str) -> str:
    """The unit's namespace, or a NetworkFaultError saying why there is none."""
    if unit is None or unit.sandbox is None:
        raise NetworkFaultError(f"{what} has no running unit")
    if unit.sandbox.netns is None:
        raise NetworkFaultError(f"{what}: network faults {NETNS_ONLY}")
    return unit.sandbox.netns


def resolve_sources(lab: Any, sources: str | None) -> list[str] | None:
    """FIS `sources` → CIDRs (None = ALL). AZ names/ids become the lab's subnet CIDRs in that AZ;
    domain names must be names the lab resolves for units (DB endpoints)."""
    items = [s.strip() for s in (sources or "ALL").split(",") if s.strip()]
    if not items or "ALL" in items:
        return None
    subnets = lab.ec2.describe_subnet_records()
    out: list[str] = []
    for item in items:
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
            continue
        except ValueError:
            pass
        in_az = [s["CidrBlock"] for s in subnets if item in (s["AvailabilityZone"], s["AvailabilityZoneId"])]
        if in_az:
            out.extend(in_az)
        elif item in lab.ec2.extra_hosts:
            out.append(lab.ec2.extra_hosts[item] + "/32")
        elif item in ("DYNAMODB", "S3"):
            raise NetworkFaultError(f"source {item}: the lab has no {item} endpoint")
        else:
            raise NetworkFaultError(
                f"source {item!r} is not an IPv4 address, CIDR, Availability Zone or a name "
                f"the lab resolves ({', '.join(sorted(lab.ec2.extra_hosts)) or 'none'})"
            )
    return out


class NetworkRules(Fault):
    """One iptables rule set in one unit's namespace (blackhole, packet loss, disrupt)."""

    name = "network.rules"

    def __init__(self, target: str, rule_set: RuleSet) -> None:
        self.target, self.rule_set = target, rule_set

    async def arm(self) -> dict[str, Any]:
        return {"target": self.target, "rules": self.rule_set.to_record()}

    async def go(self) -> None:
        await install(self.rule_set)

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        await remove(RuleSet.from_record(record["rules"]))


class NetworkLatency(Fault):
    """Affected TCP flows REDIRECTed through a delay proxy running in the unit.

    One latency fault per unit at a time (FIS does not run network actions in parallel on the
    same task): a second proxy could not bind the unit's proxy port, the readiness probe would
    reach the first one, and when the first ended the second's redirect would point at nothing."""

    name = "network.latency"

    def __init__(
        self,
        unit: ComputeUnit,
        target: str,
        netns: str,
        *,
        delay_ms: int,
        jitter_ms: int,
        flows_percent: int,
        sources: list[str] | None,
        ingress_ports: list[int],
    ) -> None:
        self.unit, self.target, self.netns = unit, target, netns
        self.delay_ms, self.jitter_ms, self.flows_percent = delay_ms, jitter_ms, flows_percent
        self.sources, self.ingress_ports = sources, ingress_ports
        self.record: dict[str, Any] = {}

    async def arm(self) -> dict[str, Any]:
        tag = new_tag()
        rule_set = rules.latency_redirect(
            self.netns,
            tag,
            self.flows_percent,
            self.sources,
            self.ingress_ports,
            EGRESS_PROXY_PORT,
            INGRESS_PROXY_PORT,
        )
        argv = [
            sys.executable,
            "-m",
            PROXY_MODULE,
            "--egress-port",
            str(EGRESS_PROXY_PORT),
            "--ingress-port",
            str(INGRESS_PROXY_PORT),
            "--mark",
            rules.PROXY_MARK,
            "--delay-ms",
            str(self.delay_ms),
            "--jitter-ms",
            str(self.jitter_ms),
            "--drain-s",
            str(PROXY_DRAIN_S),
            "--tag",
            tag,
        ]
        self.record = {
            "target": self.target,
            "unit_id": self.unit.unit_id,
            "netns": self.netns,
            "tag": tag,
            "proxy": f"delayproxy-{tag}",
            "argv": argv,
            "rules": rule_set.to_record(),
        }
        return self.record

    async def go(self) -> None:
        """Start the proxy in the unit, wait until it listens, then redirect flows to it."""
        unit, record = self.unit, self.record
        if any(name.startswith("delayproxy-") for name in unit.extras):
            raise FaultStartError(
                f"{record['target']} already has a network latency fault; "
                "network latency cannot run in parallel on the same target"
            )
        await unit.spawn_extra(record["proxy"], record["argv"])
        assert unit.ip is not None and unit.sandbox is not None
        # Asked from the lab's own address, which the unit's security groups always admit.
        source = (unit.sandbox.lab_ip, 0) if unit.sandbox.lab_ip else None
        deadline = time.monotonic() + 10
        while True:
            try:
                connecting = asyncio.open_connection(unit.ip, EGRESS_PROXY_PORT, local_addr=source)
                _, writer = await asyncio.wait_for(connecting, 1.0)
                writer.close()
                break
            except (TimeoutError, OSError):
                if time.monotonic() > deadline or record["proxy"] not in unit.extras:
                    raise FaultStartError(f"the delay proxy in {record['target']} did not start") from None
                await asyncio.sleep(0.05)
        await install(RuleSet.from_record(record["rules"]))

    @classmethod
    async def revert(cls, lab: Any, record: dict[str, Any]) -> None:
        """Stop redirecting new flows, let the proxy finish the flows it carries, then delete the rules.

        The REDIRECT rules must outlive the proxy: they hold the namespace's connection tracking, and
        a redirected flow that loses its NAT binding sends the proxy's last bytes and its FIN from the
        proxy's own port, which the peer ignores — a request in flight would hang instead of ending."""
        rule_set = RuleSet.from_record(record["rules"])
        await remove_jumps(rule_set)
        unit = live_unit(lab, record["unit_id"])
        if unit is not None and record["proxy"] in unit.extras:
            await unit.stop_extra(record["proxy"], timeout=PROXY_DRAIN_S + 1.0)
        await kill_tagged(record["netns"], record["tag"])
        await remove(rule_set)


async def kill_tagged(netns: str, tag: str) -> None:
    """After a crash the unit object is gone: find the proxy by its tag among the namespace's pids."""
    if not netns_exists(netns):
        return
    rc, out = await run_command(["ip", "netns", "pids", netns], check=False)
    for pid in (int(p) for p in out.split() if p.isdigit()) if rc == 0 else ():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            cmd = psutil.Process(pid).cmdline()
            if PROXY_MODULE in cmd and tag in cmd:
                os.kill(pid, signal.SIGKILL)
