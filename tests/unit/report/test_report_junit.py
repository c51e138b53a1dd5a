"""JUnit: parses with ElementTree, one suite, counts and messages right."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from report_journal_fixture import make_journal, with_changes

from chaoslab.report import write_junit


def _suite(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return suites[0]


def test_cases_and_failures(journal: dict, tmp_path: Path) -> None:
    suite = _suite(write_junit(journal, tmp_path / "junit.xml"))
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert names[0].startswith("baseline")
    assert names[-1].startswith("integrity")
    assert len(cases) == len(journal["clauses"]) + 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["no user-visible errors", "latency p99 <= 500 ms"]
    assert suite.get("tests") == str(len(cases)) and suite.get("failures") == "2"
    msg = failed[0].find("failure").get("message")
    assert "measured 91 errors" in msg and "bound 0 errors" in msg
    assert "Hypothesis REFUTED" in suite.find("system-out").text
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["exit_code"] == "1" and props["fis_experiment_id"] == "EXPEnJp6T52edQqh6J"


def test_integrity_failure_baseline_failure_and_abort(tmp_path: Path) -> None:
    j = make_journal()
    j["integrity"]["lost"] = [5]
    j["phases"][0]["result"] = "not-held"
    j = with_changes(j, verdict={"outcome": "aborted", "exit_code": 3, "summary": "stop condition chaos-lab-5xx"})
    suite = _suite(write_junit(j, tmp_path / "j.xml"))
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    assert by_name["baseline: steady state holds"].find("failure") is not None
    integrity = by_name["integrity: acknowledged writes intact, stock consistent"]
    assert "lost [5]" in integrity.find("failure").get("message")
    assert by_name["experiment ran to completion"].find("error") is not None
    assert suite.get("failures") == "4" and suite.get("errors") == "1"


def test_unchecked_integrity_is_skipped(tmp_path: Path) -> None:
    j = with_changes(make_journal(), integrity={"checked": False})
    suite = _suite(write_junit(j, tmp_path / "j.xml"))
    assert suite.get("skipped") == "1"
