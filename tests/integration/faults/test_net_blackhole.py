"""aws:ecs:task-network-blackhole-port on a real task: the port times out while another port of
the same task answers, and after the revert the namespace's iptables are exactly as before."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from net_lab import (
    connects,
    context,
    in_unit,
    needs_netns,
    net_lab,
    rules_of,
    run_for,
    static_task,
    task_resource,
    wait_port,
)

pytestmark = needs_netns


async def scenario(home: Path) -> None:
    async with net_lab(home) as lab:
        task = await static_task(lab)
        unit = task.unit
        await unit.spawn_extra("second-port", [sys.executable, "-m", "http.server", "8081", "--bind", "0.0.0.0"])
        await wait_port(task.private_ip, 8081)
        before = await rules_of(unit)

        ctx = context(lab, "aws:ecs:task-network-blackhole-port")
        running = await run_for(
            ctx,
            "ecs.task_network_blackhole_port",
            {"Tasks": [task_resource(task)]},
            {"duration": "PT1M", "port": "80", "trafficType": "ingress", "protocol": "tcp"},
        )
        assert not await connects(task.private_ip, 80, 1.0), "the blackholed port still answers"
        assert await connects(task.private_ip, 8081, 1.0), "another port of the task must keep working"
        assert "--dport 80 -j DROP" in await rules_of(unit)
        await running
        await ctx.revert_all()
        assert await rules_of(unit) == before
        assert await connects(task.private_ip, 80, 2.0)

        # egress: the task cannot reach port A of the host's service address, port B still works
        service_ip = lab.ec2.network_of(task.subnet).service_ip
        servers = [await asyncio.start_server(lambda r, w: w.close(), service_ip, 0) for _ in range(2)]
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        probe = (
            f"import socket,json\nout=[]\nfor p in {ports}:\n"
            f"    s=socket.socket(); s.settimeout(1.0)\n"
            f"    out.append(s.connect_ex(('{service_ip}', p)) == 0)\nprint(json.dumps(out))"
        )
        ctx = context(lab, "aws:ecs:task-network-blackhole-port")
        running = await run_for(
            ctx,
            "ecs.task_network_blackhole_port",
            {"Tasks": [task_resource(task)]},
            {"duration": "PT1M", "port": str(ports[0]), "trafficType": "egress"},
        )
        assert await in_unit(unit, probe) == [False, True]
        await running
        await ctx.revert_all()
        assert await in_unit(unit, probe) == [True, True]
        assert await rules_of(unit) == before
        for s in servers:
            s.close()


def test_blackhole_port_ingress_and_egress(tmp_path: Path) -> None:
    asyncio.run(scenario(tmp_path))
