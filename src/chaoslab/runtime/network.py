"""`VpcNetwork`: one VPC on this host — a Linux bridge the units' veths plug into (netns mode),
or a block of loopback addresses (loopback mode, for non-root or non-Linux hosts).

Every namespace, link, neighbour entry and route is recorded in the store *before* it is made,
so `cleanup_leftovers` can remove exactly what a crashed lab left behind and nothing else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import subprocess
from collections.abc import Mapping
from typing import Literal

from chaoslab.errors import AwsError, ChaoslabError
from chaoslab.runtime import addressing as plan
from chaoslab.runtime.commands import CommandError, run_command
from chaoslab.runtime.hostcaps import probe, single_uid_namespace
from chaoslab.runtime.linklocal import ADDRESSES, Handler, LinkLocalServer
from chaoslab.runtime.sandbox import (
    UNIT_IFNAME,
    Sandbox,
    hosts_file,
    kill_namespace_processes,
    remove_sandbox_resources,
    resolv_file,
)
from chaoslab.store import Store

Mode = Literal["auto", "netns", "loopback"]
log = logging.getLogger(__name__)


def detect_mode(requested: Mode = "auto") -> Literal["netns", "loopback"]:
    """netns when asked, or (auto) when this process can build namespaces itself (the probe in
    `hostcaps` really makes one); otherwise loopback. An ordinary user's lab gets netns by
    running inside a user namespace of its own (`runtime.userns`), where it is root."""
    if requested != "auto":
        return requested
    return "netns" if probe().mode == "netns" else "loopback"


class VpcNetwork:
    """One VPC: address pools per AZ plus, in netns mode, the bridge and host routes."""

    def __init__(
        self,
        store: Store,
        lab_run: str,
        vpc_id: str,
        cidr: str,
        subnets: Mapping[str, str],
        mode: Mode = "auto",
    ) -> None:
        self.vpc_id = vpc_id
        self.cidr = str(ipaddress.IPv4Network(cidr))
        self.subnets = dict(subnets)
        self._store = store
        self._lab_run = lab_run
        self._mode = detect_mode(mode)
        self._prefixlen = ipaddress.IPv4Network(cidr).prefixlen
        if self._mode == "netns":
            self.bridge: str | None = plan.bridge_name(lab_run, vpc_id)
            self._pools = {az: plan.AddressPool.for_subnet(sn, self.cidr) for az, sn in self.subnets.items()}
        else:
            self.bridge = None
            self._pools = {az: plan.AddressPool.for_loopback(i) for i, az in enumerate(self.subnets)}
        self._sandboxes: set[Sandbox] = set()
        self._created = False
        self._owns_route = False
        self._create_lock = asyncio.Lock()
        self._serve_lock = asyncio.Lock()
        self._link_local: dict[tuple[str, int], LinkLocalServer] = {}

    @property
    def mode(self) -> Literal["netns", "loopback"]:
        return self._mode

    @property
    def service_ip(self) -> str:
        """Where lab services (DB endpoints) listen so that units can reach them."""
        return plan.service_address(self.cidr) if self._mode == "netns" else "127.0.0.1"

    @property
    def host_addresses(self) -> list[str]:
        """The host's own addresses on the VPC (one per subnet), where connections it makes to
        units come from; none in loopback mode."""
        if self._mode != "netns":
            return []
        return [plan.gateway_address(sn) for sn in self.subnets.values()]

    @property
    def sandboxes(self) -> list[Sandbox]:
        return list(self._sandboxes)

    def _own(self, kind: str, name: str) -> None:
        self._store.own_resource(kind, name, self._lab_run)

    async def create(self) -> None:
        """Claim the VPC range on the host and build the bridge. Fails cleanly (nothing left
        behind) if another lab already routes this CIDR."""
        async with self._create_lock:
            if not self._created:
                if self._mode == "netns":
                    _record_scope(self._store)
                    await self._create_bridge()
                self._created = True

    async def _create_bridge(self) -> None:
        route = f"unreachable {self.cidr}"
        recorded_before = route in self._store.owned_resources("route")
        self._own("route", route)
        rc, out = await run_command(["ip", "route", "add", *route.split()], check=False)
        if rc != 0:
            if not recorded_before:  # a sibling VPC of this lab may own the record
                self._store.disown_resource("route", route)
            raise ChaoslabError(
                f"cannot claim VPC range {self.cidr} on this host: {out.strip()}",
                hint="another lab (or something else) already routes it; stop it or use another CIDR",
            )
        self._owns_route = True
        try:
            assert self.bridge is not None
            self._own("link", self.bridge)
            # A fixed address: otherwise Linux gives the bridge its lowest port's MAC and changes it as
            # units join, and units that cached the old one lose the service address for seconds.
            await run_command(
                ["ip", "link", "add", "name", self.bridge, "address", plan.mac_for(self.service_ip), "type", "bridge"]
            )
            for subnet in self.subnets.values():
                gateway = f"{plan.gateway_address(subnet)}/{ipaddress.IPv4Network(subnet).prefixlen}"
                await run_command(["ip", "addr", "add", gateway, "dev", self.bridge])
            await run_command(["ip", "addr", "add", f"{self.service_ip}/32", "dev", self.bridge])
            for address in ADDRESSES:  # the metadata endpoints (runtime/linklocal.py)
                await run_command(["ip", "addr", "add", f"{address}/32", "dev", self.bridge])
            await run_command(["ip", "link", "set", self.bridge, "up"])
        except BaseException:
            await self.destroy()
            raise

    async def allocate(self, az: str, hosts: Mapping[str, str] | None = None) -> Sandbox:
        """A new unit identity in `az`'s subnet. `hosts` adds /etc/hosts entries inside it."""
        if az not in self._pools:
            raise AwsError("InvalidParameterValue", f"VPC {self.vpc_id} has no subnet in {az}", 400)
        await self.create()
        pool = self._pools[az]
        ip = pool.allocate()
        if self._mode == "loopback":
            sandbox = Sandbox(store=self._store, lab_run=self._lab_run, ip=ip, az=az, release=self._release)
            self._sandboxes.add(sandbox)
            return sandbox
        netns, veth = plan.sandbox_names()
        mac = plan.mac_for(ip)
        neigh = f"{ip} dev {self.bridge}"
        try:
            await self._build_sandbox(netns, veth, ip, mac, neigh, hosts or {})
        except BaseException:
            await remove_sandbox_resources(self._store, netns, veth, neigh)
            pool.release(ip)
            raise
        sandbox = Sandbox(
            store=self._store,
            lab_run=self._lab_run,
            ip=ip,
            az=az,
            netns=netns,
            veth=veth,
            bridge=self.bridge,
            mac=mac,
            lab_ip=self.service_ip,
            release=self._release,
        )
        self._sandboxes.add(sandbox)
        return sandbox

    async def _build_sandbox(
        self, netns: str, veth: str, ip: str, mac: str, neigh: str, hosts: Mapping[str, str]
    ) -> None:
        assert self.bridge is not None
        self._own("netns", netns)
        await run_command(["ip", "netns", "add", netns])
        _write_hosts(netns, ip, hosts)
        _write_resolv(netns, self.service_ip)
        # Two `ip -batch` runs instead of one `ip` per step: each exec costs tens of ms, and a
        # unit's start waits for all of them. A batch stops at its first failing line.
        self._own("link", veth)
        # A permanent neighbour entry means the host never ARPs for the unit: when its link goes
        # down, frames are silently dropped (connect timeout) instead of EHOSTUNREACH after ARP fails.
        self._own("neigh", neigh)
        host_side = [
            f"link add {veth} type veth peer name {UNIT_IFNAME} address {mac} netns {netns}",
            f"link set {veth} master {self.bridge} up",
            f"neigh replace {ip} lladdr {mac} dev {self.bridge} nud permanent",
        ]
        await run_command(["ip", "-batch", "-"], stdin="\n".join(host_side) + "\n")
        unit_side = [
            "link set lo up",
            f"addr add {ip}/{self._prefixlen} dev {UNIT_IFNAME}",
            f"link set {UNIT_IFNAME} up",
            *(f"route add {address}/32 dev {UNIT_IFNAME}" for address in ADDRESSES),
        ]
        await run_command(["ip", "-n", netns, "-batch", "-"], stdin="\n".join(unit_side) + "\n")

    async def serve(self, address: str, port: int, ip: str, handler: Handler) -> bool:
        """Answer requests from unit `ip` to link-local `address:port` with `handler`; False in
        loopback mode, where units share the host's network and there is no private path."""
        if self._mode == "loopback" or self.bridge is None:
            return False
        async with self._serve_lock:  # units start together: only the first may bind the endpoint
            server = self._link_local.get((address, port))
            if server is None:
                server = LinkLocalServer(self.bridge, address, port)
                try:
                    await server.start()
                except OSError as exc:  # e.g. something on the host holds *:80 for every device
                    log.warning("cannot serve %s:%d to the units of %s: %s", address, port, self.vpc_id, exc)
                    return False
                self._link_local[(address, port)] = server
        server.handlers[ip] = handler
        return True

    def unserve(self, ip: str) -> None:
        """Forget unit `ip`'s handlers (it is going away; its address may be reused)."""
        for server in self._link_local.values():
            server.handlers.pop(ip, None)

    def _release(self, sandbox: Sandbox) -> None:
        self._sandboxes.discard(sandbox)
        pool = self._pools.get(sandbox.az)
        if pool is not None:
            pool.release(sandbox.ip)

    async def destroy(self) -> None:
        """Remove every sandbox, the bridge and the route. Safe to call twice."""
        for sandbox in list(self._sandboxes):
            await sandbox.destroy()
        self._created = False
        for server in self._link_local.values():
            await server.close()
        self._link_local.clear()
        if self._mode == "loopback" or self.bridge is None:
            return
        await run_command(["ip", "link", "del", self.bridge], check=False)
        self._store.disown_resource("link", self.bridge)
        if self._owns_route:
            route = f"unreachable {self.cidr}"
            await run_command(["ip", "route", "del", *route.split()], check=False)
            self._store.disown_resource("route", route)
            self._owns_route = False


