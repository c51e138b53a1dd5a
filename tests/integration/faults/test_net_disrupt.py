"""aws:network:disrupt-connectivity on a real subnet: its ACL is swapped for a deny ACL that
DescribeNetworkAcls shows while the action runs, its units are cut off (scope all keeps
intra-subnet traffic, as a NACL does), a unit launched into it meanwhile is cut off too, scope
availability-zone cuts only cross-AZ traffic, and the revert restores each unit exactly."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from net_lab import connects, context, cut_off, in_unit, needs_netns, net_lab, rules_of, run_for

from chaoslab.services.ec2.api_network_acls import describe_network_acls
from chaoslab.services.fis.executors import ActionFailure
from chaoslab.services.fis.selection import Resource

pytestmark = needs_netns


def subnet_resource(lab: Any, az: str) -> Resource:
    rec = next(r for r in lab.ec2.describe_subnet_records() if r["AvailabilityZone"] == az)
    return Resource(rec["SubnetArn"], "aws:ec2:subnet", rec, {})


def subnet_acl(lab: Any, az: str) -> tuple[bool, dict[str, str], int]:
    """DescribeNetworkAcls for the subnet (the API's own handler): is its ACL the default, its
    tags, and how many ACLs the VPC has."""
    subnet = subnet_resource(lab, az).record["SubnetId"]
    ctx = SimpleNamespace(lab=lab, account_id="123456789012", region="us-east-1")
    (acl,) = describe_network_acls(ctx, {"Filters": [{"Name": "association.subnet-id", "Values": [subnet]}]})[
        "NetworkAcls"
    ]
    every = describe_network_acls(ctx, {})["NetworkAcls"]
    return acl["IsDefault"], {t["Key"]: t["Value"] for t in acl["Tags"]}, len(every)


def reach(targets: list[tuple[str, int]]) -> str:
    """In-unit probe: which (ip, port) accept a TCP connection within a second."""
    return (
        "import socket,json\nout=[]\n"
        f"for ip, port in {targets!r}:\n    s=socket.socket(); s.settimeout(1.0)\n"
        "    out.append(s.connect_ex((ip, port)) == 0); s.close()\nprint(json.dumps(out))"
    )


async def stop(running: asyncio.Task[None]) -> None:
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def scenario(home: Path) -> dict[str, Any]:
    async with net_lab(home) as lab:
        a1, a2, b1 = [
            await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet(az))
            for az in ("us-east-1a", "us-east-1a", "us-east-1b")
        ]
        service_ip = lab.ec2.network_of(a1.subnet).service_ip
        server = await asyncio.start_server(lambda r, w: w.close(), service_ip, 0)
        svc_port = server.sockets[0].getsockname()[1]
        peers = [(a2.private_ip, 80), (b1.private_ip, 80), (service_ip, svc_port)]
        before = {i.instance_id: await rules_of(i.unit) for i in (a1, a2, b1)}
        assert await in_unit(a1.unit, reach(peers)) == [True, True, True]

        ctx = context(lab, "aws:network:disrupt-connectivity")
        running = await run_for(
            ctx,
            "network.disrupt_connectivity",
            {"Subnets": [subnet_resource(lab, "us-east-1a")]},
            {"duration": "PT10M", "scope": "all"},
        )
        out: dict[str, Any] = {
            "acl_during": subnet_acl(lab, "us-east-1a"),
            "host_to_a1": await connects(a1.private_ip, 80, 1.0),
            "host_to_b1": await connects(b1.private_ip, 80, 1.0),
            "a1_reaches": await in_unit(a1.unit, reach(peers)),
        }
        await stop(running)
        await ctx.revert_all()
        out["a1_after"] = await in_unit(a1.unit, reach(peers))
        out["acl_after"] = subnet_acl(lab, "us-east-1a")
        out["restored"] = all([before[i.instance_id] == await rules_of(i.unit) for i in (a1, a2, b1)])

        ctx = context(lab, "aws:network:disrupt-connectivity")
        running = await run_for(
            ctx,
            "network.disrupt_connectivity",
            {"Subnets": [subnet_resource(lab, "us-east-1a")]},
            {"duration": "PT10M", "scope": "availability-zone"},
        )
        out["az_host_to_a1"] = await connects(a1.private_ip, 80, 1.0)
        out["az_a1_reaches"] = await in_unit(a1.unit, reach(peers))
        await stop(running)
        await ctx.revert_all()
        out["az_restored"] = before[a1.instance_id] == await rules_of(a1.unit)

        # Last, because a new unit on the bridge can change the bridge's MAC under the others'
        # neighbour caches (see the report): a unit launched into the subnet during the action
        # is cut off within a poll or two, and reachable once the action ends.
        ctx = context(lab, "aws:network:disrupt-connectivity")
        running = await run_for(
            ctx,
            "network.disrupt_connectivity",
            {"Subnets": [subnet_resource(lab, "us-east-1a")]},
            {"duration": "PT10M", "scope": "all"},
        )
        launch = asyncio.create_task(lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a")))
        late = None
        started = time.monotonic()
        while time.monotonic() - started < 10:
            late = next(
                (i for i in lab.ec2.instances.values() if i not in (a1, a2, b1) and i.unit and i.unit.sandbox), None
            )
            if late and await cut_off(late.unit):
                break
            await asyncio.sleep(0.1)
        out["late_cut_after_s"] = time.monotonic() - started
        assert late is not None
        out["host_to_late"] = await connects(late.private_ip, 80, 1.0)
        await stop(running)
        await ctx.revert_all()
        await launch
        out["after"] = [await connects(i.private_ip, 80, 2.0) for i in (a1, late)]

        ctx = context(lab, "aws:network:disrupt-connectivity")
        with pytest.raises(ActionFailure) as refused:
            await run_for(
                ctx,
                "network.disrupt_connectivity",
                {"Subnets": [subnet_resource(lab, "us-east-1a")]},
                {"duration": "PT10M", "scope": "vpc"},
            )
        out["vpc_refused"] = refused.value.code
        server.close()
    return out


def test_disrupt_connectivity_subnet(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    print(got)
    assert got["host_to_a1"] is False and got["host_to_b1"] is True, got
    assert got["a1_reaches"] == [True, False, False], got  # same subnet only
    assert got["host_to_late"] is False and got["late_cut_after_s"] < 3, got
    assert got["after"] == [True, True] and got["a1_after"] == [True, True, True] and got["restored"], got
    assert got["az_host_to_a1"] is True and got["az_a1_reaches"] == [True, False, True], got
    assert got["az_restored"] and got["vpc_refused"] == "ConfigurationFailure", got
    # as FIS does it: the subnet's ACL swapped for a deny ACL while the action runs, then back
    assert got["acl_during"] == (False, {"managedByFIS": "true"}, 2), got
    assert got["acl_after"] == (True, {}, 1), got
