"""`ComputeUnit` over the fake runtime: helpers live in the unit and count in its stats until they
end, a stop is not reported as a crash, and a program's last lines travel with its exit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chaoslab.runtime.kinds.base import ProcessSpec
from chaoslab.runtime.kinds.fake import FakeRuntime
from chaoslab.runtime.network import VpcNetwork
from chaoslab.runtime.unit import ComputeUnit, ContainerSpec, ExitInfo
from chaoslab.store import Store


async def _unit(tmp_path: Path, exits: list[ExitInfo]) -> tuple[ComputeUnit, FakeRuntime]:
    runtime = FakeRuntime()
    network = VpcNetwork(Store(tmp_path / "lab.db"), "r", "vpc-1", "10.0.0.0/16", {"a": "10.0.1.0/24"}, "loopback")
    unit = ComputeUnit(network, "a", "u-1", runtime=runtime, workdir=tmp_path / "u-1", on_exit=exits.append)
    await unit.provision()
    await unit.start([ContainerSpec("app", ProcessSpec(image="chaoslab/static", env={}, port=80))])
    return unit, runtime


def test_helpers_count_in_the_stats_until_they_end(tmp_path: Path) -> None:
    async def scenario() -> None:
        unit, runtime = await _unit(tmp_path, [])
        [app] = runtime.running("u-1/app")
        app.cpu, app.rss = 20.0, 1000
        helper = await unit.spawn_extra("stress", ["stress", "--cpu"])
        assert runtime.handles[-1].spec.cwd == str(tmp_path / "u-1")
        runtime.handles[-1].cpu, runtime.handles[-1].rss = 50.0, 500
        assert (unit.cpu_percent(), unit.memory_bytes()) == (70.0, 1500)
        await unit.stop_extra("stress")
        assert not helper.running and "stress" not in unit.extras
        assert (unit.cpu_percent(), unit.memory_bytes()) == (20.0, 1000)
        await unit.destroy()

    asyncio.run(scenario())


def test_only_an_exit_on_its_own_is_reported_with_its_last_lines(tmp_path: Path) -> None:
    async def scenario() -> None:
        exits: list[ExitInfo] = []
        unit, runtime = await _unit(tmp_path, exits)
        [app] = runtime.running("u-1/app")
        app.say("listening")
        app.say("boom", "stderr")
        app.exit(1)
        assert [(e.name, e.code, e.output) for e in exits] == [("app", 1, ["listening", "boom"])]
        await unit.start([ContainerSpec("app", ProcessSpec(image="chaoslab/static", env={}, port=80))])
        await unit.stop()
        assert len(exits) == 1 and not unit.running
        await unit.destroy()

    asyncio.run(scenario())


def test_exec_runs_with_a_containers_environment_and_dies_with_the_unit(tmp_path: Path) -> None:
    async def scenario() -> None:
        unit, runtime = await _unit(tmp_path, [])
        await unit.start(
            [ContainerSpec("side", ProcessSpec(command=["sleep"], env={"ROLE": "side"}, cwd="/", user="1"))]
        )
        lines: list[tuple[str, str]] = []
        first = await unit.exec_command(["env"], None, lambda stream, line: lines.append((stream, line)))
        spec = runtime.handles[-1].spec
        assert (spec.command, spec.image, spec.env, spec.port, spec.cwd) == (["env"], None, {}, 80, str(unit.workdir))
        runtime.handles[-1].say("PATH=/bin")
        assert lines == [("stdout", "PATH=/bin")]
        second = await unit.exec_command(["id"], "side", None)
        spec = runtime.handles[-1].spec
        assert (spec.env, spec.cwd, spec.user) == ({"ROLE": "side"}, "/", "1")
        with pytest.raises(KeyError):
            await unit.exec_command(["true"], "nope", None)
        assert first.running and second.running and len(unit.extras) == 2
        await unit.destroy()
        assert not first.running and not second.running

    asyncio.run(scenario())
