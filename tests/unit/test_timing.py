"""The timing profiles (docs/timing.md, "AWS's delays"): each delay a seeded distribution inside
its documented range, `fast` near-instant, single delays overridable from the stack or the
command line with a clear error for unknown names and bad values, nothing drawn before the lab
is ready, and every delay divided by the time scale."""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import pytest

from chaoslab.cli import build_parser
from chaoslab.clock import LabClock
from chaoslab.daemon import lab_timing
from chaoslab.errors import ChaoslabError
from chaoslab.stack import validate_stack
from chaoslab.timing import AWS, FAST, Delay, Timing, parse_override


def armed(profile: str = "aws", seed: int = 0, **overrides: float) -> Timing:
    timing = Timing(profile, dict(overrides), seed)
    timing.arm()
    return timing


@pytest.mark.parametrize("name", sorted(AWS))
def test_aws_draws_stay_in_the_documented_range_and_centre_on_the_median(name: str) -> None:
    timing, delay = armed(), AWS[name]
    draws = [timing.draw(name) for _ in range(4000)]
    assert delay.low <= min(draws) and max(draws) <= delay.high
    assert statistics.median(draws) == pytest.approx(delay.median, abs=0.05 * (delay.high - delay.low) + 1e-9)


def test_aws_delays_vary_where_aws_varies() -> None:
    varying = [n for n, d in AWS.items() if d.high > d.low]
    assert set(AWS) - set(varying) == {"rds_endpoint_dns_ttl_s"}  # a TTL is a number AWS sets, not a spread
    for name in varying:
        assert len({round(armed().draw(name), 6) for _ in range(5)}) == 1  # same seed, same first draw
        timing = armed()
        assert len({timing.draw(name) for _ in range(5)}) == 5


def test_a_seed_reproduces_a_run_and_one_delay_does_not_shift_another() -> None:
    a, b = armed(seed=7), armed(seed=7)
    first = [a.draw("ec2_boot_s") for _ in range(3)]
    for _ in range(10):
        b.draw("rds_failover_write_unavailable_s")  # drawn in between: must not change ec2's stream
    assert [b.draw("ec2_boot_s") for _ in range(3)] == first
    assert [armed(seed=8).draw("ec2_boot_s") for _ in range(3)] != first


def test_fast_is_todays_near_instant_behaviour() -> None:
    timing = armed("fast")
    assert all(timing.draw(name) == 0 for name in FAST)
    assert set(FAST) == set(AWS)


def test_nothing_is_delayed_until_the_lab_is_ready() -> None:
    timing = Timing("aws")
    assert timing.draw("rds_failover_write_unavailable_s") == 0
    timing.arm()
    assert timing.draw("rds_failover_write_unavailable_s") >= AWS["rds_failover_write_unavailable_s"].low
    with pytest.raises(KeyError):
        Timing("aws").draw("no_such_delay_s")  # a typo in the code fails at once, armed or not


def test_an_override_is_a_constant_in_either_profile() -> None:
    for profile in ("aws", "fast"):
        timing = armed(profile, rds_failover_write_unavailable_s=25)
        assert {timing.draw("rds_failover_write_unavailable_s") for _ in range(5)} == {25}
    assert armed(ecs_image_pull_s=0).draw("ecs_image_pull_s") == 0
    assert armed(rds_failover_write_unavailable_s=25).describe()["overrides"] == {
        "rds_failover_write_unavailable_s": 25
    }


NEW_STEPS = (
    "cloudwatch_metric_delay_s",
    "cloudwatch_put_metric_data_delay_s",
    "fis_experiment_initiating_s",
    "fis_action_start_s",
    "fis_action_stop_s",
    "ec2_user_data_s",
)


def test_metric_availability_fis_latency_and_user_data_are_delays_of_their_own() -> None:
    """A service's datapoint about a minute, PutMetricData's seconds, FIS's steps seconds, and the
    boot split in two whose medians add up to about the single boot's former 46 s."""
    assert 45 <= AWS["cloudwatch_metric_delay_s"].median <= 90
    assert AWS["cloudwatch_put_metric_data_delay_s"].median < 10
    assert all(1 <= AWS[n].low and AWS[n].high <= 10 for n in NEW_STEPS if n.startswith("fis_"))
    assert 40 <= AWS["ec2_boot_s"].median + AWS["ec2_user_data_s"].median <= 50
    for name in NEW_STEPS:
        assert parse_override(f"{name}=7") == (name, 7.0)
        validate_stack({"name": "s", "timing": {name: 7}})
        timing = armed(**{name: 7})
        assert {timing.draw(name) for _ in range(3)} == {7} and armed("fast").draw(name) == 0
        assert Timing("aws").draw(name) == 0  # nothing before the lab is ready


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"rds_failover_s": 3}, "unknown timing delay 'rds_failover_s'"),
        ({"ec2_boot_s": -1}, "must be a number of seconds >= 0"),
        ({"ec2_boot_s": float("nan")}, "must be a number of seconds >= 0"),
        ({"ec2_boot_s": float("inf")}, "must be a number of seconds >= 0"),
        ({"ec2_boot_s": "ten"}, "not 'ten'"),
        ({"ec2_boot_s": True}, "must be a number of seconds >= 0"),
    ],
)
def test_bad_overrides_name_the_problem_and_the_allowed_delays(overrides: dict[str, object], says: str) -> None:
    with pytest.raises(ChaoslabError) as err:
        Timing("aws", overrides)  # type: ignore[arg-type]
    assert says in err.value.message
    if "unknown" in says:
        assert err.value.hint is not None and all(name in err.value.hint for name in AWS)


