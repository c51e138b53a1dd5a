"""EC2 rules on the fake runtime: an instance's app follows the instance's state, and an app
that dies on its own leaves the instance running."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from fake_lab import fake_lab, until


def test_stop_and_start_stop_the_app_and_start_a_new_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"), port=8080)
        assert inst.state == "running"
        [app] = lab.runtime.running(f"{inst.instance_id}/app")
        assert (app.spec.image, app.spec.port) == ("chaoslab/static", 8080)
        await lab.ec2.stop_instances([inst.instance_id])
        await until(lambda: inst.state == "stopped")
        assert app.signals == [signal.SIGTERM] and not inst.unit.sandbox.link_up  # unplugged
        await lab.ec2.start_instances([inst.instance_id])
        await until(lambda: inst.state == "running")
        [again] = lab.runtime.running(f"{inst.instance_id}/app")
        assert again is not app
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_force_stop_kills_the_app(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1b"))
        [app] = lab.runtime.running(f"{inst.instance_id}/app")
        await lab.ec2.stop_instances([inst.instance_id], force=True)
        await until(lambda: inst.state == "stopped")
        assert app.signals == [signal.SIGKILL]
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_an_app_that_dies_leaves_the_instance_running(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"))
        [app] = lab.runtime.running(f"{inst.instance_id}/app")
        app.exit(-signal.SIGKILL)
        await asyncio.sleep(0.05)
        assert inst.state == "running"
        [event] = lab.events.since(0, {"unit.process_exit"})
        assert (event["unit_id"], event["code"]) == (inst.instance_id, -signal.SIGKILL)
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_terminate_stops_the_app_and_releases_the_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        inst = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"))
        [app] = lab.runtime.running(f"{inst.instance_id}/app")
        network = lab.ec2.network_of(inst.subnet)
        await lab.ec2.terminate_instances([inst.instance_id])
        await until(lambda: inst.state == "terminated")
        assert not app.running and not network.sandboxes
        await lab.ec2.stop()

    asyncio.run(scenario())
