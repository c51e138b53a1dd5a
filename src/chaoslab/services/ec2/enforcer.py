"""`GroupEnforcer` (`lab.ec2.firewall`): keeps every unit's iptables chains what its security
groups and its subnet's network ACL say, live.

Who is in which group: units (instances, tasks) with their address and namespace; the load
balancers with the host's addresses on the VPC (the ALB proxies and health-checks from there);
and the lab's guarded listeners (database endpoints). Any change — a rule authorized or
revoked, an ACL entry or association changed, a unit started or gone, a listener guarded — ends
in `refresh`, which rewrites the
chains of every unit whose rules it changes (one `iptables-restore` each, atomic per table).
The chains live in the units' own namespaces, so they go with them at `down`; a unit without a
namespace (loopback mode) has nothing to enforce with, which `up`'s mode notes say.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from chaoslab.faults.network_iptables import SINK_MARK, ensure_sink, iptables, netns_exists, remove_sink
from chaoslab.runtime.addressing import gateway_address
from chaoslab.runtime.commands import CommandError, run_command
from chaoslab.services.ec2.firewall import Endpoint, SubnetAcl, restore_text
from chaoslab.services.ec2.network_acls import NetworkAcls
from chaoslab.services.ec2.security_groups import SecurityGroups

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """An interface in groups: its addresses, and its namespace where the lab enforces them."""

    ips: tuple[str, ...]
    groups: tuple[str, ...]
    netns: str | None = None
    subnet_id: str | None = None  # where its subnet's network ACL applies


class GroupEnforcer:
    """Membership and enforcement over EC2's group and ACL registries; `subnet_cidr(id)` is a
    subnet's range."""

    def __init__(self, groups: SecurityGroups, acls: NetworkAcls, subnet_cidr: Callable[[str], str]) -> None:
        self.groups = groups
        self.acls = acls
        self.subnet_cidr = subnet_cidr
        self.members: dict[str, Member] = {}  # by owner: unit id, load balancer ARN, ...
        self.endpoints: dict[str, list[Endpoint]] = {}  # by owner: DB cluster
        self.lab_ips: dict[str, str] = {}  # unit namespace -> its VPC's service address
        self._applied: dict[str, str] = {}  # namespace -> the restore text in force
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()
        # Refresh requests and the latest one a finished pass covered: a pass reads the state when
        # it starts, so it serves every request made before then (coalescing, see `refresh`).
        self._asked = self._covered = 0

    def in_use(self, group_id: str) -> bool:
        return any(group_id in m.groups for m in self.members.values()) or any(
            group_id in e.groups for es in self.endpoints.values() for e in es
        )

    async def attach(self, owner: str, member: Member, lab_ip: str | None = None) -> None:
        """Put `owner` in its groups (replacing any earlier membership) and enforce."""
        self.members[owner] = member
        if member.netns and lab_ip:
            self.lab_ips[member.netns] = lab_ip
        await self.refresh()

    def join(self, owner: str, member: Member) -> None:
        """`attach` for callers that cannot wait (a load balancer made by a plain call): the
        membership counts at once, the units' chains follow in the background."""
        self.members[owner] = member
        self._soon()

    def leave(self, owner: str) -> None:
        if self.members.pop(owner, None) is not None:
            self._soon()

    def _soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("security group rules not applied: %s", task.exception())

    async def detach(self, owner: str) -> None:
        member = self.members.pop(owner, None)
        if member and member.netns:
            self._applied.pop(member.netns, None)
            self.lab_ips.pop(member.netns, None)
        await self.refresh()

    async def guard(self, owner: str, endpoints: list[Endpoint]) -> None:
        """Admit to `endpoints` only what their groups' ingress rules admit."""
        self.endpoints[owner] = endpoints
        await self.refresh()

    async def unguard(self, owner: str) -> None:
        if self.endpoints.pop(owner, None) is not None:
            await self.refresh()

    def _addresses(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for member in self.members.values():
            for gid in member.groups:
                out.setdefault(gid, []).extend(member.ips)
        for endpoints in self.endpoints.values():
            for e in endpoints:
                for gid in e.groups:
                    out.setdefault(gid, []).append(e.ip)
        return out

    def text_for(self, member: Member, hook: bool) -> str:
        """What `member`'s namespace should hold now."""
        assert member.netns is not None
        groups = [self.groups.groups[g] for g in member.groups if g in self.groups.groups]
        guarded = [
            (e, [r for g in e.groups if g in self.groups.groups for r in self.groups.groups[g].ingress()])
            for es in self.endpoints.values()
            for e in es
        ]
        return restore_text(
            member.ips[0],
            [r for g in groups for r in g.ingress()],
            [r for g in groups for r in g.egress()],
            self._addresses(),
            guarded,
            self.lab_ips.get(member.netns, "127.0.0.1"),
            hook,
            self._acl(member.subnet_id),
        )

    def _acl(self, subnet_id: str | None) -> SubnetAcl | None:
        found = self.acls.of_subnet(subnet_id) if subnet_id else None
        if subnet_id is None or found is None:
            return None
        cidr = self.subnet_cidr(subnet_id)
        acl = found[1]
        return SubnetAcl(cidr, gateway_address(cidr), acl.rules(egress=False), acl.rules(egress=True))

    async def refresh(self) -> None:
        """Rewrite every unit's chains that differ from what the groups now say. Units that join
        or leave together (a service scaled to 64 tasks) share passes: a caller whose change a
        pass begun after it already applied returns at once, so n joins cost a few passes over
        the members, not n (each of which rewrites every member of a self-referencing group)."""
        self._asked += 1
        mine = self._asked
        async with self._lock:
            if self._covered >= mine:
                return
            covers = self._asked
            await self._pass()
            self._covered = covers

    async def _pass(self) -> None:
        for owner, member in list(self.members.items()):
            if member.netns is None:
                continue
            if not netns_exists(member.netns):  # the unit is gone: so is its membership
                self.members.pop(owner, None)
                self._applied.pop(member.netns, None)
                continue
            hook = member.netns not in self._applied
            wanted = self.text_for(member, hook=False)
            if not hook and self._applied[member.netns] == wanted:
                continue
            previous = self._applied.get(member.netns, "")
            await _restore(member.netns, self.text_for(member, hook) if hook else wanted, previous)
            self._applied[member.netns] = wanted


async def _restore(netns: str, text: str, previous: str) -> None:
    """Apply a unit's chains, with the namespace's packet sink while they mark packets into it
    (removed again, as the faults remove it, once nothing marks any more); a namespace that
    vanished meanwhile has nothing left to guard."""
    try:
        if SINK_MARK in text:
            await ensure_sink(netns)
        await run_command(["ip", "netns", "exec", netns, "iptables-restore", "-w", "5", "--noflush"], stdin=text)
        if SINK_MARK in previous and SINK_MARK not in text:
            _, mangle = await iptables(netns, "mangle", ["-S"], check=False)
            if SINK_MARK.split("/")[0] not in mangle:
                await remove_sink(netns)
    except CommandError:
        if netns_exists(netns):
            raise