def test_unknown_profile() -> None:
    with pytest.raises(ChaoslabError, match="unknown timing profile 'slow'"):
        Timing("slow")


def test_parse_override() -> None:
    assert parse_override("rds_failover_write_unavailable_s=25") == ("rds_failover_write_unavailable_s", 25.0)
    assert parse_override(" ec2_boot_s = 1.5 ") == ("ec2_boot_s", 1.5)
    for bad in ("ec2_boot_s", "ec2_boot_s=", "ec2_boot_s=soon", "nope=3"):
        with pytest.raises(ChaoslabError):
            parse_override(bad)


def test_cli_refuses_a_bad_timing_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("up", "run x.yaml", "demo"):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args([*command.split(), "--timing", "rds_failover=3"])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert "allowed: " in err and all(name in err for name in AWS)
    args = build_parser().parse_args(["up", "--timing", "rds_reboot_s=30", "--timing", "ec2_boot_s=5"])
    assert dict(args.timing) == {"rds_reboot_s": 30.0, "ec2_boot_s": 5.0}


def test_stack_timing_section_is_validated_with_the_allowed_names() -> None:
    validate_stack({"name": "s", "timing": {"rds_failover_write_unavailable_s": 25}})
    with pytest.raises(ChaoslabError) as err:
        validate_stack({"name": "s", "timing": {"rds_failover_s": 25}})
    assert err.value.hint is not None and "rds_failover_write_unavailable_s" in err.value.hint
    with pytest.raises(ChaoslabError, match="minimum"):
        validate_stack({"name": "s", "timing": {"ec2_boot_s": -2}})


def test_the_daemon_picks_aws_unless_fast_and_the_command_line_beats_the_stack() -> None:
    doc = {"name": "s", "timing": {"ec2_boot_s": 10, "rds_reboot_s": 30}}
    timing = lab_timing(argparse.Namespace(fast=False, timing=["ec2_boot_s=3"], timing_profile=None), doc)
    assert timing.profile == "aws" and timing.overrides == {"ec2_boot_s": 3.0, "rds_reboot_s": 30}
    assert not timing.armed
    assert lab_timing(argparse.Namespace(fast=True, timing=[], timing_profile=None), {"name": "s"}).profile == "fast"
    chosen = argparse.Namespace(fast=False, timing=[], timing_profile="fast")  # a test lab: fast timing, AWS's checks
    assert lab_timing(chosen, {"name": "s"}).profile == "fast"


def test_start_detached_passes_a_profile_the_flags_would_not_pick() -> None:
    from chaoslab.labctl import daemon_args

    assert "--timing-profile" not in daemon_args(None, False, None, "auto", timing_profile=None)
    argv = daemon_args(None, False, None, "auto", timing_profile="fast", timing={"ec2_boot_s": 2.5})
    assert argv[argv.index("--timing-profile") + 1] == "fast"
    assert argv[argv.index("--timing") + 1] == "ec2_boot_s=2.5"


def test_the_time_scale_divides_every_delay() -> None:
    for name in AWS:
        at_1, at_60 = armed(seed=3), armed(seed=3)
        drawn = at_1.draw(name)
        assert LabClock(60).wall(at_60.draw(name)) == pytest.approx(LabClock(1).wall(drawn) / 60)


def test_delay_shape() -> None:
    assert Delay(5, 5, 5).median == 5
    assert Delay(0, 0, 10).median == pytest.approx(10 - 50**0.5)
    assert Delay(0, 10, 10).median == pytest.approx(50**0.5)
    with pytest.raises(ValueError):
        Delay(3, 2, 4)


def test_start_detached_lets_fast_decide_unless_a_config_asks_for_fast_timing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from chaoslab import labctl
    from chaoslab.config import LabConfig

    seen: list[list[str]] = []

    class Started(Exception):
        pass

    def popen(argv: list[str], **_: object) -> None:
        seen.append(argv)
        raise Started

    monkeypatch.setattr(labctl.subprocess, "Popen", popen)
    for config, fast in (
        (LabConfig(home=tmp_path), True),  # the default config under --fast: fast timing
        (LabConfig(home=tmp_path), False),  # no flag: aws
        (LabConfig(home=tmp_path, timing=Timing("fast")), False),  # fast timing, AWS's health checks
    ):
        with pytest.raises(Started):
            labctl.start_detached(config, None, fast=fast, quiet=True)
    profiles = [argv[argv.index("--timing-profile") + 1] if "--timing-profile" in argv else None for argv in seen]
    assert profiles == [None, None, "fast"]
    assert ["--fast" in argv for argv in seen] == [True, False, False]


def test_status_states_the_profile_in_effect(capsys: pytest.CaptureFixture[str]) -> None:
    from chaoslab.commands import _print_summary

    status = {
        "api": "http://127.0.0.1:4566",
        "region": "us-east-1",
        "account_id": "123456789012",
        "load_balancers": [],
        "databases": [],
        "network_mode": "netns",
        "time_scale": 1,
    }
    _print_summary({**status, "timing": Timing("aws", {"rds_reboot_s": 30}).describe()})
    assert "timing       aws  (recoveries and launches take AWS's documented times); rds_reboot_s=30" in (
        capsys.readouterr().out
    )
    _print_summary({**status, "timing": Timing("fast").describe()})
    assert "timing       fast  (near-instant recoveries and launches, not AWS's times)" in capsys.readouterr().out
