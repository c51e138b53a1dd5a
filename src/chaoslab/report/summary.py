"""The end-of-run summary for the terminal: verdict, clauses, integrity, windows, report path.

Plain aligned text; color only when the caller says the stream is a TTY, so logs and files stay
clean. Built from the journal alone, like every report.
"""

from __future__ import annotations

from typing import Any

from chaoslab.report import aws
from chaoslab.report.analysis import (
    Journal,
    clock,
    exit_meaning,
    failure_span,
    integrity_ok,
    seconds_text,
    totals,
    verdict_title,
    window_rows,
)

PASS, FAIL, INFO = "✓", "✗", "·"
_COLORS = {PASS: "32", FAIL: "31", INFO: "2"}


class _Painter:
    """Applies ANSI color after alignment, so padding is computed on the visible text."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def mark(self, mark: str) -> str:
        return f"\x1b[{_COLORS[mark]}m{mark}\x1b[0m" if self.color else mark

    def bold(self, text: str, mark: str | None = None) -> str:
        if not self.color:
            return text
        code = "1;" + _COLORS[mark] if mark else "1"
        return f"\x1b[{code}m{text}\x1b[0m"


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns sized to their widest cell; the last column is not padded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)) + "  " + r[-1] for r in rows]


def _verdict(journal: Journal, p: _Painter) -> list[str]:
    verdict = journal.get("verdict", {})
    code = int(verdict.get("exit_code", 2))
    mark = PASS if verdict.get("outcome") == "held" else FAIL
    lines = [f"{p.mark(mark)} {p.bold(verdict_title(journal), mark)}  (exit {code}: {exit_meaning(code)})"]
    if verdict.get("summary"):
        lines.append(f"  {verdict['summary']}")
    return lines


def _traffic(journal: Journal) -> list[str]:
    records = journal.get("requests", [])
    if not records:
        return ["Requests  none recorded"]
    t = totals(records)
    parts = " · ".join(f"{k} {v}" for k, v in t.by_outcome.items() if v)
    lines = [f"Requests  {t.requests} total, {t.failures} failed ({t.error_rate * 100:.1f} %): {parts}"]
    span = failure_span(records)
    if span:
        lines.append(
            f"Failures  {clock(span[0])} .. {clock(span[1])} ({span[1] - span[0]:.1f} s between first and last)"
        )
    probes = [r for r in records if r.get("probe")]
    if probes:
        p = totals(probes)
        line = f"Probes    {p.requests} sent, {p.failures} failed"
        pspan = failure_span(probes)
        if pspan:
            line += f", {clock(pspan[0])} .. {clock(pspan[1])}"
        lines.append(line)
    return lines


def _clauses(journal: Journal, p: _Painter) -> list[str]:
    clauses = journal.get("clauses", [])
    if not clauses:
        return ["Clauses  none evaluated"]
    rows = [["", "clause", "bound", "measured", "phase"]]
    rows += [
        [
            PASS if c.get("passed") else FAIL,
            c.get("text", c.get("id", "")),
            str(c.get("bound", "")),
            str(c.get("measured", "")),
            c.get("phase", ""),
        ]
        for c in clauses
    ]
    lines = _table(rows)
    out = ["Clauses", lines[0].rstrip()]
    for row, line in zip(rows[1:], lines[1:], strict=False):
        out.append(line.replace(row[0], p.mark(row[0]), 1))
    return out


def _integrity(journal: Journal, p: _Painter) -> list[str]:
    i = journal.get("integrity") or {}
    if not i.get("checked"):
        return ["Integrity  not checked"]
    lost, phantom, changed = i.get("lost") or [], i.get("phantom") or [], i.get("changed") or []
    stock = i.get("stock_consistent")
    mismatches = i.get("stock_mismatches") or []

    def ids(xs: list[int]) -> str:
        return f"{len(xs)}" + (
            f"  (orders {', '.join(map(str, xs[:10]))}{', ...' if len(xs) > 10 else ''})" if xs else ""
        )

    rows = [
        [
            PASS if not lost and not changed else FAIL,
            "acknowledged",
            f"{i.get('acknowledged', 0)} writes acknowledged, "
            f"{i.get('acknowledged', 0) - len(lost) - len(changed)} read back intact",
        ],
        [PASS if not lost else FAIL, "lost", ids(lost)],
        [PASS if not phantom else FAIL, "phantom", ids(phantom)],
        [INFO, "ambiguous", f"{i.get('ambiguous', 0)}  (timeout or 5xx on a write: either outcome is allowed)"],
    ]
    if changed:
        rows.append([FAIL, "changed", ids(changed)])
    if i.get("duplicates"):
        rows.append([FAIL, "duplicates", str(i["duplicates"])])
    if stock is None:
        rows.append([INFO, "stock", "not checked"])
    else:
        detail = (
            "consistent"
            if stock
            else "INCONSISTENT: "
            + ", ".join(f"product {m['product_id']} expected {m['expected']} got {m['actual']}" for m in mismatches[:5])
        )
        rows.append([PASS if stock else FAIL, "stock", detail])
    mark = PASS if integrity_ok(i) else FAIL
    out = [f"Integrity  {p.mark(mark)} {'intact' if mark == PASS else 'VIOLATED'}"]
    for row, line in zip(rows, _table(rows), strict=False):
        out.append(line.replace(row[0], p.mark(row[0]), 1))
    out += [f"  note: {n}" for n in i.get("notes") or []]
    return out


def _windows(journal: Journal, p: _Painter) -> list[str]:
    rows = [["", "window", "measured", "bound"]]
    marks = [""]
    for label, measured, bound, _ in window_rows(journal):
        if measured is None and bound is None:
            continue
        if bound is not None and measured is not None:
            mark = PASS if measured <= bound else FAIL
        else:
            mark = INFO
        marks.append(mark)
        rows.append([mark, label, seconds_text(measured), f"<= {bound:.1f} s" if bound is not None else "—"])
    if len(rows) == 1:
        return ["Windows  none measured"]
    hc = (journal.get("lab") or {}).get("health_check") or {}
    head = "Windows"
    if hc:
        head += (
            f"  (health check every {hc.get('interval')} s, unhealthy after "
            f"{hc.get('unhealthy')}, timeout {hc.get('timeout')} s)"
        )
    lines = _table(rows)
    out = [head, lines[0].rstrip()]
    for mark, line in zip(marks[1:], lines[1:], strict=False):
        out.append(line.replace(mark, p.mark(mark), 1))
    return out


def _recoveries(journal: Journal) -> list[str]:
    """The timing profile in effect and each measured recovery beside AWS's range (docs/timing.md)."""
    timing = (journal.get("lab") or {}).get("timing")
    if not timing:
        return []  # a journal from before timing profiles
    overrides = ", ".join(f"{k}={v:g}" for k, v in sorted((timing.get("overrides") or {}).items()))
    head = f"Timing  profile {timing['profile']}" + (f" ({overrides})" if overrides else "")
    rows = [["recovery", "measured", "AWS"]]
    for r in journal.get("recoveries") or []:
        low, high = r.get("aws_low_s"), r.get("aws_high_s")
        aws = "—" if low is None or high is None else f"{low:g}–{high:g} s"
        rows.append([r["what"], seconds_text(r["measured_s"]), aws])
    if len(rows) == 1:
        return [head + "; no recovery measured"]
    return [head, *_table(rows)]


def render_summary(journal: Journal, *, color: bool = False, report_path: str | None = None) -> str:
    """The verdict block printed after a run; `color=True` only when writing to a TTY."""
    p = _Painter(color)
    exp: dict[str, Any] = journal.get("experiment") or {}
    hyp = exp.get("hypothesis") or {}
    blocks: list[list[str]] = []
    head = [p.bold(exp.get("title") or "chaoslab experiment")]
    if hyp:
        head += [f"  If   {hyp.get('if', '')}", f"  Then {hyp.get('then', '')}"]
    blocks += [
        head,
        _verdict(journal, p),
        _traffic(journal),
        _clauses(journal, p),
        _integrity(journal, p),
        _windows(journal, p),
    ]
    blocks += [b for b in [aws.summary_lines(journal)] if b]
    blocks += [b for b in [_recoveries(journal)] if b]
    if report_path:
        blocks.append([f"Report  {report_path}"])
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"
