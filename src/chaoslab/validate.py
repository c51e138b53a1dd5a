"""`chaoslab validate FILE…`: lint FIS templates offline with the rules the API enforces.

A file is JSON or YAML and holds a bare template, a `--cli-input-json` body (the template plus
`clientToken`), a GetExperimentTemplate answer (`{"experimentTemplate": …}`), or an experiment
file (`chaoslab run`'s format, checked by `chaoslab.experiment.schema`) whose `template:` key
holds the template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import yaml

from chaoslab.services.fis.validation import Issue, validate_template

__all__ = ["Issue", "validate_paths", "validate_document"]

# Fields GetExperimentTemplate adds that a create body must not carry.
_READ_ONLY = ("id", "arn", "creationTime", "lastUpdateTime", "targetAccountConfigurationsCount")


def validate_paths(paths: Iterable[str | Path]) -> list[Issue]:
    """Every issue in every file, each tagged with its file name."""
    issues: list[Issue] = []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue("(file)", f"cannot read: {exc}", file=name))
            continue
        try:
            document = _parse(name, text)
        except ValueError as exc:
            issues.append(Issue("(file)", str(exc), "check the JSON/YAML syntax", file=name))
            continue
        issues.extend(_tag(validate_document(document), name))
        if _is_experiment(document):
            from chaoslab.experiment.schema import template_file_issues

            issues.extend(_tag(template_file_issues(document, path), name))
    return issues


# An experiment file names its template in one of these ways (template_file: the JSON beside it).
_EXPERIMENT_KEYS = {"template", "template_file", "template_id", "hypothesis"}


def validate_document(document: Any) -> list[Issue]:
    """Issues of one parsed file, paths relative to the template it contains."""
    if isinstance(document, dict) and "experimentTemplate" in document:
        template = dict(document["experimentTemplate"] or {})
        for key in _READ_ONLY:
            template.pop(key, None)
        return validate_template(template)
    if _is_experiment(document):
        return validate_experiment_file(document)
    return validate_template(document)


def _is_experiment(document: Any) -> bool:
    return isinstance(document, dict) and "experimentTemplate" not in document \
        and bool(_EXPERIMENT_KEYS & document.keys())


def validate_experiment_file(document: dict[str, Any]) -> list[Issue]:
    """Experiment files: the runner's schema, then the FIS template under `template.`."""
    from chaoslab.experiment.schema import validate_experiment_document  # the runner owns that format

    return validate_experiment_document(document)


def _parse(name: str, text: str) -> Any:
    if name.endswith((".yaml", ".yml")):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            raise ValueError(f"not valid JSON: {exc}") from exc


def _tag(issues: list[Issue], name: str) -> list[Issue]:
    return [Issue(i.path, i.message, i.hint, i.severity, i.code, file=name) for i in issues]
