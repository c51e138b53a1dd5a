"""The HTML report: one self-contained file (inline CSS and SVG) that works offline and prints.

This module turns the journal into the template's context; the charts come from `svg`, the
layout from `templates/report.html.j2`. No scripts, fonts or images are fetched from anywhere.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from chaoslab.report import aws, svg
from chaoslab.report.analysis import (
    Journal,
    clock,
    duration,
    exit_meaning,
    failure_span,
    fault_windows,
    integrity_ok,
    is_failure,
    latency_series,
    probe_line,
    seconds,
    totals,
    verdict_title,
    window_rows,
)
from chaoslab.report.journal_file import write_text_atomic

_ENV = Environment(
    loader=PackageLoader("chaoslab.report", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)

_VERDICT_CLASS = {"held": "pass", "deviated": "fail", "baseline-not-met": "warn", "aborted": "warn", "error": "neutral"}
# For each event kind: the field naming what changed and the field saying its new state.
_EVENT_FIELDS = {
    "unit.state": ("unit_id", "state"),
    "target.health": ("target", "state"),
    "alarm.state": ("alarm", "new"),
    "fault.applied": ("target", "fault"),
    "fault.reverted": ("target", "fault"),
    "asg.activity": ("group", "description"),
    "scaling.activity": ("resource", "capacity"),
    "experiment.state": ("experiment", "state"),
    "db.failover": ("cluster", "state"),
}


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _tz_note(t: float) -> str:
    """Clock times are local, like seed 003's probe loop; say which zone they are in."""
    offset = time.strftime("%z", time.localtime(t))
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "local time"


def _phases(journal: Journal) -> list[dict[str, Any]]:
    start = journal["started"]
    rows = []
    for p in journal.get("phases", []):
        end = p.get("end")
        rows.append(
            {
                "name": p["name"],
                "start": f"{p['start'] - start:+.1f} s",
                "end": "—" if end is None else f"{end - start:+.1f} s",
                "duration": "—" if end is None else f"{end - p['start']:.1f} s",
                "result": p.get("result") or "—",
                "cls": {"held": "pass", "not-held": "fail"}.get(p.get("result") or "", "neutral"),
            }
        )
    return rows


def _charts(journal: Journal) -> dict[str, Markup | None]:
    start, length = journal["started"], duration(journal)
    windows = [svg.Window(a - start, b - start, label) for a, b, label in fault_windows(journal)]
    bounds = [svg.Boundary(p["start"] - start, p["name"]) for p in journal.get("phases", [])]
    buckets = seconds(journal)
    series = journal.get("series") or {}
    rel = [(t - start, v) for t, v in series.get("healthy_hosts") or []]
    rel_bad = [(t - start, v) for t, v in series.get("unhealthy_hosts") or []]
    alarms = {name: [(t - start, s) for t, s in pts] for name, pts in (series.get("alarms") or {}).items() if pts}
    units: dict[str, list[tuple[float, str]]] = {}
    for e in sorted(journal.get("events", []), key=lambda e: e.get("time", 0.0)):
        if e.get("kind") == "unit.state" and e.get("unit_id") and e.get("state"):
            units.setdefault(str(e["unit_id"]), []).append((e["time"] - start, str(e["state"])))
    has_requests = bool(journal.get("requests"))
    return {
        "outcomes": Markup(svg.outcome_chart([b.counts for b in buckets], length, windows, bounds))
        if has_requests
        else None,
        "latency": Markup(svg.latency_chart(latency_series(buckets), length, windows, bounds))
        if has_requests
        else None,
        "hosts": Markup(svg.hosts_chart(rel, rel_bad, length, windows, bounds)) if rel else None,
        "alarms": Markup(
            svg.lanes_chart(dict(sorted(alarms.items())), svg.ALARM_COLORS, length, windows, bounds, "Alarm states")
        )
        if alarms
        else None,
        "units": Markup(svg.lanes_chart(units, svg.UNIT_COLORS, length, windows, bounds, "Unit lifecycle"))
        if units
        else None,
    }


