"""`aws:ssm:send-command` through the real SSM backend on a real instance: AWS's CPU-stress
document runs worker processes until FIS's action duration ends it; a failing document fails
the action."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psutil

from chaoslab.config import LabConfig
from chaoslab.lab import Lab
from chaoslab.services.ssm.backend import SsmBackend

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ALLOW = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:*", "Resource": "*"}]}


def workers_in(unit_dir: Path) -> list[int]:
    return [
        p.pid
        for p in psutil.process_iter(["cmdline", "status"])
        if p.info["status"] != psutil.STATUS_ZOMBIE
        and "chaoslab.faults.worker" in " ".join(p.info["cmdline"] or [])
        and str(unit_dir) in " ".join(p.info["cmdline"] or [])
    ]


def command(document: str, parameters: dict[str, Any], role: str) -> dict[str, Any]:
    return {
        "description": document,
        "roleArn": role,
        "stopConditions": [{"source": "none"}],
        "targets": {
            "Box": {
                "resourceType": "aws:ec2:instance",
                "selectionMode": "ALL",
                "resourceTags": {"Project": "chaos-lab"},
            }
        },
        "actions": {
            "Run": {
                "actionId": "aws:ssm:send-command",
                "targets": {"Instances": "Box"},
                "parameters": {
                    "documentArn": f"arn:aws:ssm:us-east-1::document/{document}",
                    "documentParameters": json.dumps(parameters),
                    "duration": "PT1M",
                },
            }
        },
    }


async def scenario(home: Path) -> dict[str, Any]:
    lab = Lab(LabConfig(home=home, api_port=0), network_mode="loopback")
    await lab.start()
    lab.ssm = SsmBackend(lab)  # the lab does not build SSM itself yet
    await lab.ssm.start()
    seen: dict[str, Any] = {}
    try:
        lab.fis.time_scale = 0.03  # PT1M -> 1.8 s
        await lab.ec2.create_vpc("10.0.0.0/16", {"us-east-1a": "10.0.10.0/24"})
        inst = await lab.ec2.run_instance(
            "chaoslab/static", lab.ec2.subnet("us-east-1a"), tags={"Project": "chaos-lab"}
        )
        unit_dir = inst.unit.workdir
        lab.iam.create_role("fis", json.dumps(TRUST))
        lab.iam.put_role_policy("fis", "ssm", json.dumps(ALLOW))
        role = lab.iam.get_role("fis").arn

        t = lab.fis.create_experiment_template(
            command("AWSFIS-Run-CPU-Stress", {"DurationSeconds": "60", "CPU": "1", "LoadPercent": "10"}, role)
        )
        exp = await lab.fis.start_experiment(t["id"])
        for _ in range(100):
            if workers_in(unit_dir):
                break
            await asyncio.sleep(0.05)
        seen["workers_during"] = workers_in(unit_dir)
        seen["stress"] = await lab.fis.wait_experiment(exp["id"], 30)
        seen["workers_after"] = workers_in(unit_dir)
        seen["commands"] = [c.status for c in lab.ssm.list_commands()]

        t = lab.fis.create_experiment_template(command("AWSFIS-Run-Kill-Process", {"ProcessName": "no-such"}, role))
        seen["kill"] = await lab.fis.wait_experiment((await lab.fis.start_experiment(t["id"]))["id"], 30)
        seen["pending"] = lab.store.journal_pending()
        return seen
    finally:
        await lab.ssm.stop()
        await lab.stop()


def test_send_command_runs_and_is_cancelled_at_the_action_end(tmp_path: Path) -> None:
    seen = asyncio.run(scenario(tmp_path))
    assert seen["stress"]["state"]["status"] == "completed", seen["stress"]["state"]
    assert len(seen["workers_during"]) == 1 and seen["workers_after"] == []
    assert seen["commands"] == ["Cancelled"]  # the document wanted 60 s; FIS ended it at its duration
    kill = seen["kill"]
    assert kill["state"]["status"] == "failed"
    assert kill["state"]["error"]["code"] == "DependentServiceFailure"
    assert "no-such: no process found" in kill["state"]["reason"]
    assert seen["pending"] == []
