"""The command line as users meet it: help that teaches, validate's exit codes and messages,
reports rebuilt from a journal, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaoslab.cli import main

FIS_DATA = Path(__file__).parents[1] / "fis" / "data"
REPO = Path(__file__).parents[3]


def chaoslab(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaoslab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"CHAOSLAB_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_help_lists_every_command_and_a_quick_start(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for command in ("up", "status", "down", "validate", "run", "demo", "report"):
        assert command in text
    assert "quick start" in text and "http://127.0.0.1:4566" in text


def test_validate_flags_every_seed_002_mistake_and_exits_1(tmp_path: Path) -> None:
    out = chaoslab(
        "validate", str(FIS_DATA / "seed002_compute.json"), str(FIS_DATA / "seed002_db_failover.json"), home=tmp_path
    )
    assert out.returncode == 1
    assert "actions.SimulateNodeLoss.parameters.duration" in out.stdout
    assert "startInstancesAfterDuration" in out.stdout
    assert "aws:cloudwatch:alarm" in out.stdout
    assert 'Unexpected target "DbClusters" found in action' in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_validate_accepts_the_corrected_examples_and_exits_0(tmp_path: Path) -> None:
    files = sorted(str(p) for p in (REPO / "examples").rglob("*.json"))
    assert files, "examples ship FIS templates"
    out = chaoslab("validate", *files, home=tmp_path)
    assert out.returncode == 0, out.stdout
    assert "valid" in out.stdout


def test_status_without_a_lab_says_how_to_start_one(tmp_path: Path) -> None:
    out = chaoslab("status", home=tmp_path)
    assert out.returncode == 0 and "chaoslab up --detach" in out.stdout
    as_json = chaoslab("status", "--json", home=tmp_path)
    assert json.loads(as_json.stdout) == {"running": False}


def test_report_rebuilds_html_and_junit_from_a_journal(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "unit" / "report"))
    from report_journal_fixture import make_journal

    journal = tmp_path / "run" / "journal.json"
    journal.parent.mkdir()
    journal.write_text(json.dumps(make_journal()))
    out = chaoslab("report", str(journal), "--junit", str(tmp_path / "junit.xml"), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (journal.parent / "report.html").stat().st_size > 10_000
    assert "<testsuite" in (tmp_path / "junit.xml").read_text()
    missing = chaoslab("report", str(tmp_path / "nope.json"), home=tmp_path)
    assert missing.returncode == 1 and "cannot read journal" in missing.stderr and "Traceback" not in missing.stderr


def test_unknown_stack_is_refused_with_the_bundled_names(tmp_path: Path) -> None:
    out = chaoslab("up", "no-such-stack", "--detach", home=tmp_path)
    assert out.returncode == 1
    assert "unknown stack 'no-such-stack'" in out.stderr and "default" in out.stderr and "pet-payment" in out.stderr
    assert not (tmp_path / "lab.json").exists()


@pytest.mark.parametrize("content", ['{"pid": null}', "[1, 2]", '{"pid": "x"}', '{"pid'])
def test_damaged_lab_file_means_no_lab_not_a_traceback(tmp_path: Path, content: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "lab.json").write_text(content)
    done = chaoslab("status", home=home)
    assert (done.returncode, done.stderr) == (0, "")
    assert "no lab is running" in done.stdout
