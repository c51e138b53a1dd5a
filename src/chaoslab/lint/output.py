"""`chaoslab validate`'s three output formats: text for people, json for tools, github for GitHub
Actions workflow annotations (`::error file=F,line=L,col=C::message`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chaoslab.validate import FileReport, LabGap

FORMATS = ("text", "json", "github")


def render(reports: list[FileReport], fmt: str) -> str:
    return {"text": _text, "json": _json, "github": _github}[fmt](reports)


def summary(report: FileReport) -> str:
    """One line: the file's verdict and what it was read as."""
    read_as = f" (read as {'; '.join(report.read_as)})" if report.read_as else ""
    warnings = len(report.issues) - len(report.errors)
    tail = f", {warnings} warning(s)" if warnings else ""
    if report.verdict == "invalid":
        return f"{report.file}: invalid: {len(report.errors)} error(s){tail}{read_as}"
    if report.verdict == "not-runnable":
        return f"{report.file}: valid, but not runnable in chaoslab: {len(report.gaps)} part(s){tail}{read_as}"
    if report.verdict == "valid":
        return f"{report.file}: valid{tail}{read_as}"
    return f"{report.file}: valid, runnable in chaoslab{tail}{read_as}"


def gap_text(gap: LabGap) -> str:
    g = gap.gap
    return f"{gap.path}: {g.kind} {g.name} ({g.what}) cannot run in chaoslab: {g.reason}"


def _where(file: str, line: int | None, column: int | None) -> str:
    return file + (f":{line}:{column}" if line else "")


def _text(reports: list[FileReport]) -> str:
    lines = []
    for report in reports:
        lines += [issue.format() for issue in report.issues]
        lines += [f"{_where(g.file, g.line, g.column)}: not runnable: {gap_text(g)}" for g in report.gaps]
        lines.append(summary(report))
    return "\n".join(lines)


def _json(reports: list[FileReport]) -> str:
    files: list[dict[str, Any]] = []
    for report in reports:
        files.append(
            {
                "file": report.file,
                "verdict": report.verdict,
                "read_as": report.read_as,
                "issues": [
                    {
                        "severity": i.severity,
                        "path": i.path,
                        "line": i.line,
                        "column": i.column,
                        "message": i.message,
                        "hint": i.hint,
                        "code": i.code,
                    }
                    for i in report.issues
                ],
                "not_runnable": [
                    {
                        "path": g.path,
                        "line": g.line,
                        "column": g.column,
                        "kind": g.gap.kind,
                        "name": g.gap.name,
                        "what": g.gap.what,
                        "reason": g.gap.reason,
                    }
                    for g in report.gaps
                ],
            }
        )
    return json.dumps({"valid": not any(r.errors for r in reports), "files": files}, indent=2)


def _escape(text: str, prop: bool = False) -> str:
    """GitHub's workflow-command escaping (properties also escape ':' and ',')."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _annotation(level: str, file: str, line: int | None, column: int | None, title: str, message: str) -> str:
    props = [f"file={_escape(file, True)}"]
    if line:
        props += [f"line={line}", f"col={column}"]
    props.append(f"title={_escape(title, True)}")
    return f"::{level} {','.join(props)}::{_escape(message)}"


def _github(reports: list[FileReport]) -> str:
    lines = []
    for report in reports:
        for i in report.issues:
            hint = f" (hint: {i.hint})" if i.hint else ""
            lines.append(_annotation(i.severity, report.file, i.line, i.column, i.path, i.message + hint))
        for g in report.gaps:
            lines.append(_annotation("notice", report.file, g.line, g.column, "not runnable in chaoslab", gap_text(g)))
        lines.append(summary(report))
    return "\n".join(lines)
