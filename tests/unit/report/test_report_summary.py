"""render_summary: verdict, clauses, integrity, windows, aligned, color only on request."""

from __future__ import annotations

from report_journal_fixture import make_journal, with_changes

from chaoslab.report import render_summary


def test_refuted_summary_has_every_part(journal: dict) -> None:
    text = render_summary(journal, report_path="out/report.html")
    assert "Hypothesis REFUTED" in text and "exit 1" in text
    assert "✗  no user-visible errors" in text and "✓  error rate <= 1 %" in text
    assert "lost          0" in text and "phantom       0" in text
    assert "stock         consistent" in text
    assert "detection window     16.0 s    <= 35.0 s" in text
    assert "Report  out/report.html" in text
    probes = [r for r in journal["requests"] if r["probe"]]
    failed = [r for r in probes if r["status"] is None or r["status"] >= 500]
    assert f"Probes    {len(probes)} sent, {len(failed)} failed" in text
    assert "\x1b" not in text


def test_clause_columns_align(journal: dict) -> None:
    lines = render_summary(journal).splitlines()
    start = lines.index("Clauses")
    rows = lines[start + 1 : start + 7]
    col = rows[0].index("bound")
    for row, clause in zip(rows[1:], journal["clauses"], strict=False):
        assert row[col:].startswith(clause["bound"]), row


def test_color_only_when_asked(journal: dict) -> None:
    assert "\x1b[31m✗" in render_summary(journal, color=True)


def test_integrity_violation_and_held_verdict() -> None:
    j = make_journal()
    j = with_changes(j, verdict={"outcome": "held", "exit_code": 0, "summary": "ok"})
    j["integrity"].update(
        lost=[7, 9],
        phantom=[42],
        stock_consistent=False,
        stock_mismatches=[{"product_id": 3, "expected": 48, "actual": 47}],
    )
    text = render_summary(j)
    assert "Hypothesis held" in text and "exit 0: hypothesis held" in text
    assert "Integrity  ✗ VIOLATED" in text
    assert "lost          2  (orders 7, 9)" in text
    assert "product 3 expected 48 got 47" in text


def test_baseline_not_met_and_unchecked_integrity() -> None:
    j = with_changes(
        make_journal(),
        verdict={"outcome": "baseline-not-met", "exit_code": 2, "summary": "error rate 12 % in baseline"},
        integrity={"checked": False},
        windows={},
        requests=[],
        clauses=[],
    )
    text = render_summary(j)
    assert "Baseline not met" in text and "exit 2" in text
    assert "Integrity  not checked" in text and "Windows  none measured" in text


def test_failure_classes_match_the_runner() -> None:
    """5xx and every error kind are failures; 4xx are not; an error wins over a status."""
    from chaoslab.report.analysis import is_failure, outcome

    base = {"t": 0.0, "latency_ms": 1.0}
    assert outcome({**base, "status": 200, "error": None}) == "2xx"
    assert outcome({**base, "status": 404, "error": None}) == "4xx"
    assert outcome({**base, "status": 502, "error": None}) == "5xx"
    assert outcome({**base, "status": None, "error": "timeout"}) == "timeout"
    assert outcome({**base, "status": None, "error": "refused"}) == "no answer"
    assert outcome({**base, "status": 200, "error": "reset"}) == "no answer"
    assert not is_failure({**base, "status": 409, "error": None})
    assert is_failure({**base, "status": 200, "error": "reset"})
