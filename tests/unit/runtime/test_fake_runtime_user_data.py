"""What an instance runs, on the fake runtime: a bundled image its app; an ami-* id its `#!` user
data, once, at first boot (a started instance does not run it again, as cloud-init runs it once
per instance); anything else is InvalidAMIID.NotFound. The script's output is the console."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_lab import fake_lab, until

from chaoslab.errors import AwsError

SCRIPT = "#!/bin/bash\npython3 server.py &\n"


def test_user_data_runs_at_first_boot_only_and_its_output_is_the_console(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        subnet = lab.ec2.subnet("us-east-1a")
        inst = await lab.ec2.run_instance("ami-0abc", subnet, user_data=SCRIPT, port=8000)
        assert inst.state == "running"
        (init,) = lab.runtime.running(f"{inst.instance_id}/user-data")
        script = tmp_path / "units" / inst.instance_id / "user-data"
        assert init.spec.command[-1] == str(script) and script.read_text() == SCRIPT
        assert init.spec.port == 8000  # the runtime tells it PORT
        assert init.spec.env["PATH"].split(":")[0].endswith(".chaoslab-bin")
        init.say("hello from user data")
        assert list(inst.console) == ["hello from user data"]

        await lab.ec2.stop_instances([inst.instance_id])
        await until(lambda: inst.state == "stopped")
        await lab.ec2.start_instances([inst.instance_id])
        await until(lambda: inst.state == "running")
        assert lab.runtime.running(f"{inst.instance_id}/user-data") == []
        await lab.ec2.stop()

    asyncio.run(scenario())


def test_a_bundled_image_runs_its_app_and_an_ami_without_user_data_runs_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        subnet = lab.ec2.subnet("us-east-1b")
        app = await lab.ec2.run_instance("chaoslab/static", subnet)
        idle = await lab.ec2.run_instance("ami-0abc", subnet)
        assert [h.spec.image for h in lab.runtime.running(f"{app.instance_id}/app")] == ["chaoslab/static"]
        assert idle.state == "running" and not [h for h in lab.runtime.handles if idle.instance_id in h.name]
        await lab.ec2.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("image", ["nginx:latest", "ami-", "ubuntu-22.04"])
def test_other_images_do_not_exist(tmp_path: Path, image: str) -> None:
    async def scenario() -> None:
        lab = await fake_lab(tmp_path)
        with pytest.raises(AwsError) as err:
            lab.ec2.launch_instance(image, lab.ec2.subnet("us-east-1a"))
        assert err.value.code == "InvalidAMIID.NotFound" and not lab.ec2.instances

    asyncio.run(scenario())
