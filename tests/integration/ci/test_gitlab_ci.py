"""The GitLab CI snippet (contrib/gitlab/chaoslab.gitlab-ci.yml) behaves like the GitHub Action:
it parses, keeps the results as artifacts with JUnit as the test report, and its script, run for
real on experiments that cannot run, writes the same result folders and summary and ends the job
with exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ci_steps import ROOT, VENV, run_bash

SNIPPET: dict[str, Any] = yaml.safe_load((ROOT / "contrib" / "gitlab" / "chaoslab.gitlab-ci.yml").read_text())
JOB = SNIPPET[".chaoslab"]


def _script(env: dict[str, str], cwd: Path) -> Any:
    # before_script builds the venv and pip-installs chaoslab; the test's venv stands in for it
    return run_bash("\n".join(JOB["script"]), {**JOB["variables"], "CHAOSLAB_VENV": str(VENV), **env}, cwd)


def test_snippet_keeps_results_and_junit_as_artifacts() -> None:
    assert JOB["artifacts"]["when"] == "always"
    assert JOB["artifacts"]["paths"] == ["chaoslab-results/"]
    assert JOB["artifacts"]["reports"]["junit"] == "chaoslab-results/*/junit.xml"
    assert any("pip install" in line and "$CHAOSLAB_PACKAGE" in line for line in JOB["before_script"])


def test_script_records_each_run_and_fails_the_job_like_the_action(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("title: no hypothesis, no method\n")
    done = _script({"CHAOSLAB_EXPERIMENTS": "broken.yaml"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert (tmp_path / "chaoslab-results" / "broken" / "exit_code").read_text().strip() == "2"
    summary = (tmp_path / "chaoslab-results" / "summary.md").read_text()
    assert "0 of 1 held." in summary and summary in done.stdout
    assert _script({"CHAOSLAB_EXPERIMENTS": ""}, tmp_path).returncode == 2
