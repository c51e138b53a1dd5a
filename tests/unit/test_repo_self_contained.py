"""The repository stands alone: no tracked text file cites a document that lives outside it.

Facts the code relies on (AWS semantics, what each seed scenario is, the stable interface) are
written in docs/; a citation must point inside the repository. This scans every tracked text
file (`git ls-files`; binary files and symlinks skipped) for names and paths of the design notes,
reference notes and seed texts the project was started from, and names each hit by file and
line. The patterns are written so that this file does not match them itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (what it is, pattern). Escaped dots and character classes keep the patterns' own source text
# from matching, so this module is scanned like any other.
OUTSIDE_CITATIONS: list[tuple[str, re.Pattern[str]]] = [
    ("the design notes", re.compile(r"\bDESIGN\.md\b")),
    ("the style notes", re.compile(r"\bSTYLE\.md\b")),
    ("the emulation reference notes", re.compile(r"\bemulation\.md\b")),
    ("the FIS reference notes", re.compile(r"\bfis_facts\.md\b")),
    ("the peer-tool reference notes", re.compile(r"\bpeers\.md\b")),
    ("a path into the shared folder beside the repository", re.compile(r"\.\./shared\b")),
    ("the shared reference or seed folders", re.compile(r"\bshared/(?:reference|seeds)\b")),
    ("a seed file name", re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")),
]


def tracked_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    proc = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout: {proc.stderr.decode(errors='replace').strip()}")
    return [ROOT / name for name in proc.stdout.decode().split("\0") if name]


def text_of(path: Path) -> str | None:
    """The file's text, or None for what is not a regular text file (binary, symlink, deleted)."""
    if os.path.islink(path) or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_citations(text: str) -> list[tuple[int, str, str]]:
    """(line number, what is cited, the matched text) for every citation of an outside document."""
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in OUTSIDE_CITATIONS:
            for match in pattern.finditer(line):
                hits.append((number, what, match.group(0)))
    return hits


def test_patterns_catch_what_they_are_for() -> None:
    cited = [
        "exit codes follow " + "DESIGN" + ".md §2",
        "see " + "emulation" + ".md §4.2",
        "per " + "STYLE" + ".md",
        "../" + "shared/DESIGN",
        "/work/" + "shared/" + "reference/fis_facts" + ".md",
        "seeds: " + "003_" + "0123456789abcdef" + ".txt",
    ]
    for line in cited:
        assert outside_citations(line), line
    fine = [
        "seed 003's probe loop",
        "examples/seed003-stop-instance/README.md",
        "../docs/examples.md",
        "canonical_path('/a/./b/../c/')",
        "docs/cloudwatch.md",
    ]
    for line in fine:
        assert not outside_citations(line), line


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    problems = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, what, matched in outside_citations(text):
            problems.append(f"{path.relative_to(ROOT)}:{number}: cites {what} ({matched!r})")
    assert not problems, (
        "these lines cite documents outside the repository; state the fact in docs/ and point "
        "there instead:\n" + "\n".join(problems)
    )
