"""FIS's own latencies from the timing profile (docs/timing.md): an experiment's time in
`initiating`, an action's from `initiating` to its fault, a stop's until the revert; a stop cuts
`initiating` short, and a lab going down reverts at once. Constant overrides on a clock ten times
faster than the wall keep each wait under half a second."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fis_harness import TAGGED, MiniLab, stop_nodes, template, wait

from chaoslab.clock import LabClock
from chaoslab.timing import Timing

SCALE = 10
SLACK = 3.0  # scenario seconds (0.3 s of wall time) a loaded machine may add to a wait


@pytest.fixture
def lab(tmp_path: Path) -> MiniLab:
    lab = MiniLab(tmp_path)
    lab.clock = LabClock(SCALE)
    lab.config.timing = Timing(
        "aws", {"fis_experiment_initiating_s": 4, "fis_action_start_s": 3, "fis_action_stop_s": 5}
    )
    lab.config.timing.arm()
    lab.ec2.add("i-1", {"Project": "shop"})
    return lab


def took(lab: MiniLab, kind: str, old: str, new: str, **match: str) -> float:
    """Scenario seconds between the event entering `old` and the one leaving it for `new`."""
    events = lab.kinds(kind, **match)
    began = next(e["time"] for e in events if e["new"] == old)
    ended = next(e["time"] for e in events if e["old"] == old and e["new"] == new)
    return (ended - began) * SCALE


def test_initiating_then_the_action_start_then_the_stop_each_take_their_delay(lab: MiniLab) -> None:
    async def go() -> dict[str, object]:
        t = lab.fis.create_experiment_template(template({"Stop": stop_nodes(restart="PT10M")}, TAGGED))
        exp = await lab.fis.start_experiment(t["id"])
        assert lab.ec2.calls == []  # nothing injected while the experiment initiates
        while not lab.kinds("action.state", new="running"):
            await asyncio.sleep(0.01)
        assert lab.ec2.calls == [("stop", ["i-1"])]
        await lab.fis.stop_experiment(exp["id"])
        await asyncio.sleep(0.2)  # two of the stop's five scenario seconds
        assert lab.ec2.calls == [("stop", ["i-1"])]  # not reverted yet
        return await lab.fis.wait_experiment(exp["id"], timeout=10)

    exp = asyncio.run(go())
    assert exp["state"]["status"] == "stopped"
    assert lab.ec2.calls == [("stop", ["i-1"]), ("start", ["i-1"])]
    assert 4 <= took(lab, "experiment.state", "initiating", "running") < 4 + SLACK
    assert 3 <= took(lab, "action.state", "initiating", "running", action="Stop") < 3 + SLACK
    assert 5 <= took(lab, "action.state", "stopping", "stopped", action="Stop") < 5 + SLACK


def test_a_stop_while_initiating_ends_the_experiment_before_any_action(lab: MiniLab) -> None:
    lab.config.timing = Timing("aws", {"fis_experiment_initiating_s": 600})
    lab.config.timing.arm()

    async def go() -> dict[str, object]:
        t = lab.fis.create_experiment_template(template({"Wait": wait()}))
        exp = await lab.fis.start_experiment(t["id"])
        await asyncio.sleep(0.05)
        await lab.fis.stop_experiment(exp["id"])
        return await lab.fis.wait_experiment(exp["id"], timeout=2)  # not the 60 s of wall time

    exp = asyncio.run(go())
    assert exp["state"]["status"] == "stopped"
    assert [e["new"] for e in lab.kinds("action.state", action="Wait")] == ["cancelled"]


def test_a_lab_going_down_reverts_without_the_stop_latency(lab: MiniLab) -> None:
    lab.config.timing = Timing(
        "aws", {"fis_experiment_initiating_s": 0, "fis_action_start_s": 0, "fis_action_stop_s": 600}
    )
    lab.config.timing.arm()

    async def go() -> float:
        t = lab.fis.create_experiment_template(template({"Stop": stop_nodes(restart="PT10M")}, TAGGED))
        await lab.fis.start_experiment(t["id"])
        while not lab.kinds("action.state", new="running"):
            await asyncio.sleep(0.01)
        began = asyncio.get_running_loop().time()
        await lab.fis.stop()
        return asyncio.get_running_loop().time() - began

    assert asyncio.run(go()) < 2  # not the 60 s of wall time a StopExperiment would wait
    assert lab.ec2.calls == [("stop", ["i-1"]), ("start", ["i-1"])]
