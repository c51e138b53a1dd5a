"""The lab clock: scenario time against wall time, the scaled waits and their floors, the range
`--time-scale` accepts, and what CloudWatch stamps and reads at a scale above 1."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
import types
from pathlib import Path

import pytest

from chaoslab.cli import build_parser, time_scale
from chaoslab.clock import MIN_CADENCE_S, MIN_TIMEOUT_S, LabClock, check_scale
from chaoslab.config import LabConfig
from chaoslab.events import EventLog
from chaoslab.services.cloudwatch.api import OPERATIONS

EPOCH = 1_795_306_200.0  # 2026-11-22 00:10:00 UTC


def test_scenario_time_is_elapsed_wall_time_times_the_scale_from_the_epoch() -> None:
    clock = LabClock(60, EPOCH)
    assert clock.scenario(EPOCH) == EPOCH
    assert clock.scenario(EPOCH + 30) == EPOCH + 1800  # 30 wall seconds: a PT30M template's end
    assert clock.scenario(EPOCH - 1) == EPOCH - 60  # before the epoch, stretched the same way


def test_scale_one_is_the_wall_clock() -> None:
    clock = LabClock()
    assert clock.scale == 1
    assert abs(clock.now() - time.time()) < 0.05
    assert clock.wall(10) == 10
    assert clock.cadence(10) == 10
    assert clock.timeout(5) == 5


def test_now_runs_scale_times_faster_than_the_wall_clock() -> None:
    clock = LabClock(60, time.time() - 10)
    assert clock.now() - time.time() == pytest.approx(590, abs=1)


def test_durations_divide_by_the_scale_and_periodic_loops_have_a_floor() -> None:
    clock = LabClock(60, EPOCH)
    assert clock.wall(1800) == 30
    assert clock.cadence(10) == pytest.approx(10 / 60)
    assert clock.cadence(1) == MIN_CADENCE_S  # 1/60 s would be under the floor
    fast = LabClock(600, EPOCH)
    assert fast.cadence(1) == MIN_CADENCE_S


def test_a_timeout_shrinks_with_the_scale_but_not_below_the_floor() -> None:
    assert LabClock(60, EPOCH).timeout(600) == 10
    assert LabClock(60, EPOCH).timeout(5) == MIN_TIMEOUT_S  # 83 ms: one lost SYN would fail the probe
    assert LabClock(60, EPOCH).timeout(1) == 1  # never longer than the duration itself


def test_sleep_waits_the_scaled_duration() -> None:
    clock = LabClock(60, EPOCH)
    started = time.monotonic()
    asyncio.run(clock.sleep(12))  # 0.2 s of wall time
    assert 0.18 <= time.monotonic() - started < 0.6


@pytest.mark.parametrize("value", [1, 60, 600, 2.5])
def test_the_scale_range_accepts(value: float) -> None:
    assert check_scale(value) == value


@pytest.mark.parametrize("value", [0, 0.5, 601, -60])
def test_the_scale_range_refuses(value: float) -> None:
    with pytest.raises(ValueError, match="between 1 and 600"):
        check_scale(value)


@pytest.mark.parametrize(("text", "message"), [("0", "between 1 and 600"), ("fast", "not a number: 'fast'")])
def test_the_cli_names_what_is_wrong_with_a_scale(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        time_scale(text)


def test_up_and_run_take_a_time_scale() -> None:
    parser = build_parser()
    assert parser.parse_args(["up", "--time-scale", "60"]).time_scale == 60
    assert parser.parse_args(["up"]).time_scale == 1
    assert parser.parse_args(["run", "x.yaml", "--time-scale", "600"]).time_scale == 600
    assert parser.parse_args(["run", "x.yaml"]).time_scale is None  # the running lab's, else 1


def test_cloudwatch_stamps_and_reads_in_scenario_time(tmp_path: Path) -> None:
    """docs/timing.md: datapoints are stamped with scenario time, and StartTime/EndTime are read as
    scenario time, so a window built from the wall clock misses them at a scale above 1."""
    from chaoslab.services.cloudwatch.backend import CloudWatchBackend

    clock = LabClock(60, time.time() - 60)  # an hour of scenario time has passed
    lab = types.SimpleNamespace(clock=clock, config=LabConfig(home=tmp_path), events=EventLog())
    lab.cloudwatch = CloudWatchBackend(lab)
    lab.cloudwatch.put_metric("Lab", "Hits", {}, [1.0], "Count")
    ctx = types.SimpleNamespace(lab=lab)

    def points(around: float) -> list[float]:
        out = OPERATIONS["GetMetricStatistics"](
            ctx,
            {
                "Namespace": "Lab",
                "MetricName": "Hits",
                "StartTime": dt.datetime.fromtimestamp(around - 120, dt.UTC),
                "EndTime": dt.datetime.fromtimestamp(around + 120, dt.UTC),
                "Period": 60,
                "Statistics": ["Sum"],
            },
        )
        return [d["Sum"] for d in out["Datapoints"]]

    assert points(clock.now()) == [1.0]
    assert points(time.time()) == []
