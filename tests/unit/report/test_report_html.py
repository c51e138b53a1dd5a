"""HTML report: every section present, self-contained (no fetch from other hosts), escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from report_journal_fixture import make_journal, with_changes

from chaoslab.report import render_html, write_html

SECTIONS = [
    "verdict",
    "hypothesis",
    "clauses",
    "traffic",
    "chart-outcomes",
    "chart-latency",
    "health",
    "chart-hosts",
    "chart-alarms",
    "chart-units",
    "windows",
    "integrity",
    "probe-timeline",
    "events",
    "fis",
]


class _Refs(HTMLParser):
    """Collects ids and every attribute that makes a browser load something."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("src", "href", "xlink:href", "srcset", "data", "action") and value:
                self.refs.append(value)


def _parse(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


def test_sections_and_self_contained(journal: dict, tmp_path: Path) -> None:
    path = write_html(journal, tmp_path / "report.html")
    html = path.read_text()
    refs = _parse(html)
    assert set(SECTIONS) <= refs.ids
    assert not [r for r in refs.refs if re.match(r"(https?:)?//", r)], refs.refs
    assert "script" not in refs.tags and "link" not in refs.tags
    assert "@import" not in html and "url(" not in html
    assert "Hypothesis REFUTED" in html and "exit code 1" in html
    assert html.count('<svg class="chart"') == 5


def test_probe_timeline_and_content(journal: dict) -> None:
    html = render_html(journal)
    probes = [r for r in journal["requests"] if r["probe"]]
    lines = re.findall(r"<div class=\"(?:bad)?\">(\d\d:\d\d:\d\d - \d\d\d)</div>", html)
    assert len(lines) == len(probes)
    assert any(x.endswith(" - 000") for x in lines) and any(x.endswith(" - 502") for x in lines)
    assert "aws:ec2:stop-instances" in html and "chaos-lab-instances" in html
    assert "i-0a9a795f314c94f1e" in html  # the replacement's lifecycle
    assert "OK → ALARM" in html
    assert "≤ 35.0 s" in html and "16.0 s" in html


def test_user_text_is_escaped() -> None:
    j = make_journal()
    j["experiment"]["title"] = "<script>alert(1)</script>"
    assert "<script>alert" not in render_html(j)


def test_minimal_journal_renders() -> None:
    """A run that could not start still gets a report: no requests, series, FIS or events."""
    j = with_changes(
        make_journal(),
        requests=[],
        series={},
        fis=None,
        events=[],
        faults=[],
        clauses=[],
        integrity={"checked": False},
        windows={},
        verdict={"outcome": "error", "exit_code": 2, "summary": "lab not up"},
    )
    html = render_html(j)
    assert "Experiment could not run" in html and "No requests were recorded" in html
    assert '<svg class="chart"' not in html


def test_events_read_well_from_lab_shaped_fields() -> None:
    """Events as the lab emits them: old/new states, ARNs, times before the run started."""
    j = make_journal()
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/chaos-lab-tg/5344"
    j["events"] = [
        {
            "time": j["started"] - 0.5,
            "kind": "target.health",
            "target_group": tg,
            "target": "i-1",
            "port": 80,
            "state": "healthy",
            "old": "initial",
            "reason": None,
        },
        {
            "time": j["started"] + 10,
            "kind": "experiment.state",
            "experiment": "EXP1",
            "old": "initiating",
            "new": "running",
            "reason": "Experiment is running.",
        },
    ]
    html = render_html(j)
    assert "-0.5 s" in html and "initial → healthy" in html and "initiating → running" in html
    assert "target_group=chaos-lab-tg" in html and tg not in html


def test_phase_labels_of_adjacent_phases_share_one_label() -> None:
    j = make_journal()
    s = j["started"]
    j["phases"][1].update(start=s + 15.0, end=s + 15.05)
    j["phases"][2].update(start=s + 15.05)
    html = render_html(j)
    assert "injection · recovery" in html


def test_journal_of_a_run_cut_short() -> None:
    """An interrupted run: no end time, no phases, an alarm that never sampled, a fault still
    in effect; every report still renders from what is there."""
    from chaoslab.report import render_summary
    from chaoslab.report.junit import build_junit

    j = make_journal()
    j.update(ended=None, phases=[], lab={}, windows=None, integrity={})
    j["series"]["alarms"]["never-sampled"] = []
    html = render_html(j)
    assert "never-sampled" not in html and "chaos-lab-5xx" in html
    assert "still in effect at the end" in html
    assert "Windows  none measured" in render_summary(j)
    assert build_junit(j).find("testsuite").get("tests") == str(len(j["clauses"]) + 2)
