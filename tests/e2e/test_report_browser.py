"""The HTML report renders in headless Chromium: the DOM has the verdict, the page paints."""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from chaoslab.report import write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.chromium  # skipped or failed by the rule in tests/conftest.py


def _fixture_journal() -> dict:
    """The unit tests' journal generator, loaded by path (tests are not a package)."""
    path = Path(__file__).parents[1] / "unit" / "report" / "report_journal_fixture.py"
    spec = importlib.util.spec_from_file_location("report_journal_fixture_e2e", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_journal()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with its profile in tmp_path, so nothing is left behind."""
    env = dict(os.environ, HOME=str(tmp_path))
    profile = tmp_path / "profile"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=True,
    )
    deadline = time.monotonic() + 5.0  # helpers may take a moment to follow the browser out
    while _browsers_using(profile) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _browsers_using(profile), "chromium left processes behind"
    return done


def _browsers_using(profile: Path) -> list[int]:
    """Live (not zombie) processes whose command line names our profile directory."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(profile) in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.info["pid"])
    return found


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return write_html(_fixture_journal(), tmp_path / "report.html")


def test_dom_has_verdict_and_sections(report: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert "Hypothesis REFUTED" in dom
    for section in ('id="clauses"', 'id="chart-outcomes"', 'id="probe-timeline"', 'id="integrity"', 'id="fis"'):
        assert section in dom


def test_screenshot_paints_the_report(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 100_000  # charts and tables, not a blank page (blank is ~10 kB)