_SCOPE_KIND, _SCOPE_ID = "runtime", "network-scope"
_NETWORK_KINDS = ("netns", "neigh", "link", "route")


def _record_scope(store: Store) -> None:
    """Say where this lab's namespaces, links and routes live: on the host, or inside the lab's
    own user namespace (`userns` mode), where a crash recovery from outside must not touch them."""
    store.put(_SCOPE_KIND, _SCOPE_ID, {"scope": "userns" if single_uid_namespace() else "host"})


def _forget_network_records(store: Store) -> None:
    for kind in _NETWORK_KINDS:
        for name in store.owned_resources(kind):
            store.disown_resource(kind, name)


def _write_hosts(netns: str, ip: str, extra: Mapping[str, str]) -> None:
    """The unit's /etc/hosts (bound over the real one when its programs start): `localhost` is
    the unit's own, its EC2-style name resolves to its IP, and DB hostnames resolve as given."""
    short = "ip-" + ip.replace(".", "-")
    lines = ["127.0.0.1 localhost", "::1 localhost", f"{ip} {short}.ec2.internal {short}"]
    lines += [f"{addr} {name}" for name, addr in extra.items()]
    path = hosts_file(netns)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_resolv(netns: str, resolver: str) -> None:
    """The unit's /etc/resolv.conf: the VPC's DNS server at `resolver`, the `.2` of the VPC's
    range as on AWS, which answers Cloud Map's names and refuses every other name at once."""
    path = resolv_file(netns)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"nameserver {resolver}\noptions timeout:2 attempts:2\n")


