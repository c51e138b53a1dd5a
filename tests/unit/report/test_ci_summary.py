"""The CI job summary from result folders: a row per run (a journal's verdict and clauses, or
the exit code alone when the run left no journal) and the failed clauses of those that did not
hold, as the Markdown GitHub's job summary renders."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from chaoslab.report.ci_summary import load_result, render_markdown

EXPECTED = """\
## chaoslab experiments

1 of 3 held.

| experiment | verdict | clauses passed | duration |
|---|---|---|---|
| Stop one Chaos Shop instance | ❌ deviated (exit 1) | 3/5 | 60 s |
| Stop one Chaos Shop instance \\| retried | ✅ held (exit 0) | 5/5 | 60 s |
| broken | ⚠️ exit 2: baseline not met or the experiment could not run | – | – |

### Stop one Chaos Shop instance

Hypothesis refuted: 'no user-visible errors' did not hold.

- **no user-visible errors**: measured 91 errors, bound 0 errors (injection)
- **latency p99 <= 500 ms**: measured 5000 ms, bound <= 500 ms (injection)
"""


def _folder(root: Path, name: str, code: int, journal: dict[str, Any] | None) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "exit_code").write_text(f"{code}\n")
    if journal is not None:
        (folder / "journal.json").write_text(json.dumps(journal))
    return folder


def test_summary_of_a_deviated_a_held_and_an_unrunnable_run(tmp_path: Path, journal: dict[str, Any]) -> None:
    held = copy.deepcopy(journal)
    held["experiment"]["title"] += " | retried"  # a pipe must not split the table cell
    for clause in held["clauses"]:
        clause["passed"] = True
    held["verdict"] = {"outcome": "held", "exit_code": 0, "summary": "Hypothesis held."}
    folders = [
        _folder(tmp_path, "seed003-stop-instance", 1, journal),
        _folder(tmp_path, "seed003-retried", 0, held),
        _folder(tmp_path, "broken", 2, None),
    ]
    assert render_markdown([load_result(f) for f in folders]) == EXPECTED
    # the module as CI calls it
    out = subprocess.run(
        [sys.executable, "-m", "chaoslab.report.ci_summary", *map(str, folders)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == EXPECTED


def test_a_folder_without_exit_code_or_readable_journal_counts_as_could_not_run(tmp_path: Path) -> None:
    folder = tmp_path / "half-written"
    folder.mkdir()
    (folder / "journal.json").write_text('{"verdict": ')
    result = load_result(folder)
    assert (result.exit_code, result.journal) == (2, None)
