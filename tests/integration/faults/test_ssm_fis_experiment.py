"""A whole FIS experiment with aws:ssm:send-command through the real engine and the registry's
executor: the stress is measured while the experiment runs, and nothing is left when it completes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
from fault_lab import fault_lab, needs_netns, running_instance, unit_cpu

pytestmark = needs_netns
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def alive(pid: int) -> bool:
    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_send_command_experiment_runs_and_cleans_up(tmp_path: Path) -> None:
    async def scenario() -> dict:
        async with fault_lab(tmp_path) as lab:
            lab.fis.time_scale = 0.05
            inst = await running_instance(lab)
            role = lab.iam.create_role("fis-ec2", json.dumps(TRUST))
            lab.iam.attach_role_policy(
                "fis-ec2", "arn:aws:iam::aws:policy/service-role/AWSFaultInjectionSimulatorEC2Access"
            )
            template = lab.fis.create_experiment_template(
                {
                    "description": "cpu stress through SSM",
                    "roleArn": role.arn,
                    "stopConditions": [{"source": "none"}],
                    "targets": {
                        "shop": {
                            "resourceType": "aws:ec2:instance",
                            "selectionMode": "ALL",
                            "resourceTags": {"Project": "chaos-lab"},
                        }
                    },
                    "actions": {
                        "cpu": {
                            "actionId": "aws:ssm:send-command",
                            "targets": {"Instances": "shop"},
                            "parameters": {
                                "documentArn": "arn:aws:ssm:us-east-1::document/AWSFIS-Run-CPU-Stress",
                                "documentParameters": json.dumps(
                                    {"DurationSeconds": "120", "CPU": "1", "LoadPercent": "50"}
                                ),
                                "duration": "PT1M",
                            },
                        }
                    },
                }
            )
            exp = await lab.fis.start_experiment(template["id"])
            await asyncio.sleep(1.0)
            loaded = await unit_cpu(inst.unit, 1.5)
            pids = [p.pid for p in inst.unit.extras.values()]
            done = await lab.fis.wait_experiment(exp["id"], 30)
            (cmd,) = lab.ssm.commands.values()
            assert pids and not any(alive(p) for p in pids)
            assert lab.store.journal_pending() == []
            return {
                "state": done["state"],
                "action": done["actions"]["cpu"]["state"],
                "loaded": loaded,
                "command": cmd.status,
                "comment": cmd.comment,
                "exp": exp["id"],
            }

    m = asyncio.run(scenario())
    print(f"\nFIS experiment ssm:send-command CPU-Stress 50%: instance CPU {m['loaded']:.1f}%")
    assert m["state"]["status"] == "completed", m["state"]
    assert m["action"]["status"] == "completed"
    assert m["command"] == "Cancelled" and m["comment"] == f"FIS experiment {m['exp']}"
    assert 35 <= m["loaded"] <= 70
