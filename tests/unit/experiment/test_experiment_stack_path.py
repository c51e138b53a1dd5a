"""An experiment's `stack:` path is relative to the experiment file (examples/<x>/stack.yaml)."""

from pathlib import Path

import yaml

from chaoslab.experiment.schema import load_experiment

BODY = {
    "title": "t",
    "template_id": "EXT123",
    "hypothesis": {"if": "a", "then": "b", "clauses": [{"type": "error_rate", "max_percent": 1}]},
}


def _write(tmp_path: Path, stack: str) -> Path:
    folder = tmp_path / "example"
    folder.mkdir()
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump({**BODY, "stack": stack}))
    return path


def test_relative_stack_file_resolves_next_to_the_experiment(tmp_path, monkeypatch):
    path = _write(tmp_path, "stack.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_experiment(path)["stack"] == str(path.parent / "stack.yaml")


def test_bundled_stack_names_and_absolute_paths_are_kept(tmp_path):
    assert load_experiment(_write(tmp_path, "pet-payment"))["stack"] == "pet-payment"
    absolute = str(tmp_path / "elsewhere" / "s.yaml")
    path = tmp_path / "abs.yaml"
    path.write_text(yaml.safe_dump({**BODY, "stack": absolute}))
    assert load_experiment(path)["stack"] == absolute
