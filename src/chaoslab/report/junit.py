"""JUnit XML for CI: one testsuite; testcases for the baseline, each clause and integrity.

CI tools (Jenkins, GitLab, GitHub test reporters) show failures by their `message`, so each one
says measured vs bound. A run that was aborted or could not run adds an `experiment` testcase
with an <error>, so CI turns red exactly when `chaoslab run` exits non-zero.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from chaoslab.report.analysis import Journal, duration, exit_meaning, integrity_ok
from chaoslab.report.journal_file import write_text_atomic
from chaoslab.report.summary import render_summary


def _phase(journal: Journal, name: str) -> dict[str, Any] | None:
    return next((p for p in journal.get("phases", []) if p.get("name") == name), None)


def _seconds(phase: dict[str, Any] | None) -> float:
    if not phase or phase.get("end") is None:
        return 0.0
    return max(0.0, phase["end"] - phase["start"])


def _case(suite: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{seconds:.3f}")


def _baseline(suite: ET.Element, cls: str, journal: Journal) -> None:
    phase = _phase(journal, "baseline")
    case = _case(suite, cls, "baseline: steady state holds", _seconds(phase))
    result = phase.get("result") if phase else None
    failed = [c for c in journal.get("clauses", []) if c.get("phase") == "baseline" and not c.get("passed")]
    if result == "not-held" or failed:
        detail = (
            "; ".join(f"{c.get('text')}: measured {c.get('measured')}, bound {c.get('bound')}" for c in failed)
            or "steady state did not hold"
        )
        ET.SubElement(case, "failure", type="BaselineNotMet", message=f"baseline not met: {detail}").text = detail
    elif result in ("skipped", None):
        ET.SubElement(case, "skipped", message="baseline was not evaluated")


def _clause(suite: ET.Element, cls: str, journal: Journal, clause: dict[str, Any]) -> None:
    case = _case(
        suite, cls, clause.get("text") or clause.get("id", "clause"), _seconds(_phase(journal, clause.get("phase", "")))
    )
    if clause.get("passed"):
        return
    message = (
        f"{clause.get('text')}: measured {clause.get('measured')}, "
        f"bound {clause.get('bound')} ({clause.get('phase')} phase)"
    )
    ET.SubElement(case, "failure", type="ClauseNotMet", message=message).text = message


def _integrity(suite: ET.Element, cls: str, integrity: dict[str, Any]) -> None:
    case = _case(suite, cls, "integrity: acknowledged writes intact, stock consistent", 0.0)
    if not integrity.get("checked"):
        ET.SubElement(case, "skipped", message="integrity was not checked")
        return
    if integrity_ok(integrity):
        return
    parts = [
        f"{k} {v}"
        for k, v in (
            ("lost", integrity.get("lost")),
            ("phantom", integrity.get("phantom")),
            ("changed", integrity.get("changed")),
        )
        if v
    ]
    if integrity.get("duplicates"):
        parts.append(f"duplicates {integrity['duplicates']}")
    for m in integrity.get("stock_mismatches") or []:
        parts.append(f"stock of product {m['product_id']}: expected {m['expected']}, actual {m['actual']}")
    if integrity.get("stock_consistent") is False and not integrity.get("stock_mismatches"):
        parts.append("stock inconsistent")
    message = "; ".join(parts)
    ET.SubElement(case, "failure", type="IntegrityViolated", message=message).text = message


def _experiment(suite: ET.Element, cls: str, journal: Journal) -> None:
    verdict = journal.get("verdict") or {}
    if verdict.get("outcome") not in ("aborted", "error"):
        return
    case = _case(suite, cls, "experiment ran to completion", duration(journal))
    code = int(verdict.get("exit_code", 2))
    message = f"exit {code} ({exit_meaning(code)}): {verdict.get('summary', '')}"
    ET.SubElement(case, "error", type=verdict["outcome"], message=message).text = message


def build_junit(journal: Journal) -> ET.Element:
    """The <testsuites> tree with its single <testsuite>."""
    exp = journal.get("experiment") or {}
    title = exp.get("title") or "chaoslab experiment"
    cls = "chaoslab." + "".join(ch if ch.isalnum() else "_" for ch in title).strip("_").lower()
    suite = ET.Element(
        "testsuite",
        name=title,
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(journal["started"])),
        time=f"{duration(journal):.3f}",
    )
    props = ET.SubElement(suite, "properties")
    fis = journal.get("fis") or {}
    verdict = journal.get("verdict") or {}
    for name, value in (
        ("experiment_file", exp.get("file")),
        ("fis_template_id", fis.get("template_id")),
        ("fis_experiment_id", fis.get("experiment_id")),
        ("outcome", verdict.get("outcome")),
        ("exit_code", verdict.get("exit_code")),
    ):
        if value is not None:
            ET.SubElement(props, "property", name=name, value=str(value))
    _baseline(suite, cls, journal)
    for clause in journal.get("clauses", []):
        _clause(suite, cls, journal, clause)
    _integrity(suite, cls, journal.get("integrity") or {})
    _experiment(suite, cls, journal)
    ET.SubElement(suite, "system-out").text = render_summary(journal)

    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    attributes = {
        "name": "chaoslab",
        "time": suite.get("time", "0"),
        **{k: str(v) for k, v in counts.items() if k != "skipped"},
    }
    root = ET.Element("testsuites", attributes)
    root.append(suite)
    return root


def write_junit(journal: Journal, path: str | os.PathLike[str]) -> Path:
    """Write the JUnit XML file CI reads; returns the path."""
    root = build_junit(journal)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return write_text_atomic(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
