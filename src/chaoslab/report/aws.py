"""What an `--aws` run adds to its reports (the journal's `aws` entry): the account, region and
run id, what became of the template, and CloudWatch's own counts of the load balancer over the
run beside what the workload saw. Pure functions of the journal, like every report."""

from __future__ import annotations

from typing import Any

Journal = dict[str, Any]


def cloudwatch_rows(journal: Journal) -> list[dict[str, str]]:
    """One row per metric read (GetMetricData): its statistic over the run's periods, or that
    CloudWatch had no datapoint (new load balancer, or metrics not yet published)."""
    rows = []
    for m in (journal.get("aws") or {}).get("cloudwatch") or []:
        values = [v for _, v in m["points"]]
        if not values:
            shown = "no datapoints"
        elif m["stat"] == "Sum":
            shown = f"{sum(values):g}  (sum, {len(values)} x 60 s)"
        else:
            shown = f"{max(values):.3f} s  (highest {m['stat'].lower()}, {len(values)} x 60 s)"
        rows.append({"metric": m["metric"], "value": shown})
    return rows


def template_fate(journal: Journal) -> str:
    aws = journal.get("aws") or {}
    if not aws.get("template_created"):
        return f"existing template {aws.get('template_id')}"
    return f"template {aws.get('template_id')} " + (
        "kept (--keep)" if aws.get("template_kept") else "created and deleted"
    )


def summary_lines(journal: Journal) -> list[str]:
    """The terminal summary's AWS block; empty for a lab run."""
    aws = journal.get("aws")
    if not aws:
        return []
    dry = "  (dry run: actionsMode skip-all)" if aws.get("dry_run") else ""
    out = [
        f"AWS  account {aws['account']}  region {aws['region']}  run {aws['run_id']}{dry}",
        f"  {template_fate(journal)}",
    ]
    rows = cloudwatch_rows(journal)
    if rows:
        out.append("  CloudWatch, AWS/ApplicationELB over the run:")
        width = max(len(r["metric"]) for r in rows)
        out += [f"    {r['metric']:{width}}  {r['value']}" for r in rows]
    return out
