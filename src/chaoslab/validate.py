"""`chaoslab validate FILE…`: lint FIS templates offline with the rules the API enforces, and say
for each file one of three things: invalid (AWS would reject it), valid but not runnable in the
lab (and what the lab cannot run, and why), or runnable.

A file is read as its consumer reads it (`chaoslab.lint.source`), recognised by its content
(`chaoslab.lint.shapes`: an API body, a GetExperimentTemplate answer, CloudFormation, an
experiment file, a stack file) and every issue is placed at its path, line and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaoslab.errors import ChaoslabError
from chaoslab.lint.shapes import Reading, readings
from chaoslab.lint.source import SourceError, read_source
from chaoslab.services.fis.runnable import Gap, gaps
from chaoslab.services.fis.validation import Issue, validate_template

__all__ = ["FileReport", "Issue", "LabGap", "check_file", "validate_paths"]


@dataclass(frozen=True)
class LabGap:
    """Something valid the lab cannot run, placed in the file."""

    file: str
    line: int | None
    column: int | None
    gap: Gap

    @property
    def path(self) -> str:
        return self.gap.path


@dataclass
class FileReport:
    """Everything `chaoslab validate` found in one file."""

    file: str
    read_as: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    gaps: list[LabGap] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def verdict(self) -> str:
        """invalid, not-runnable or runnable (a stack file is just valid)."""
        if self.errors:
            return "invalid"
        if self.gaps:
            return "not-runnable"
        return "valid" if self.kinds == {"stack"} else "runnable"


def validate_paths(paths: Iterable[str | Path]) -> list[Issue]:
    """Every issue (errors and warnings) in every file, each placed in its file."""
    return [issue for path in paths for issue in check_file(path).issues]


def check_file(path: str | Path) -> FileReport:
    name = str(path)
    report = FileReport(name)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.issues.append(Issue("(file)", f"cannot read: {exc}", file=name))
        return report
    try:
        source = read_source(name, text)
    except SourceError as exc:
        report.issues.append(Issue("(file)", exc.message, exc.hint, file=name, line=exc.line, column=exc.column))
        return report
    for reading in readings(source.data):
        report.read_as.append(reading.label)
        report.kinds.add(reading.kind)
        found, missing = _check(reading, source.data, path)
        for issue in found:
            line, column = source.locate(issue.path) or (None, None)
            report.issues.append(replace(issue, file=name, line=line, column=column))
        for gap in missing:
            line, column = source.locate(gap.path) or (None, None)
            report.gaps.append(LabGap(name, line, column, gap))
    return report


def _check(reading: Reading, document: Any, path: str | Path) -> tuple[list[Issue], list[Gap]]:
    """(issues, gaps) of one reading, their paths in the file's terms."""
    if reading.kind == "template":
        issues = reading.issues + [
            replace(i, path=_in_file(reading, i.path)) for i in validate_template(reading.template)
        ]
        if _has_errors(issues):
            return issues, []
        return issues, [replace(g, path=_in_file(reading, g.path)) for g in gaps(reading.template)]
    if reading.kind == "experiment":
        return _experiment(document, path)
    if reading.kind == "stack":
        return _stack(document), []
    return [
        Issue(
            "(file)",
            f"this is {reading.label}; nothing here is an FIS experiment template",
            "give a CreateExperimentTemplate body, a GetExperimentTemplate answer or a CloudFormation "
            "template with an AWS::FIS::ExperimentTemplate",
        )
    ], []


def _experiment(document: dict[str, Any], path: str | Path) -> tuple[list[Issue], list[Gap]]:
    from chaoslab.experiment.schema import (  # the runner owns that format
        experiment_template,
        template_file_issues,
        validate_experiment_document,
    )

    issues = validate_experiment_document(document) + template_file_issues(document, path)
    if _has_errors(issues):
        return issues, []
    template, where = experiment_template(document, Path(path))
    found = gaps(template) if isinstance(template, dict) else []
    # in another file: point at the key that names it
    return issues, [replace(g, path=f"template.{g.path}" if where == "template" else where) for g in found]


def _stack(document: dict[str, Any]) -> list[Issue]:
    from chaoslab.stack import validate_stack

    try:
        validate_stack(document, "")
    except ChaoslabError as exc:
        where = (exc.path or "").split(": ", 1)[-1].lstrip("$").lstrip(".") or "(file)"
        return [Issue(where, exc.message, exc.hint)]
    return []


def _has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == "error" for i in issues)


def _in_file(reading: Reading, path: str) -> str:
    return reading.source_path("" if path == "(template)" else path) or "(template)"
