"""Seed 003's experiment against the whole lab: real instance processes, the real IAM policy with
its tag condition, stop → (optional) restart, and nothing left behind."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psutil

from chaoslab.config import LabConfig
from chaoslab.lab import Lab

EXAMPLE = Path(__file__).parents[3] / "examples" / "templates" / "seed003-stop-instance.json"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# Seed 003's role policy: stop/start only instances tagged Project=chaos-lab.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:StartInstances"],
            "Resource": "arn:aws:ec2:us-east-1:123456789012:instance/*",
            "Condition": {"StringEquals": {"ec2:ResourceTag/Project": "chaos-lab"}},
        },
        {"Effect": "Allow", "Action": ["ec2:DescribeInstances"], "Resource": "*"},
    ],
}


def app_pids(lab: Lab) -> list[int]:
    return [pid for pid, _, _ in lab.store.owned_processes()]


async def wait_state(lab: Lab, iid: str, state: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if lab.ec2.get(iid).state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{iid} stayed {lab.ec2.get(iid).state}, expected {state}")


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    pids: list[int] = []
    try:
        lab.fis.time_scale = 0.02
        lab.ec2.shutdown_seconds = 0.2
        await lab.ec2.create_vpc("10.0.0.0/16", {"us-east-1a": "10.0.10.0/24", "us-east-1b": "10.0.11.0/24"})
        shop = [
            await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet(az), tags={"Project": "chaos-lab"})
            for az in ("us-east-1a", "us-east-1b")
        ]
        other = await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet("us-east-1a"), tags={"Project": "x"})
        pids = app_pids(lab)
        lab.iam.create_role("chaos-lab-fis-role", json.dumps(TRUST))
        lab.iam.put_role_policy("chaos-lab-fis-role", "chaos-lab-fis-policy", json.dumps(POLICY))

        body = json.loads(EXAMPLE.read_text())
        seed = lab.fis.create_experiment_template(body)
        exp = await lab.fis.start_experiment(seed["id"])
        done = await lab.fis.wait_experiment(exp["id"], 30)
        assert done["state"]["status"] == "completed", done["state"]
        stopped = [i.instance_id for i in shop if i.state in ("stopping", "stopped")]
        assert len(stopped) == 1  # COUNT(1)
        await wait_state(lab, stopped[0], "stopped")
        assert other.state == "running"

        body["actions"]["stop-instance"]["parameters"] = {"startInstancesAfterDuration": "PT1M"}
        body["targets"]["chaos-lab-instances"]["filters"] = [{"path": "State.Name", "values": ["running"]}]
        restart = lab.fis.create_experiment_template(body)
        exp = await lab.fis.start_experiment(restart["id"])
        done = await lab.fis.wait_experiment(exp["id"], 30)
        assert done["state"]["status"] == "completed", done["state"]
        (resolved,) = lab.fis.list_experiment_resolved_targets(exp["id"])[0]
        survivor = resolved["targetInformation"]["arn"].rsplit("/", 1)[-1]
        assert survivor != stopped[0]
        await wait_state(lab, survivor, "running")
        assert lab.store.journal_pending() == []

        body["targets"]["chaos-lab-instances"]["resourceTags"] = {"Project": "x"}
        del body["targets"]["chaos-lab-instances"]["filters"]
        denied = lab.fis.create_experiment_template(body)
        exp = await lab.fis.start_experiment(denied["id"])
        done = await lab.fis.wait_experiment(exp["id"], 30)
        assert done["state"]["error"]["code"] == "AuthorizationFailure"
        assert other.state == "running"
        return {"pids": pids}
    finally:
        await lab.stop()


def test_seed003_stop_one_instance_for_real(tmp_path: Path) -> None:
    result = asyncio.run(scenario(tmp_path))
    assert result["pids"]
    assert not [p for p in result["pids"] if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
