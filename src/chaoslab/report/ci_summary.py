"""A CI job summary in Markdown from the result folders of `chaoslab run` (docs/ci.md).

    python -m chaoslab.report.ci_summary RESULT_DIR [RESULT_DIR ...]

Each folder is one run's `--report` directory: `journal.json` if the run got that far, and
`exit_code`, the run's exit status as the CI script recorded it. A run that could not start
leaves no journal, so the exit code alone must still make a row. Markdown goes to stdout, ready
for GitHub's `$GITHUB_STEP_SUMMARY` or a GitLab artifact; the job's result is left to the exit
codes themselves.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslab.report.analysis import duration, exit_meaning

MARKS = {0: "✅", 1: "❌", 2: "⚠️", 3: "🛑"}


@dataclass(frozen=True)
class RunResult:
    """One experiment's outcome as CI saw it: its folder, its exit code, its journal if any."""

    name: str
    exit_code: int
    journal: dict[str, Any] | None


def load_result(folder: Path) -> RunResult:
    """Read a result folder; a missing or unreadable journal leaves only the exit code."""
    code_file = folder / "exit_code"
    code = int(code_file.read_text().strip()) if code_file.exists() else 2
    journal_file = folder / "journal.json"
    journal: dict[str, Any] | None = None
    if journal_file.exists():
        try:
            journal = json.loads(journal_file.read_text())
        except ValueError:
            journal = None
    return RunResult(folder.name, code, journal)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(result: RunResult) -> str:
    mark = MARKS.get(result.exit_code, "⚠️")
    journal = result.journal
    if journal is None:
        return f"| {_cell(result.name)} | {mark} exit {result.exit_code}: {exit_meaning(result.exit_code)} | – | – |"
    title = (journal.get("experiment") or {}).get("title") or result.name
    clauses = journal.get("clauses") or []
    passed = sum(1 for c in clauses if c.get("passed"))
    verdict = journal.get("verdict") or {}
    outcome = verdict.get("outcome", "unknown")
    return (
        f"| {_cell(title)} | {mark} {_cell(outcome)} (exit {result.exit_code}) "
        f"| {passed}/{len(clauses)} | {duration(journal):.0f} s |"
    )


def _details(result: RunResult) -> list[str]:
    """What a reader needs when a run did not hold: the verdict and every failed clause."""
    journal = result.journal
    if journal is None or result.exit_code == 0:
        return []
    title = (journal.get("experiment") or {}).get("title") or result.name
    lines = [f"### {title}", ""]
    summary = (journal.get("verdict") or {}).get("summary")
    if summary:
        lines += [_cell(summary), ""]
    for clause in journal.get("clauses") or []:
        if not clause.get("passed"):
            lines.append(
                f"- **{_cell(clause.get('text'))}**: measured {_cell(clause.get('measured'))}, "
                f"bound {_cell(clause.get('bound'))} ({_cell(clause.get('phase'))})"
            )
    return [*lines, ""]


def render_markdown(results: list[RunResult]) -> str:
    """The summary: one table row per run, then the failures of those that did not hold."""
    held = sum(1 for r in results if r.exit_code == 0)
    lines = [
        "## chaoslab experiments",
        "",
        f"{held} of {len(results)} held.",
        "",
        "| experiment | verdict | clauses passed | duration |",
        "|---|---|---|---|",
        *(_row(r) for r in results),
        "",
    ]
    for result in results:
        lines += _details(result)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslab.report.ci_summary", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, metavar="RESULT_DIR")
    args = parser.parse_args(argv)
    sys.stdout.write(render_markdown([load_result(f) for f in args.folders]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
