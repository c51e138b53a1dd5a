"""Units in network namespaces on a VPC bridge: addresses from their AZ's subnet, reachable
from the host and each other, nothing off the VPC, and a pulled link that times out."""

from __future__ import annotations

import asyncio
import errno
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from runtime_hostprobe import host_links, host_netns, host_routes, needs_netns, unit_env

from chaoslab.errors import ChaoslabError
from chaoslab.runtime.network import VpcNetwork

pytestmark = needs_netns

PY = sys.executable
SERVER = [PY, "-m", "http.server", "80", "--bind", "0.0.0.0"]
FETCH = "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=3).status)"


async def _wait_port(ip: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 1)
            writer.close()
            return
        except (TimeoutError, OSError):
            assert time.monotonic() < deadline, f"{ip}:{port} never came up"
            await asyncio.sleep(0.05)


def _http_status(ip: str) -> int:
    return urllib.request.urlopen(f"http://{ip}/", timeout=3).status


def test_units_in_two_azs_reach_each_other_and_nothing_off_the_vpc(store, lab_run, vpc, no_leftovers):
    cidr, subnets = vpc

    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets, mode="auto")
        assert net.mode == "netns"
        await net.create()
        try:
            a = await net.allocate("us-east-1a", hosts={"db.cluster.local": net.service_ip})
            b = await net.allocate("us-east-1b")
            assert a.ip == subnets["us-east-1a"].replace(".0/24", ".4")
            assert b.ip == subnets["us-east-1b"].replace(".0/24", ".4")
            assert a.netns != b.netns and a.mac != b.mac
            for s in (a, b):
                await s.spawn("web", SERVER, env=unit_env())
            for s in (a, b):
                await _wait_port(s.ip, 80)
            # host -> unit on its VPC address
            assert await asyncio.to_thread(_http_status, a.ip) == 200
            # unit -> unit across AZs
            assert await b.run([PY, "-c", FETCH, f"http://{a.ip}/"]) == (0, "200\n")
            # localhost inside a unit is its own server, not the host's
            assert await a.run([PY, "-c", FETCH, "http://localhost/"]) == (0, "200\n")
            # DB hostnames given to allocate() resolve inside the unit
            rc, out = await a.run(["getent", "hosts", "db.cluster.local"])
            assert rc == 0 and out.split()[0] == net.service_ip
            # the service address on the bridge is reachable from a unit
            srv = await asyncio.start_server(lambda r, w: w.close(), net.service_ip, 0)
            port = srv.sockets[0].getsockname()[1]
            probe = f"import socket;socket.create_connection(('db.cluster.local',{port}),2);print('ok')"
            assert await a.run([PY, "-c", probe]) == (0, "ok\n")
            srv.close()
            # nothing outside the VPC: no default route in the unit
            probe = "import socket\ntry:\n socket.create_connection(('192.0.2.1',80),2)\nexcept OSError as e:\n print(e.errno)"
            started = time.monotonic()
            assert await a.run([PY, "-c", probe]) == (0, f"{errno.ENETUNREACH}\n")
            assert time.monotonic() - started < 1.5  # at once, not a timeout
            rc, out = await a.run(["ip", "route", "show"])
            assert "default" not in out and f"{cidr} dev eth0" in out
            # the host claims the rest of the VPC: an unused address is `unreachable`
            unused = cidr.replace(".0.0/16", ".99.9")
            route = subprocess.run(["ip", "route", "get", unused], capture_output=True, text=True)
            assert route.returncode != 0 and "No route to host" in route.stderr
            assert f"unreachable {cidr}" in host_routes()
        finally:
            await net.destroy()
        assert f"unreachable {cidr}" not in host_routes()
        assert not any(store.owned_resources(k) for k in ("netns", "link", "route", "neigh"))
        assert list(store.owned_processes()) == []

    asyncio.run(main())


