"""An experiment whose template asks for what the lab cannot run stops before a lab is started,
naming the action and why, unless the file says `fis: {skip_unsupported_actions: true}`; then it
loads, `chaoslab validate` still names what will be skipped, and the run tags StartExperiment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaoslab.errors import ChaoslabError
from chaoslab.experiment.schema import bundled_experiments, load_experiment
from chaoslab.validate import check_file

LAMBDA_TARGET = {"resourceType": "aws:lambda:function", "resourceTags": {"app": "shop"}, "selectionMode": "ALL"}
LAMBDA_ACTION = {
    "actionId": "aws:lambda:invocation-add-delay",
    "parameters": {"duration": "PT1M"},
    "targets": {"Functions": "Fns"},
}


def _experiment(**over: Any) -> dict[str, Any]:
    doc = yaml.safe_load(bundled_experiments()["seed003-stop-instance"].read_text())
    doc["template"]["targets"]["Fns"] = LAMBDA_TARGET
    doc["template"]["actions"]["Delay"] = LAMBDA_ACTION
    doc.update(over)
    return doc


def test_an_action_the_lab_cannot_run_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(_experiment()))
    with pytest.raises(ChaoslabError) as err:
        load_experiment(path)
    assert err.value.message == (
        "Action Delay (aws:lambda:invocation-add-delay) cannot run in chaoslab: the lab has "
        "no Lambda functions. (and 1 more)"
    )
    assert err.value.path == f"{path}: template.actions.Delay.actionId"
    assert "skip_unsupported_actions: true" in (err.value.hint or "")


def test_skip_option_loads_and_validate_still_names_what_will_be_skipped(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(_experiment(fis={"skip_unsupported_actions": True})))
    assert load_experiment(path)["fis"] == {"skip_unsupported_actions": True}
    report = check_file(path)
    assert report.verdict == "not-runnable"
    assert [(g.path, g.gap.what) for g in report.gaps] == [
        ("template.actions.Delay.actionId", "aws:lambda:invocation-add-delay"),
        ("template.targets.Fns.resourceType", "aws:lambda:function"),
    ]
    assert all(g.line for g in report.gaps)


def test_a_template_file_is_checked_too(tmp_path: Path) -> None:
    doc = _experiment()
    (tmp_path / "t.json").write_text(json.dumps(doc.pop("template")))
    doc["template_file"] = "t.json"
    (tmp_path / "e.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ChaoslabError) as err:
        load_experiment(tmp_path / "e.yaml")
    assert err.value.path == f"{tmp_path / 'e.yaml'}: template_file"
    assert [g.path for g in check_file(tmp_path / "e.yaml").gaps] == ["template_file", "template_file"]


def test_the_option_is_part_of_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(_experiment(fis={"skip_unsupported": True})))
    assert [i.path for i in check_file(path).errors] == ["fis"]
