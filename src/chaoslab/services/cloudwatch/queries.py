"""MetricDataQuery lists (GetMetricData, metric-math alarms): MetricStat queries read the
store, Expression queries combine them with `mathexpr`. Each query yields {period start: value}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.cloudwatch import mathexpr
from chaoslab.services.cloudwatch.statistics import SIMPLE_STATISTICS, Aggregate, is_valid_statistic
from chaoslab.services.cloudwatch.validation import dimensions_dict, invalid, missing

Stats = Callable[[str, str, dict[str, str], float, float, int, "str | None"], list[tuple[float, Aggregate]]]


def _math_error(qid: str, message: str) -> AwsError:
    return AwsError("ValidationError", f"Error in expression {qid!r}: {message}.", 400)


def check_queries(queries: list[dict[str, Any]], check_period: Callable[[Any], int]) -> None:
    """Shape checks: unique ids, exactly one of MetricStat/Expression, valid stats and periods."""
    seen: set[str] = set()
    for q in queries:
        qid = q.get("Id")
        if not qid:
            raise missing("MetricDataQueries.member.Id")
        if qid in seen:
            raise invalid(f"The value {qid} for parameter MetricDataQueries.member.Id is not unique.")
        seen.add(qid)
        if (q.get("MetricStat") is None) == (q.get("Expression") is None):
            raise invalid(f"Query {qid}: exactly one of MetricStat and Expression must be given.")
        stat_q = q.get("MetricStat")
        if stat_q is not None:
            if not is_valid_statistic(stat_q.get("Stat") or ""):
                raise invalid(
                    f"Query {qid}: the statistic {stat_q.get('Stat')!r} is not supported; use "
                    f"{', '.join(SIMPLE_STATISTICS)} or a percentile such as p99."
                )
            check_period(stat_q.get("Period", q.get("Period")))
    ids = {q["Id"] for q in queries}
    for q in queries:
        if q.get("Expression") is None:
            continue
        try:  # a dry run over empty series checks the grammar, functions and result type
            mathexpr.evaluate(q["Expression"], lambda _id: {}, [])
            unknown = mathexpr.references(q["Expression"]) - ids
            if unknown:
                raise mathexpr.MathError(f"unknown query id(s) {', '.join(sorted(unknown))}")
        except mathexpr.MathError as e:
            raise _math_error(q["Id"], str(e)) from None


def run_queries(queries: list[dict[str, Any]], start: float, end: float, stats: Stats) -> dict[str, dict[float, float]]:
    """Every query's series over [start, end); expressions may reference each other (no cycles)."""
    by_id = {q["Id"]: q for q in queries}
    metric_ids = [q["Id"] for q in queries if q.get("MetricStat") is not None]
    done: dict[str, dict[float, float]] = {}
    active: set[str] = set()

    def resolve(qid: str) -> dict[float, float]:
        if qid in done:
            return done[qid]
        q = by_id.get(qid)
        if q is None:
            raise mathexpr.MathError(f"unknown query id {qid}")
        if qid in active:
            raise mathexpr.MathError(f"query {qid} references itself")
        active.add(qid)
        if q.get("MetricStat") is not None:
            done[qid] = _stat_series(q, start, end, stats)
        else:
            try:
                done[qid] = mathexpr.evaluate(q["Expression"], resolve, metric_ids)
            except mathexpr.MathError as e:
                raise _math_error(qid, str(e)) from None
        active.discard(qid)
        return done[qid]

    for qid in by_id:
        try:
            resolve(qid)
        except mathexpr.MathError as e:
            raise _math_error(qid, str(e)) from None
    return done


def _stat_series(q: dict[str, Any], start: float, end: float, stats: Stats) -> dict[float, float]:
    stat_q = q["MetricStat"]
    metric = stat_q["Metric"]
    period = stat_q.get("Period", q.get("Period"))
    rows = stats(
        metric.get("Namespace", ""),
        metric["MetricName"],
        dimensions_dict(metric.get("Dimensions")),
        start,
        end,
        period,
        stat_q.get("Unit"),
    )
    return {t: v for t, agg in rows if (v := agg.statistic(stat_q["Stat"])) is not None}


def query_period(queries: list[dict[str, Any]]) -> int:
    """The period an alarm over these queries uses (AWS requires them all to be equal)."""
    periods = {q["MetricStat"].get("Period", q.get("Period")) for q in queries if q.get("MetricStat") is not None}
    if len(periods) != 1:
        raise invalid("All metrics in an alarm's Metrics array must have the same Period.")
    return periods.pop()