def _figures(journal: Journal) -> list[dict[str, str]]:
    """The handful of numbers a reader wants before anything else."""
    t = totals(journal.get("requests", []))
    figs = [
        {
            "label": "requests",
            "value": str(t.requests),
            "sub": f"{t.failures} failed",
            "cls": "fail" if t.failures else "pass",
        },
        {
            "label": "error rate",
            "value": f"{t.error_rate * 100:.1f} %",
            "sub": "5xx or no answer",
            "cls": "fail" if t.failures else "pass",
        },
    ]
    span = failure_span(journal.get("requests", []))
    windows = journal.get("windows") or {}
    bound = windows.get("detection_bound_s")
    detect = windows.get("detection_window_s")
    if detect is not None:
        figs.append(
            {
                "label": "detection window",
                "value": f"{detect:.1f} s",
                "sub": f"bound {bound:.1f} s" if bound is not None else "no bound",
                "cls": "fail" if bound is not None and detect > bound else "pass",
            }
        )
    elif span:
        figs.append(
            {
                "label": "failures span",
                "value": f"{span[1] - span[0]:.1f} s",
                "sub": f"{clock(span[0])} – {clock(span[1])}",
                "cls": "fail",
            }
        )
    integrity = journal.get("integrity") or {}
    if integrity.get("checked"):
        ok = integrity_ok(integrity)
        figs.append(
            {
                "label": "data integrity",
                "value": "intact" if ok else "violated",
                "sub": f"{integrity.get('acknowledged', 0)} acknowledged, {len(integrity.get('lost') or [])} lost",
                "cls": "pass" if ok else "fail",
            }
        )
    return figs


def _integrity(journal: Journal) -> dict[str, Any]:
    i = journal.get("integrity") or {}
    lost, phantom, changed = i.get("lost") or [], i.get("phantom") or [], i.get("changed") or []
    stock = i.get("stock_consistent")
    rows = [
        (
            "acknowledged writes",
            str(i.get("acknowledged", 0)),
            "201 with an order id; each must read back the same",
            "pass" if not lost else "fail",
        ),
        (
            "lost",
            str(len(lost)) + (f" — orders {', '.join(map(str, lost[:20]))}" if lost else ""),
            "acknowledged but missing afterwards",
            "fail" if lost else "pass",
        ),
        (
            "phantom",
            str(len(phantom)) + (f" — orders {', '.join(map(str, phantom[:20]))}" if phantom else ""),
            "present but never requested",
            "fail" if phantom else "pass",
        ),
        ("changed", str(len(changed)), "acknowledged but read back different", "fail" if changed else "pass"),
        ("ambiguous", str(i.get("ambiguous", 0)), "timeout or 5xx on a write: either outcome is allowed", "neutral"),
        (
            "duplicates",
            str(i.get("duplicates", 0)),
            "one request, more than one order",
            "fail" if i.get("duplicates") else "pass",
        ),
        (
            "stock consistent",
            {True: "yes", False: "NO", None: "not checked"}[stock],
            "initial stock − stock = sum of ordered quantities",
            {True: "pass", False: "fail", None: "neutral"}[stock],
        ),
    ]
    return {
        "checked": bool(i.get("checked")),
        "ok": integrity_ok(i),
        "rows": [dict(zip(("name", "value", "meaning", "cls"), r, strict=False)) for r in rows],
        "mismatches": i.get("stock_mismatches") or [],
        "notes": i.get("notes") or [],
    }


def _windows(journal: Journal) -> list[dict[str, Any]]:
    rows = []
    table = window_rows(journal)
    longest = max([v for _, m, b, _ in table for v in (m, b) if v is not None] + [0.0])
    for label, measured, bound, meaning in table:
        cls = "neutral"
        if measured is not None and bound is not None:
            cls = "pass" if measured <= bound else "fail"
        rows.append(
            {
                "label": label,
                "meaning": meaning,
                "cls": cls,
                "measured": "—" if measured is None else f"{measured:.1f} s",
                "bound": "—" if bound is None else f"≤ {bound:.1f} s",
                "bar": Markup(svg.window_bar(measured, bound, longest)),
            }
        )
    return rows


def _short(value: Any) -> str:
    """An ARN shown by its resource name (`targetgroup/chaos-lab-tg/5344...` -> `chaos-lab-tg`):
    the table is for reading; the journal keeps the full ARN."""
    text = str(value)
    if not text.startswith("arn:"):
        return text
    resource = text.split(":", 5)[-1]
    parts = resource.replace(":", "/").split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "targetgroup" else parts[-1]


