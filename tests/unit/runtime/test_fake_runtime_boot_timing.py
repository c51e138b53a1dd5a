"""An instance's boot in two steps of the timing profile (docs/timing.md), on the fake runtime:
`ec2_boot_s` from pending to running, then, at the first boot of an instance with user data,
`ec2_user_data_s` (cloud-init) before the script starts; each overridable alone. Constant
overrides on a clock twenty times faster than the wall."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fake_lab import fake_lab, until

from chaoslab.clock import LabClock
from chaoslab.timing import Timing

SCALE = 20
SLACK = 4.0  # scenario seconds (0.2 s of wall time) a loaded machine may add to a wait
SCRIPT = "#!/bin/bash\npython3 server.py &\n"


def timing(**overrides: float) -> Timing:
    armed = Timing("aws", dict(overrides))
    armed.arm()
    return armed


def test_running_after_the_boot_then_the_user_data_after_cloud_init(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, float]:
        lab = await fake_lab(tmp_path)
        lab.clock, lab.config.timing = LabClock(SCALE), timing(ec2_boot_s=6, ec2_user_data_s=8)
        loop = asyncio.get_running_loop()
        inst = lab.ec2.launch_instance("ami-0abc", lab.ec2.subnet("us-east-1a"), user_data=SCRIPT, port=8000)
        began = loop.time()
        lab.ec2.boot_soon(inst)
        await until(lambda: inst.state == "running")
        running = loop.time()
        assert lab.runtime.running(f"{inst.instance_id}/user-data") == []  # cloud-init has not run it yet
        await until(lambda: lab.runtime.running(f"{inst.instance_id}/user-data"))
        script = loop.time()
        await lab.ec2.stop()
        return (running - began) * SCALE, (script - running) * SCALE

    boot, user_data = asyncio.run(scenario())
    assert 6 <= boot < 6 + SLACK
    assert 8 - 0.5 <= user_data < 8 + SLACK  # polling sees `running` up to 10 ms late


def test_the_user_data_delay_alone_a_stop_during_cloud_init_and_an_instance_without_user_data(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        lab.clock, lab.config.timing = LabClock(SCALE), timing(ec2_boot_s=0, ec2_user_data_s=200)
        inst = lab.ec2.launch_instance("ami-0abc", lab.ec2.subnet("us-east-1a"), user_data=SCRIPT, port=8000)
        lab.ec2.boot_soon(inst)
        await until(lambda: inst.state == "running", timeout=1)  # the boot is instant, cloud-init is not
        await lab.ec2.stop_instances([inst.instance_id])  # stopped while cloud-init runs
        await until(lambda: inst.state == "stopped")
        await asyncio.sleep(0.05)
        assert not [h for h in lab.runtime.handles if inst.instance_id in h.name]  # nothing started

        plain = lab.ec2.launch_instance("chaoslab/static", lab.ec2.subnet("us-east-1b"), wait_serving=False)
        lab.ec2.boot_soon(plain)  # no user data: nothing for cloud-init to wait for
        await until(lambda: lab.runtime.running(f"{plain.instance_id}/app"), timeout=1)
        await lab.ec2.stop()

    asyncio.run(scenario())
