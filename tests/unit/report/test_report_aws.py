"""What an `--aws` run adds to the reports, from its journal's `aws` entry; nothing for a lab run."""

from __future__ import annotations

from chaoslab.report import render_html, render_summary
from chaoslab.report.aws import cloudwatch_rows, summary_lines, template_fate


def _aws(**over: object) -> dict:
    entry = {
        "account": "111122223333",
        "region": "eu-west-1",
        "arn": "arn:aws:sts::111122223333:assumed-role/ci/run",
        "run_id": "abc123",
        "template_id": "EXT1",
        "template_created": True,
        "template_kept": False,
        "dry_run": False,
        "preview": {"experiment_id": "EXP0", "status": "completed", "resolved": []},
        "cloudwatch": [
            {"metric": "RequestCount", "stat": "Sum", "points": [[60.0, 100.0], [120.0, 20.0]]},
            {"metric": "HTTPCode_ELB_5XX_Count", "stat": "Sum", "points": []},
            {"metric": "TargetResponseTime", "stat": "Average", "points": [[60.0, 0.012], [120.0, 0.25]]},
        ],
    }
    return {**entry, **over}


def test_cloudwatch_rows_sum_counts_and_show_the_worst_average() -> None:
    rows = {r["metric"]: r["value"] for r in cloudwatch_rows({"aws": _aws()})}
    assert rows == {
        "RequestCount": "120  (sum, 2 x 60 s)",
        "HTTPCode_ELB_5XX_Count": "no datapoints",
        "TargetResponseTime": "0.250 s  (highest average, 2 x 60 s)",
    }


def test_the_templates_fate_is_said() -> None:
    assert template_fate({"aws": _aws()}) == "template EXT1 created and deleted"
    assert template_fate({"aws": _aws(template_kept=True)}) == "template EXT1 kept (--keep)"
    assert template_fate({"aws": _aws(template_created=False)}) == "existing template EXT1"


def test_summary_and_html_carry_it_and_a_lab_run_does_not(journal: dict) -> None:
    assert summary_lines(journal) == [] and 'id="cloudwatch"' not in render_html(journal)
    aws_run = {**journal, "aws": _aws(dry_run=True)}
    text = render_summary(aws_run)
    assert "AWS  account 111122223333  region eu-west-1  run abc123  (dry run: actionsMode skip-all)" in text
    assert "    RequestCount            120  (sum, 2 x 60 s)" in text
    html = render_html(aws_run)
    assert 'id="cloudwatch"' in html and "AWS account <b>111122223333</b>" in html and "(dry run)" in html
