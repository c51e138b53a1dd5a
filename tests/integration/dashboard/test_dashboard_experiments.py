"""The dashboard's experiment list on a real in-process lab with more experiments than one
ListExperiments page holds (100): the newest must be shown, not the oldest page."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chaoslab.config import LabConfig
from chaoslab.dashboard.snapshot import RECENT_EXPERIMENTS, experiments
from chaoslab.lab import Lab

TEMPLATE = {
    "description": "dashboard paging: a wait stopped at once",
    "roleArn": "arn:aws:iam::123456789012:role/chaos-lab-fis-role",
    "stopConditions": [{"source": "none"}],
    "targets": {},
    "actions": {"hold": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
}
ENDED = ("completed", "stopped", "failed", "cancelled")


async def _scenario(home: Path) -> tuple[list[str], list[str]]:
    lab = Lab(LabConfig(home=home, api_port=0))
    await lab.start()
    try:
        template = lab.fis.create_experiment_template(TEMPLATE)
        started = []
        for _ in range(103):
            exp_id = (await lab.fis.start_experiment(template["id"]))["id"]
            started.append(exp_id)
            await lab.fis.stop_experiment(exp_id)  # stay under the active-experiments quota
            while lab.fis.get_experiment(exp_id)["state"]["status"] not in ENDED:
                await asyncio.sleep(0.01)
        return started, [e["id"] for e in experiments(lab)]
    finally:
        await lab.stop()


def test_newest_experiments_are_shown_beyond_the_first_page(tmp_path: Path) -> None:
    started, shown = asyncio.run(_scenario(tmp_path))
    assert sorted(shown) == sorted(started[-RECENT_EXPERIMENTS:])
