"""An experiment file may set single delays of the timing profile (`delays:`) for the lab its run
starts; unknown names are refused with the allowed ones, and `--timing` wins over the file."""

from __future__ import annotations

from importlib import resources

import yaml

from chaoslab.experiment.schema import validate_experiment_document
from chaoslab.experiment.session import with_file_delays
from chaoslab.timing import Timing

BASE = yaml.safe_load((resources.files("chaoslab") / "experiments" / "seed003-stop-instance.yaml").read_text())


def errors(doc: dict) -> list:
    return [i for i in validate_experiment_document(doc) if i.severity == "error"]


def test_known_delays_validate() -> None:
    assert errors({**BASE, "delays": {"rds_failover_write_unavailable_s": 25}}) == []


def test_an_unknown_delay_is_refused_naming_the_allowed_ones() -> None:
    found = errors({**BASE, "delays": {"rds_failover_s": 25}})
    assert found and "delays" in found[0].path
    assert "rds_failover_write_unavailable_s" in found[0].message + (found[0].hint or "")


def test_a_negative_delay_is_refused() -> None:
    assert errors({**BASE, "delays": {"rds_failover_write_unavailable_s": -1}})


def test_the_files_delays_apply_and_the_command_line_wins() -> None:
    given = Timing("aws", {"ec2_boot_s": 5.0})
    merged = with_file_delays(given, {"delays": {"ec2_boot_s": 40.0, "rds_reboot_s": 9.0}})
    assert merged.profile == "aws"
    assert merged.overrides == {"ec2_boot_s": 5.0, "rds_reboot_s": 9.0}
    assert with_file_delays(given, {}) is given
