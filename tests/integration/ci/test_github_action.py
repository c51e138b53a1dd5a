"""The composite GitHub Action (action.yml) checked offline: well-formed metadata whose
expressions name only declared inputs and real step outputs, steps that reference only files and
modules that exist, shell that parses — and its run, summary and verdict steps executed for real
on experiments that cannot run (no lab needed), ending the job with the documented exit code."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ci_steps import EXPRESSION, ROOT, VENV, evaluate, github_outputs, run_bash

ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
KNOWN_ACTIONS = {"actions/upload-artifact@v4"}


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def test_metadata_is_a_composite_action_with_declared_references() -> None:
    assert ACTION["name"] and ACTION["description"] and ACTION["runs"]["using"] == "composite"
    assert ACTION["inputs"]["experiments"]["required"] is True
    ids = {step["id"]: step for step in STEPS if "id" in step}
    expressions = [e for s in _strings(ACTION) for e in EXPRESSION.findall(s)]
    expressions += [step["if"] for step in STEPS if "if" in step]
    assert expressions
    for expr in expressions:
        for name in re.findall(r"\binputs\.([\w-]+)", expr):
            assert name in ACTION["inputs"], f"undeclared input {name}"
        for step_id, output in re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", expr):
            assert f"{output}=" in ids[step_id]["run"] and "GITHUB_OUTPUT" in ids[step_id]["run"]
        rest = re.sub(r"\b(inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+|always\(\))|''|!=|&&|\s", "", expr)
        assert rest == "", f"unexpected expression {expr!r}"


def test_steps_reference_only_what_exists_and_their_shell_parses(tmp_path: Path) -> None:
    for step in STEPS:
        assert ("run" in step) != ("uses" in step), step.get("name")
        if "uses" in step:
            assert step["uses"] in KNOWN_ACTIONS
            continue
        script = step["run"]
        assert step["shell"] == "bash"
        assert "${{" not in script, "expressions go through env, never into the script text"
        for module in re.findall(r"-m ([a-z_][\w.]*)", script):
            assert module == "venv" or importlib.util.find_spec(module) is not None, module
        for path in re.findall(r"\$GITHUB_ACTION_PATH/([\w./-]+)", script):
            assert (ROOT / path).exists(), path
        if '"$GITHUB_ACTION_PATH"' in script:  # pip installs the action's own checkout
            assert (ROOT / "pyproject.toml").exists()
        checked = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert checked.returncode == 0, (step["name"], checked.stderr)


def _run_steps(tmp_path: Path, inputs: dict[str, str]) -> tuple[dict[str, int], Path]:
    """Every step after the install, in order, as a runner would; returns each step's exit."""
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()} | inputs
    runner = {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "CHAOSLAB_VENV": str(VENV),  # what the install step exports
    }
    outputs: dict[str, dict[str, str]] = {}
    codes: dict[str, int] = {}
    for step in STEPS[1:]:
        if "uses" in step:
            continue
        (tmp_path / "output").write_text("")
        env = {k: evaluate(v, values, outputs) for k, v in step.get("env", {}).items()}
        done = run_bash(step["run"], {**runner, **env}, tmp_path)
        codes[step["name"]] = done.returncode
        if "id" in step:
            outputs[step["id"]] = github_outputs(tmp_path / "output")
    return codes, tmp_path / "summary.md"


def test_runs_that_cannot_run_end_the_job_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("title: no hypothesis, no method\n")
    codes, summary = _run_steps(tmp_path, {"experiments": "broken.yaml\nmissing.yml"})
    assert codes == {"Run experiments": 0, "Job summary": 0, "Fail on the experiments' exit codes": 2}
    for name in ("broken", "missing"):
        assert (tmp_path / "chaoslab-results" / name / "exit_code").read_text().strip() == "2"
    text = summary.read_text()
    assert "0 of 2 held." in text
    assert "| broken | ⚠️ exit 2: baseline not met or the experiment could not run |" in text
    assert "| missing | ⚠️ exit 2:" in text


@pytest.mark.parametrize(("worst", "job"), [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("", 2)])
def test_the_job_fails_by_the_documented_exit_codes(tmp_path: Path, worst: str, job: int) -> None:
    """The last step turns the worst run's code into the job's; no code at all (the run step
    never ran) is 'could not run'."""
    step = STEPS[-1]
    env = {k: evaluate(v, {}, {"run": {"exit-code": worst}}) for k, v in step["env"].items()}
    assert run_bash(step["run"], env, tmp_path).returncode == job
