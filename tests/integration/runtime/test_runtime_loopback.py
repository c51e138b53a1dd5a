"""Loopback mode (no root / not Linux): each unit gets its own 127.0.<1+az>.<n> address, which
needs no setup; the rest of the Sandbox API behaves the same or says plainly what it cannot do."""

from __future__ import annotations

import asyncio
import sys
import urllib.request

import pytest
from runtime_hostprobe import unit_env

from chaoslab.errors import AwsError, ChaoslabError
from chaoslab.runtime.network import VpcNetwork

PY = sys.executable
SUBNETS = {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"}


def _free_port(ip: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def test_loopback_units_bind_their_own_address(store, lab_run):
    async def main():
        net = VpcNetwork(store, lab_run, "vpc-1", "10.0.0.0/16", SUBNETS, mode="loopback")
        assert net.mode == "loopback" and net.service_ip == "127.0.0.1" and net.bridge is None
        await net.create()
        a = await net.allocate("us-east-1a")
        b = await net.allocate("us-east-1b")
        a2 = await net.allocate("us-east-1a")
        assert (a.ip, b.ip, a2.ip) == ("127.0.1.4", "127.0.2.4", "127.0.1.5")
        assert a.netns is None and a.mac is None
        port = _free_port(a.ip)
        lines: list[str] = []
        unit = await a.spawn(
            "web",
            [PY, "-m", "http.server", str(port), "--bind", a.ip],
            env=unit_env(),
            on_output=lambda s, item: lines.append(item),
        )
        for _ in range(100):
            try:
                status = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(f"http://{a.ip}:{port}/", timeout=2).status
                )
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert status == 200
        # the address is the unit's alone: the same port on its neighbour's address is closed
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{b.ip}:{port}/", timeout=2)
        await a.set_link(False)  # nothing to pull in loopback mode; documented no-op
        assert not a.link_up
        with pytest.raises(ChaoslabError):
            await a.run(["true"])
        await net.destroy()
        assert not unit.running and net.sandboxes == []
        assert list(store.owned_processes()) == []
        c = VpcNetwork(store, lab_run, "vpc-1", "10.0.0.0/16", SUBNETS, mode="loopback")
        with pytest.raises(AwsError) as err:
            await c.allocate("eu-west-1a")
        assert err.value.code == "InvalidParameterValue"

    asyncio.run(main())
