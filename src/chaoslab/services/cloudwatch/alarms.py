"""Metric-alarm evaluation as pure functions: given the datapoints of the evaluation range,
what state should the alarm be in, and how does CloudWatch word the reason.

The rules follow CloudWatch's documented behaviour ("How alarm state is evaluated when data is
missing"): the evaluation range holds more than N periods; if the last N are all present they
decide; else the most recent N real points decide; else gaps are filled per TreatMissingData
(keeping every real point); with `missing`, the premature-alarm rule applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)
TREAT_MISSING = ("missing", "notBreaching", "breaching", "ignore")

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def evaluation_range(n: int) -> int:
    """How many periods one evaluation looks at: more than N, so gaps can be skipped."""
    return n + max(n // 3, 2)


@dataclass
class Outcome:
    """The decided state and what decided it (indices into the evaluated range)."""

    state: str
    used: list[int] = field(default_factory=list)  # real datapoints that were evaluated
    filled: int = 0  # missing datapoints filled in with the TreatMissingData value
    breaching: int = 0  # breaching points among used + filled
    retained: bool = False  # the state was kept because the data decides nothing


def assess(
    datapoints: list[float | None],
    n: int,
    m: int,
    treat_missing: str,
    current_state: str,
    threshold: float,
    comparison: str,
) -> Outcome:
    """Decide the alarm state from the evaluation range `datapoints` (oldest first, None = missing)."""
    breaches = COMPARATORS[comparison]
    real = [i for i, v in enumerate(datapoints) if v is not None]
    last_n = list(range(max(0, len(datapoints) - n), len(datapoints)))

    def decide(used: list[int], filled: int = 0, filled_breach: bool = False) -> Outcome:
        count = sum(1 for i in used if _breach(breaches, datapoints[i], threshold))
        count += filled if filled_breach else 0
        return Outcome(ALARM if count >= m else OK, used, filled, count)

    if all(datapoints[i] is not None for i in last_n) and len(last_n) == n:
        return decide(last_n)
    if len(real) >= n:
        return decide(real[-n:])
    if not real:
        if treat_missing == "missing":
            return Outcome(INSUFFICIENT_DATA, [], n)
        if treat_missing == "ignore":
            return Outcome(current_state, [], 0, 0, retained=True)
        return decide([], n, treat_missing == "breaching")
    if treat_missing in ("breaching", "notBreaching"):
        return decide(real, n - len(real), treat_missing == "breaching")
    outcome = decide(real)
    if outcome.state == ALARM:
        return outcome
    if any(not _breach(breaches, datapoints[i], threshold) for i in real):
        return outcome
    if treat_missing == "missing" and _premature_alarm(datapoints, last_n, m, breaches, threshold):
        used = [i for i in real if i in last_n]
        return Outcome(ALARM, used, 0, len(used))
    return Outcome(current_state, real, 0, outcome.breaching, retained=True)


def _premature_alarm(
    datapoints: list[float | None],
    last_n: list[int],
    m: int,
    breaches: Callable[[float, float], bool],
    threshold: float,
) -> bool:
    """The oldest breaching point within the last N is at least M periods old and every newer
    point is breaching or missing."""
    oldest = next(
        (i for i in last_n if datapoints[i] is not None and _breach(breaches, datapoints[i], threshold)),
        None,
    )
    if oldest is None:
        return False
    age = len(datapoints) - oldest
    newer_ok = all(
        datapoints[i] is None or _breach(breaches, datapoints[i], threshold) for i in range(oldest + 1, len(datapoints))
    )
    return age >= m and newer_ok


def evaluate(
    datapoints: list[float | None],
    n: int,
    m: int,
    treat_missing: str,
    current_state: str,
    threshold: float,
    comparison: str,
) -> str:
    """The state only (see `assess`)."""
    return assess(datapoints, n, m, treat_missing, current_state, threshold, comparison).state


# -- reason strings ----------------------------------------------------------------------------


def _short_time(ts: float) -> str:
    """CloudWatch's reason timestamp: `(22/11/26 00:10:00)` — day/month/year, UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%d/%m/%y %H:%M:%S")


