"""Pure rules of the stress faults and the SSM documents: caps, shares, parameters, statuses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chaoslab.errors import AwsError
from chaoslab.faults import worker
from chaoslab.faults.stress import (
    DEFAULT_MAX_BYTES,
    IO_MAX_BYTES_ENV,
    MiB,
    disk_fill_bytes,
    io_bytes_per_worker,
    lab_limit,
)
from chaoslab.services.fis.exec_stress import document_parameters
from chaoslab.services.ssm.documents import DOCUMENTS, document
from chaoslab.services.ssm.models import Command, Invocation


def test_io_share_is_split_between_workers_and_capped() -> None:
    free = 10_000 * MiB
    assert io_bytes_per_worker(free, 80, 4, 10**12) == 2000 * MiB
    assert io_bytes_per_worker(free, 80, 4, 256 * MiB) == 256 * MiB
    assert io_bytes_per_worker(0, 80, 1, 256 * MiB) == MiB  # never below one chunk


def test_disk_fill_tops_up_to_the_percent_within_the_cap() -> None:
    assert disk_fill_bytes(1000 * MiB, 900 * MiB, 95, 10**12) == 50 * MiB
    assert disk_fill_bytes(1000 * MiB, 990 * MiB, 95, 10**12) == 0
    assert disk_fill_bytes(10**12, 0, 95, 256 * MiB) == 256 * MiB


def test_lab_limit_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IO_MAX_BYTES_ENV, raising=False)
    assert lab_limit(IO_MAX_BYTES_ENV) == DEFAULT_MAX_BYTES
    monkeypatch.setenv(IO_MAX_BYTES_ENV, str(8 * MiB))
    assert lab_limit(IO_MAX_BYTES_ENV) == 8 * MiB
    monkeypatch.setenv(IO_MAX_BYTES_ENV, "lots")
    assert lab_limit(IO_MAX_BYTES_ENV) == DEFAULT_MAX_BYTES


def test_document_parameters_take_aws_defaults_and_refuse_unknown_or_missing() -> None:
    doc = document("arn:aws:ssm:us-east-1::document/AWSFIS-Run-CPU-Stress")
    assert doc.parameters({"DurationSeconds": ["60"]}) == {
        "DurationSeconds": "60",
        "InstallDependencies": "True",
        "CPU": "0",
        "LoadPercent": "100",
    }
    for given in ({"DurationSeconds": ["60"], "Bogus": ["1"]}, {}):
        with pytest.raises(AwsError) as err:
            doc.parameters(given)
        assert err.value.code == "InvalidParameters"
    assert DOCUMENTS["AWSFIS-Run-Network-Blackhole-Port"].defaults["TrafficType"] == "ingress"
    with pytest.raises(AwsError) as err:
        document("AWS-RunPowerShellScript")
    assert err.value.code == "InvalidDocument"


def test_fis_document_parameters_accept_strings_and_lists() -> None:
    assert document_parameters(json.dumps({"DurationSeconds": "60", "Port": 80, "X": ["a", "b"]})) == {
        "DurationSeconds": ["60"],
        "Port": ["80"],
        "X": ["a", "b"],
    }
    assert document_parameters(None) == {}


def test_command_status_follows_its_invocations() -> None:
    cmd = Command("c", "AWSFIS-Run-CPU-Stress", {}, ["i-1", "i-2"], "", time.time())
    cmd.invocations = {"i-1": Invocation("i-1"), "i-2": Invocation("i-2")}
    cmd.settle()
    assert cmd.status == "Pending"
    cmd.invocations["i-1"].status = "InProgress"
    cmd.settle()
    assert cmd.status == "InProgress" and not cmd.finished.is_set()
    cmd.invocations["i-1"].status, cmd.invocations["i-2"].status = "Success", "Cancelled"
    cmd.settle()
    assert cmd.status == "Cancelled" and cmd.finished.is_set()
    cmd.invocations["i-2"].status = "Failed"
    cmd.settle()
    assert cmd.status == "Failed"
    again = Command.from_document(json.loads(json.dumps(cmd.to_document())))
    assert again.to_api()["ErrorCount"] == 1 and again.finished.is_set()


def test_cpu_worker_duty_cycle_uses_its_share(tmp_path: Path) -> None:
    c0, t0 = time.process_time(), time.monotonic()
    worker.cpu(30, time.monotonic() + 1.0)
    share = (time.process_time() - c0) / (time.monotonic() - t0)
    assert 0.2 <= share <= 0.4


def test_io_worker_writes_fsyncs_and_removes_its_file(tmp_path: Path) -> None:
    data, stats = tmp_path / "io-0.dat", tmp_path / "io-0.json"
    worker.io(2 * MiB, time.monotonic() + 0.3, data, stats)
    totals = json.loads(stats.read_text())
    assert totals["bytes"] >= 2 * MiB and totals["fsyncs"] >= 2
    assert not data.exists()


def test_an_unarmed_worker_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "GO_WAIT_SECONDS", 0.1)
    assert worker.main(["cpu", "--dir", str(tmp_path), "--duration", "5"]) == 3


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["spin", "--dir", "/tmp", "--duration", "1"],
        ["cpu", "--duration", "1"],
        ["cpu", "--dir", "/tmp", "--speed=9"],
    ],
)
def test_a_worker_refuses_arguments_the_lab_never_writes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert worker.main(argv) == 2
    assert capsys.readouterr().err.startswith("chaoslab.faults.worker: ")
