"""Measurable clauses: the hypothesis' "then" and the steady-state checks use the same kinds.

A clause is evaluated over evidence — request records, per-second samples of healthy hosts and
alarm states, the integrity result and the measured windows — restricted to the phases it names
(default: injection and recovery, i.e. everything after the baseline). Each evaluation returns the
journal's clause entry: what was bounded, what was measured, and whether it passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chaoslab.experiment.workload import Record, is_failure

AFTER_BASELINE = ("injection", "recovery")


@dataclass
class Evidence:
    """What clauses are judged on."""

    records: list[Record] = field(default_factory=list)
    healthy_hosts: list[tuple[float, int]] = field(default_factory=list)  # (time, count)
    alarms: dict[str, list[tuple[float, str]]] = field(default_factory=dict)  # name -> (time, state)
    phases: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # name -> (start, end)
    integrity: dict[str, Any] | None = None
    recovery_time_s: float | None = None
    scaling: list[tuple[float, str, int, int]] = field(default_factory=list)  # (time, resource, old, new)


def _phase_names(clause: dict[str, Any]) -> tuple[str, ...]:
    phase = clause.get("phase", "after-baseline")
    if phase == "after-baseline":
        return AFTER_BASELINE
    if phase == "all":
        return ("baseline", *AFTER_BASELINE)
    return (phase,)


def _in_phases(t: float, ev: Evidence, names: tuple[str, ...]) -> bool:
    for name in names:
        span = ev.phases.get(name)
        if span and span[0] <= t and (span[1] is None or t <= span[1]):
            return True
    return False


def select(
    records: list[Record], clause: dict[str, Any], *, phases: tuple[str, ...] | None = None, since: float | None = None
) -> list[Record]:
    """The records a clause looks at: its endpoint, probe or not, its phases or its window."""
    out = []
    for r in records:
        if clause.get("endpoint") and r["endpoint"] != clause["endpoint"]:
            continue
        if r.get("probe") and not clause.get("include_probe", True):
            continue
        if phases is not None and r["phase"] not in phases:
            continue
        if since is not None and r["t"] < since:
            continue
        out.append(r)
    return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (what load testers report)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def max_consecutive_failures(records: list[Record]) -> int:
    run = best = 0
    for r in sorted(records, key=lambda r: r["t"]):
        run = run + 1 if is_failure(r) else 0
        best = max(best, run)
    return best


def clause_text(clause: dict[str, Any]) -> str:
    kind = clause["type"]
    where = f" ({clause['endpoint']})" if clause.get("endpoint") else ""
    if kind == "error_rate":
        return f"error rate <= {clause['max_percent']:g} %{where}"
    if kind == "latency":
        return f"latency p{clause['percentile']:g} <= {clause['max_ms']:g} ms{where}"
    if kind == "consecutive_failures":
        return f"consecutive failures <= {clause['max']}{where}"
    if kind == "recovery_time":
        return f"recovery time <= {clause['max_s']:g} s"
    if kind == "alarm":
        verb = "never was" if clause.get("mode") == "never_was" else "is"
        return f"alarm {clause['name']} {verb} {clause['state']}"
    if kind == "healthy_hosts":
        return f"healthy hosts >= {clause['min']}"
    if kind == "data_intact":
        return "data intact"
    if kind == "successes":
        return f"successes >= {clause['min_per_s']:g}/s{where}"
    if kind == "scale_out":
        what = f" of {clause['resource']}" if clause.get("resource") else ""
        return f"scale-out{what} by >= {clause.get('min_added', 1)} within {clause['within_s']:g} s"
    return "no lost acknowledged writes"


def _result(clause: dict[str, Any], index: int, bound: str, measured: str, passed: bool) -> dict[str, Any]:
    return {
        "id": f"{clause['type']}-{index}",
        "text": clause_text(clause),
        "bound": bound,
        "measured": measured,
        "passed": bool(passed),
        "phase": clause.get("phase", "after-baseline"),
    }


def evaluate(clause: dict[str, Any], index: int, ev: Evidence) -> dict[str, Any]:
    """One clause over the whole run (its phases)."""
    kind = clause["type"]
    names = _phase_names(clause)
    if kind in ("error_rate", "latency", "consecutive_failures"):
        return _request_clause(clause, index, select(ev.records, clause, phases=names))
    if kind == "recovery_time":
        rt = ev.recovery_time_s
        return _result(
            clause,
            index,
            f"{clause['max_s']:g} s",
            "not recovered" if rt is None else f"{rt:.1f} s",
            rt is not None and rt <= clause["max_s"],
        )
    if kind == "alarm":
        states = [s for t, s in ev.alarms.get(clause["name"], []) if _in_phases(t, ev, names)]
        if clause.get("mode") == "never_was":
            hit = clause["state"] in states
            return _result(
                clause,
                index,
                f"never {clause['state']}",
                f"was {clause['state']}" if hit else f"seen: {', '.join(sorted(set(states))) or 'no samples'}",
                not hit and bool(states),
            )
        last = states[-1] if states else None
        return _result(clause, index, clause["state"], last or "no samples", last == clause["state"])
    if kind == "successes":
        return _successes(clause, index, select(ev.records, clause, phases=names), ev, names)
    if kind == "scale_out":
        return _scale_out(clause, index, ev, names)
    if kind == "healthy_hosts":
        counts = [n for t, n in ev.healthy_hosts if _in_phases(t, ev, names)]
        low = min(counts) if counts else None
        return _result(
            clause,
            index,
            f">= {clause['min']}",
            "no samples" if low is None else f"min {low}",
            low is not None and low >= clause["min"],
        )
    integ = ev.integrity or {}
    if not integ.get("checked"):
        return _result(clause, index, "0 lost", "not checked", False)
    if kind == "data_intact":
        tallies = {k: len(integ.get(k, [])) for k in ("lost", "changed", "phantom")}
        tallies["duplicates"] = integ.get("duplicates", 0)
        stock_ok = integ.get("stock_consistent") is not False
        measured = "/".join(str(v) for v in tallies.values()) + (", stock consistent" if stock_ok else ", stock WRONG")
        return _result(clause, index, "0 lost/changed/phantom/dup", measured, not any(tallies.values()) and stock_ok)
    bad = len(integ.get("lost", [])) + len(integ.get("changed", []))
    return _result(
        clause,
        index,
        "0 lost",
        f"{len(integ['lost'])} lost, {len(integ['changed'])} changed of {integ['acknowledged']} acknowledged",
        bad == 0,
    )


def _successes(
    clause: dict[str, Any], index: int, records: list[Record], ev: Evidence, names: tuple[str, ...]
) -> dict[str, Any]:
    """2xx answers per second of the clause's phases: "payments keep being processed" is a rate of
    successes, which an error rate alone does not show (a stalled service fails nothing)."""
    last = max((r["t"] for r in records), default=None)
    seconds = 0.0
    for name in names:
        span = ev.phases.get(name)
        end = span[1] if span and span[1] is not None else last
        if span and end is not None:
            seconds += max(0.0, end - span[0])
    ok = sum(1 for r in records if r.get("status") is not None and 200 <= r["status"] < 300)
    rate = ok / seconds if seconds > 0 else 0.0
    return _result(
        clause,
        index,
        f"{clause['min_per_s']:g}/s",
        f"{rate:.2f}/s ({ok} in {seconds:.1f} s)",
        seconds > 0 and rate >= clause["min_per_s"],
    )


def _scale_out(clause: dict[str, Any], index: int, ev: Evidence, names: tuple[str, ...]) -> dict[str, Any]:
    """ "Does it scale out before users notice?": the first scaling activity that adds capacity,
    timed from the start of the clause's first phase (the injection, by default), and how much
    capacity the run added by its end (the highest capacity reached over the one before)."""
    start = next((ev.phases[n][0] for n in names if n in ev.phases), None)
    mine = sorted(
        (t, old, new)
        for t, resource, old, new in ev.scaling
        if (not clause.get("resource") or resource == clause["resource"]) and _in_phases(t, ev, names)
    )
    first = next(((t, old) for t, old, new in mine if new > old), None)
    bound = f"+{clause.get('min_added', 1)} in {clause['within_s']:g} s"
    if start is None or first is None:
        return _result(clause, index, bound, "no scale-out", False)
    after = first[0] - start
    added = max(new for _, _, new in mine) - first[1]
    measured = f"first after {after:.1f} s, +{added} ({first[1]} → {first[1] + added})"
    return _result(clause, index, bound, measured, after <= clause["within_s"] and added >= clause.get("min_added", 1))


def _request_clause(clause: dict[str, Any], index: int, records: list[Record]) -> dict[str, Any]:
    kind = clause["type"]
    if not records:
        return _result(clause, index, _bound(clause), "no requests", False)
    if kind == "error_rate":
        failed = sum(1 for r in records if is_failure(r))
        rate = 100.0 * failed / len(records)
        return _result(
            clause,
            index,
            f"{clause['max_percent']:g} %",
            f"{rate:.2f} % ({failed}/{len(records)})",
            rate <= clause["max_percent"],
        )
    if kind == "latency":
        value = percentile([r["latency_ms"] for r in records], clause["percentile"])
        return _result(clause, index, f"{clause['max_ms']:g} ms", f"{value:.1f} ms", value <= clause["max_ms"])
    worst = max_consecutive_failures(records)
    return _result(clause, index, str(clause["max"]), str(worst), worst <= clause["max"])


def _bound(clause: dict[str, Any]) -> str:
    return {
        "error_rate": lambda c: f"{c['max_percent']:g} %",
        "latency": lambda c: f"{c['max_ms']:g} ms",
        "consecutive_failures": lambda c: str(c["max"]),
    }[clause["type"]](clause)


def steady_state(
    checks: list[dict[str, Any]],
    records: list[Record],
    *,
    now: float,
    healthy_hosts: int | None,
    alarms: dict[str, str],
) -> list[dict[str, Any]]:
    """The steady-state checks as of `now`: request checks over their last `window_s` seconds,
    healthy hosts and alarms as last sampled."""
    out = []
    for i, check in enumerate(checks):
        kind = check["type"]
        if kind in ("error_rate", "latency", "consecutive_failures"):
            window = [r for r in select(records, check, since=now - check.get("window_s", 5)) if r["t"] <= now]
            out.append(_request_clause(check, i, window))
        elif kind == "healthy_hosts":
            out.append(
                _result(
                    check,
                    i,
                    f">= {check['min']}",
                    "no samples" if healthy_hosts is None else str(healthy_hosts),
                    healthy_hosts is not None and healthy_hosts >= check["min"],
                )
            )
        elif kind == "alarm":
            state = alarms.get(check["name"])
            # No sample (an alarm that does not exist) holds nothing, as in `evaluate`.
            ok = state is not None and (
                state != check["state"] if check.get("mode") == "never_was" else state == check["state"]
            )
            out.append(_result(check, i, check["state"], state or "no samples", ok))
        else:
            out.append(_result(check, i, "-", "not a steady-state check", False))
    return out