def _events(journal: Journal) -> list[dict[str, str]]:
    start = journal["started"]
    rows = []
    for e in sorted(journal.get("events", []), key=lambda e: e.get("time", 0.0)):
        kind = e.get("kind", "")
        subject_key, state_key = _EVENT_FIELDS.get(kind, ("", ""))
        state_key = next((k for k in (state_key, "new", "state") if e.get(k)), state_key)
        rest = {
            k: v
            for k, v in e.items()
            if k not in ("time", "kind", "old", "arn", subject_key, state_key) and v not in (None, "")
        }
        detail = rest.pop("reason", "") or rest.pop("cause", "")
        extra = ", ".join(f"{k}={_short(v)}" for k, v in rest.items())
        state = str(e.get(state_key, ""))
        if e.get("old") and e["old"] != state:
            state = f"{e['old']} → {state}"
        rows.append(
            {
                "clock": clock(e.get("time", start)),
                "offset": f"{e.get('time', start) - start:+.1f} s",
                "kind": kind,
                "subject": _short(e.get(subject_key, "")),
                "state": state,
                "detail": "; ".join(x for x in (str(detail), extra) if x),
            }
        )
    return rows


def _fis(journal: Journal) -> dict[str, Any] | None:
    fis = journal.get("fis")
    if not fis:
        return None
    start = journal["started"]

    def at(t: float | None) -> str:
        return "—" if t is None else f"{clock(t)} ({t - start:+.1f} s)"

    actions = [
        {
            "name": name,
            "action_id": a.get("actionId", ""),
            "status": (a.get("state") or {}).get("status", ""),
            "reason": (a.get("state") or {}).get("reason", ""),
            "start": at(a.get("startTime")),
            "end": at(a.get("endTime")),
        }
        for name, a in (fis.get("actions") or {}).items()
    ]
    return {
        "template_id": fis.get("template_id"),
        "experiment_id": fis.get("experiment_id"),
        "status": (fis.get("state") or {}).get("status", ""),
        "reason": (fis.get("state") or {}).get("reason", ""),
        "actions": actions,
        "targets": fis.get("resolved_targets") or [],
        "faults": [
            {
                "action": f.get("action", ""),
                "action_id": f.get("action_id", ""),
                "start": at(f.get("start")),
                "end": at(f.get("end")) if f.get("end") else "still in effect at the end",
                "targets": f.get("targets") or [],
            }
            for f in journal.get("faults", [])
        ],
    }


def _probes(journal: Journal) -> dict[str, Any]:
    probes = [r for r in journal.get("requests", []) if r.get("probe")]
    return {
        "lines": [{"text": probe_line(r), "failed": is_failure(r)} for r in probes],
        "count": len(probes),
        "failed": sum(1 for r in probes if is_failure(r)),
    }


def render_html(journal: Journal) -> str:
    """The report as one HTML string."""
    exp = journal.get("experiment") or {}
    verdict = journal.get("verdict") or {}
    code = int(verdict.get("exit_code", 2))
    endpoints = sorted({r.get("endpoint", "") for r in journal.get("requests", [])})
    per_endpoint = [
        {"endpoint": ep, "totals": totals(r for r in journal.get("requests", []) if r.get("endpoint") == ep)}
        for ep in endpoints
    ]
    context = {
        "exp": exp,
        "hyp": exp.get("hypothesis") or {},
        "lab": journal.get("lab") or {},
        "started_utc": _utc(journal["started"]),
        "duration": f"{duration(journal):.1f} s",
        "tz": _tz_note(journal["started"]),
        "verdict": {
            "title": verdict_title(journal),
            "code": code,
            "meaning": exit_meaning(code),
            "summary": verdict.get("summary", ""),
            "cls": _VERDICT_CLASS.get(verdict.get("outcome", "error"), "neutral"),
        },
        "figures": _figures(journal),
        "phases": _phases(journal),
        "charts": _charts(journal),
        "outcome_colors": svg.OUTCOME_COLORS,
        "latency_colors": svg.LATENCY_COLORS,
        "alarm_colors": svg.ALARM_COLORS,
        "unit_colors": svg.UNIT_COLORS,
        "clauses": journal.get("clauses", []),
        "integrity": _integrity(journal),
        "windows": _windows(journal),
        "recoveries": journal.get("recoveries") or [],
        "events": _events(journal),
        "fis": _fis(journal),
        "probes": _probes(journal),
        "endpoints": per_endpoint,
        "aws": journal.get("aws"),
        "aws_template": aws.template_fate(journal),
        "cloudwatch": aws.cloudwatch_rows(journal),
    }
    return _ENV.get_template("report.html.j2").render(**context)


def write_html(journal: Journal, path: str | os.PathLike[str]) -> Path:
    """Write the self-contained HTML report; returns the path."""
    return write_text_atomic(path, render_html(journal))
