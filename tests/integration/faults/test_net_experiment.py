"""disrupt-connectivity as a whole FIS experiment through the lab's engine: the template's subnet
target resolves by availabilityZoneIdentifier, the unit in that AZ is cut off while the action
runs, the other AZ is not, and when the experiment ends the journal is empty and the rules gone."""

from __future__ import annotations

import asyncio
import difflib
import time
from pathlib import Path

from net_lab import connects, cut_off, needs_netns, net_lab, rules_of

pytestmark = needs_netns

ACTION = "aws:network:disrupt-connectivity"


async def scenario(home: Path) -> dict[str, object]:
    async with net_lab(home) as lab:
        lab.fis.time_scale = 0.05  # PT1M lasts 3 s
        a, b = [
            await lab.ec2.run_instance("chaoslab/static", lab.ec2.subnet(az)) for az in ("us-east-1a", "us-east-1b")
        ]
        before = await rules_of(a.unit)
        template = lab.fis.create_experiment_template(
            {
                "description": "AZ us-east-1a loses its network",
                "roleArn": lab.iam.get_role("net-fis-role").arn,
                "stopConditions": [{"source": "none"}],
                "targets": {
                    "Subnets": {
                        "resourceType": "aws:ec2:subnet",
                        "selectionMode": "ALL",
                        "parameters": {"availabilityZoneIdentifier": "us-east-1a"},
                    }
                },
                "actions": {
                    "cut": {
                        "actionId": ACTION,
                        "targets": {"Subnets": "Subnets"},
                        "parameters": {"duration": "PT1M", "scope": "all"},
                    }
                },
            }
        )
        exp = await lab.fis.start_experiment(template["id"])
        deadline = time.monotonic() + 10
        while lab.fis.get_experiment(exp["id"])["actions"]["cut"]["state"]["status"] != "running" or not await cut_off(
            a.unit
        ):
            assert time.monotonic() < deadline, lab.fis.get_experiment(exp["id"])["state"]
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        during = (await connects(a.private_ip, 80, 1.0), await connects(b.private_ip, 80, 1.0))
        done = await lab.fis.wait_experiment(exp["id"], 30)
        return {
            "during": during,
            "status": done["state"]["status"],
            "after": await connects(a.private_ip, 80, 2.0),
            "restored": (after := await rules_of(a.unit)) == before,
            # what differs, should it (a CI run once saw `restored` False and it never recurred)
            "diff": "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")),
            "pending": lab.store.journal_pending(),
        }


def test_disrupt_connectivity_experiment(tmp_path: Path) -> None:
    got = asyncio.run(scenario(tmp_path))
    assert got["during"] == (False, True), got
    assert got["status"] == "completed" and got["after"] and got["restored"] and got["pending"] == [], (
        f"{got}\n{got['diff']}"
    )