async def cleanup_leftovers(store: Store) -> list[str]:
    """Remove every namespace, neighbour entry, link and route recorded in `store` (by a lab
    run that crashed) and disown them. Only names with our prefixes are touched: a record that
    names anything else is dropped without acting on it. Returns what was removed."""
    removed: list[str] = []
    if store.get(_SCOPE_KIND, _SCOPE_ID) == {"scope": "userns"}:
        # They lived in that lab's private namespaces, which died with its processes: none of the
        # names means anything here, and a route of the same CIDR here would be someone else's.
        _forget_network_records(store)
        return removed
    for netns in store.owned_resources("netns"):
        if netns.startswith(plan.NETNS_PREFIX):
            await kill_namespace_processes(netns)
            await remove_sandbox_resources(store, netns, None, None)
            removed.append(f"netns {netns}")
        store.disown_resource("netns", netns)
    for neigh in store.owned_resources("neigh"):
        parts = neigh.split()
        if len(parts) == 3 and parts[2].startswith(plan.BRIDGE_PREFIX):
            await run_command(["ip", "neigh", "del", parts[0], "dev", parts[2]], check=False)
        store.disown_resource("neigh", neigh)
    # veths first: a bridge goes last so no port is left dangling while we work.
    links = sorted(store.owned_resources("link"), key=lambda n: n.startswith(plan.BRIDGE_PREFIX))
    for link in links:
        if link.startswith((plan.VETH_PREFIX, plan.BRIDGE_PREFIX)):
            rc, _ = await run_command(["ip", "link", "del", link], check=False)
            if rc == 0:
                removed.append(f"link {link}")
        store.disown_resource("link", link)
    for route in store.owned_resources("route"):
        parts = route.split()
        if len(parts) == 2 and parts[0] == "unreachable":
            try:
                await run_command(["ip", "route", "del", *parts])
                removed.append(f"route {route}")
            except CommandError:
                pass  # already gone
        store.disown_resource("route", route)
    return removed


def unused_vpc_octet(preferred: int) -> int:
    """The first 10.<n>.0.0/16 from `preferred` up that no route on this host uses (another lab's),
    so a second lab can run beside the first."""
    done = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True, check=False)
    routes = " " + done.stdout.replace("\n", " ")
    return next(n for n in range(preferred, 250) if f" 10.{n}." not in routes)