def iso_millis(ts: float) -> str:
    """StateReasonData timestamps: `2026-11-22T00:10:00.000+0000`."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _num(v: float | None) -> str:
    return repr(float(v)) if v is not None else "missing"


def _breach(compare: Callable[[float, float], bool], value: float | None, threshold: float) -> bool:
    """Whether one datapoint breaches; a missing one never does by itself (treat-missing rules
    decide what a gap counts as before this is asked)."""
    return value is not None and compare(value, threshold)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def reason_text(
    outcome: Outcome,
    datapoints: list[float | None],
    timestamps: list[float],
    n: int,
    m: int,
    treat_missing: str,
    threshold: float,
    comparison: str,
    old_state: str,
) -> str:
    """The StateReason CloudWatch writes for `outcome`."""
    if outcome.state == INSUFFICIENT_DATA:
        return f"Insufficient Data: {_plural(outcome.filled or n, 'datapoint')} {'was' if (outcome.filled or n) == 1 else 'were'} unknown."
    if not outcome.used:
        label = "Breaching" if treat_missing == "breaching" else "NonBreaching"
        k = outcome.filled
        return (
            f"Threshold Crossed: no datapoints were received for {_plural(k, 'period')} and "
            f"{_plural(k, 'missing datapoint')} {'was' if k == 1 else 'were'} treated as [{label}]."
        )
    words = _WORDS[comparison]
    breaches = COMPARATORS[comparison]
    to_alarm = outcome.state == ALARM
    shown = [i for i in reversed(outcome.used) if _breach(breaches, datapoints[i], threshold) == to_alarm] or list(
        reversed(outcome.used)
    )
    listed = ", ".join(f"{_num(datapoints[i])} ({_short_time(timestamps[i])})" for i in shown)
    verb_words = words if to_alarm else f"not {words}"
    if n == 1 and len(shown) == 1 and not outcome.filled:
        return f"Threshold Crossed: 1 datapoint [{listed}] was {verb_words} the threshold ({_num(threshold)})."
    total = len(outcome.used) + outcome.filled
    k = len(shown)
    need = m if to_alarm else max(1, n - m + 1)
    transition = (
        f"{old_state} -> {outcome.state}" if old_state != outcome.state else f"{outcome.state} -> {outcome.state}"
    )
    text = (
        f"Threshold Crossed: {k} out of the last {total} datapoints [{listed}] "
        f"{'was' if k == 1 else 'were'} {verb_words} the threshold ({_num(threshold)}) "
        f"(minimum {_plural(need, 'datapoint')} for {transition} transition)."
    )
    if outcome.filled:
        label = "Breaching" if treat_missing == "breaching" else "NonBreaching"
        text = text[:-1] + f" ({_plural(outcome.filled, 'missing datapoint')} treated as [{label}])."
    return text


def reason_data(
    outcome: Outcome,
    datapoints: list[float | None],
    timestamps: list[float],
    sample_counts: list[float | None],
    now: float,
    period: int,
    statistic: str,
    threshold: float,
    unit: str | None,
) -> str:
    """StateReasonData JSON as CloudWatch writes it for a metric alarm."""
    data: dict = {
        "version": "1.0",
        "queryDate": iso_millis(now),
        "startDate": iso_millis(timestamps[0]) if timestamps else iso_millis(now),
    }
    if unit:
        data["unit"] = unit
    if statistic:
        data["statistic"] = statistic
    data["period"] = period
    used_newest_first = list(reversed(outcome.used))
    data["recentDatapoints"] = [datapoints[i] for i in outcome.used]
    data["threshold"] = float(threshold)
    points = []
    for i in used_newest_first:
        point: dict = {"timestamp": iso_millis(timestamps[i])}
        if (count := sample_counts[i]) is not None:
            point["sampleCount"] = float(count)
        point["value"] = datapoints[i]
        points.append(point)
    data["evaluatedDatapoints"] = points
    return json.dumps(data, separators=(",", ":"))