def test_pulled_link_times_out_and_comes_back(store, lab_run, vpc, no_leftovers):
    cidr, subnets = vpc

    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets)
        try:
            unit = await net.allocate("us-east-1a")
            await unit.spawn("web", SERVER, env=unit_env())
            await _wait_port(unit.ip, 80)
            await unit.set_link(False)
            assert not unit.link_up
            started = time.monotonic()
            with pytest.raises((TimeoutError, socket.timeout)):
                socket.create_connection((unit.ip, 80), timeout=1.0)
            assert time.monotonic() - started >= 0.9  # a timeout, not a fast EHOSTUNREACH
            await unit.set_link(True)
            await _wait_port(unit.ip, 80, timeout=3)
            assert await asyncio.to_thread(_http_status, unit.ip) == 200
        finally:
            await net.destroy()

    asyncio.run(main())


def test_destroyed_sandbox_frees_its_address_and_kills_strays(store, lab_run, vpc, no_leftovers):
    cidr, subnets = vpc

    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets)
        try:
            unit = await net.allocate("us-east-1a")
            # a daemon that escapes the unit's process group must still die with the sandbox
            await unit.run(["sh", "-c", "setsid sleep 60 >/dev/null 2>&1 < /dev/null &"])
            rc, pids = await unit.run(["ip", "netns", "pids", unit.netns])
            assert pids.split()
            netns = unit.netns
            await unit.destroy()
            await unit.destroy()  # idempotent
            assert netns not in host_netns() and unit.veth not in host_links()
            for pid in pids.split():
                assert not _running(int(pid))
            assert net.sandboxes == []
            with pytest.raises(ChaoslabError):
                await unit.spawn("late", ["true"])
        finally:
            await net.destroy()
            await net.destroy()  # idempotent

    asyncio.run(main())


def test_a_claimed_vpc_range_is_refused_cleanly(store, lab_run, vpc, no_leftovers):
    cidr, subnets = vpc

    async def main():
        first = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets)
        await first.create()
        try:
            second = VpcNetwork(store, lab_run, "vpc-2", cidr, subnets)
            with pytest.raises(ChaoslabError, match="cannot claim VPC range"):
                await second.create()
            assert second.bridge not in host_links()
        finally:
            await first.destroy()

    asyncio.run(main())


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_concurrent_allocations_share_one_bridge_and_get_distinct_addresses(store, lab_run, vpc, no_leftovers):
    cidr, subnets = vpc

    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets)
        try:
            units = await asyncio.gather(*(net.allocate(az) for az in ["us-east-1a", "us-east-1b"] * 3))
            assert len({u.ip for u in units}) == 6 and len({u.netns for u in units}) == 6
            assert len(store.owned_resources("netns")) == 6
            rc, out = await units[0].run(["getent", "hosts", "localhost"])
            assert rc == 0 and out.split()[0] in ("127.0.0.1", "::1")
            short = "ip-" + units[0].ip.replace(".", "-")
            rc, out = await units[1].run(["getent", "hosts", short])
            assert rc != 0  # each unit knows only its own EC2-style name
            rc, out = await units[0].run(["getent", "hosts", short])
            assert rc == 0 and out.split()[0] == units[0].ip
        finally:
            await net.destroy()

    asyncio.run(main())


def test_units_provisioned_together_all_get_the_link_local_endpoint(store, lab_run, vpc, no_leftovers):
    """Regression: units set up at once raced to bind the endpoint's socket; every one after the
    first was refused (address in use) and went without its metadata service."""
    from aiohttp import web

    from chaoslab.runtime.linklocal import ADDRESSES

    cidr, subnets = vpc

    def answer(ip: str):
        async def handler(request: web.BaseRequest) -> web.Response:
            return web.Response(text=ip)

        return handler

    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", cidr, subnets)
        try:
            units = await asyncio.gather(*(net.allocate(az) for az in ["us-east-1a", "us-east-1b"] * 3))
            served = await asyncio.gather(*(net.serve(ADDRESSES[1], 80, u.ip, answer(u.ip)) for u in units))
            assert served == [True] * len(units)
            fetch = "import urllib.request;print(urllib.request.urlopen('http://%s/',timeout=3).read().decode())"
            answers = await asyncio.gather(*(u.run([PY, "-c", fetch % ADDRESSES[1]]) for u in units))
            assert [out.strip() for _, out in answers] == [u.ip for u in units]
        finally:
            await net.destroy()

    asyncio.run(main())
