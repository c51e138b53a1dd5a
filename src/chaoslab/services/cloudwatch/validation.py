"""Input checks for alarms, with CloudWatch's error codes and messages that name the parameter
and the allowed values (so a caller can fix the request without reading docs)."""

from __future__ import annotations

import math
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.services.cloudwatch.alarms import COMPARATORS, TREAT_MISSING
from chaoslab.services.cloudwatch.statistics import SIMPLE_STATISTICS, percentile_of

LOCAL_PERIODS = range(1, 10)  # local extension: sub-10-second periods for fast CI experiments


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def missing(name: str) -> AwsError:
    return AwsError("MissingParameter", f"The parameter {name} is required.", 400)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def check_period(period: Any, name: str = "Period") -> int:
    """10, 20, 30 or a multiple of 60 (AWS), or 1..9 s (chaoslab extension)."""
    if not isinstance(period, int) or isinstance(period, bool):
        raise invalid(f"The parameter {name} must be an integer number of seconds.")
    if period in (10, 20, 30) or (period >= 60 and period % 60 == 0) or period in LOCAL_PERIODS:
        return period
    raise invalid(
        f"The parameter {name} must be 10, 20, 30 or a multiple of 60 "
        f"(chaoslab also accepts 1 to 9 seconds); got {period}."
    )


def check_statistic(statistic: str | None, extended: str | None) -> str:
    """Exactly one of Statistic and ExtendedStatistic; returns the one given."""
    if statistic is not None and extended is not None:
        raise combination("Exactly one of the parameters Statistic and ExtendedStatistic must be specified, not both.")
    if statistic is None and extended is None:
        raise missing("Statistic or ExtendedStatistic")
    if extended is None:
        if statistic not in SIMPLE_STATISTICS:
            raise invalid(f"The parameter Statistic must be one of {', '.join(SIMPLE_STATISTICS)}; got {statistic!r}.")
        return statistic
    if percentile_of(extended) is None:
        raise invalid(
            f"The parameter ExtendedStatistic must be a percentile such as p90 or p99.9 "
            f"(chaoslab supports pNN and pNN.N only); got {extended!r}."
        )
    return extended


def check_alarm_numbers(params: dict[str, Any]) -> tuple[int, int, str, str]:
    """EvaluationPeriods, DatapointsToAlarm, ComparisonOperator and TreatMissingData."""
    n = params.get("EvaluationPeriods")
    if n is None:
        raise missing("EvaluationPeriods")
    if not isinstance(n, int) or n < 1:
        raise invalid(f"The parameter EvaluationPeriods must be an integer of at least 1; got {n!r}.")
    m = params.get("DatapointsToAlarm", n)
    if not isinstance(m, int) or m < 1 or m > n:
        raise invalid(
            f"The parameter DatapointsToAlarm must be an integer from 1 to EvaluationPeriods ({n}); got {m!r}."
        )
    op = params.get("ComparisonOperator")
    if op is None:
        raise missing("ComparisonOperator")
    if op not in COMPARATORS:
        raise invalid(f"The parameter ComparisonOperator must be one of {', '.join(COMPARATORS)}; got {op!r}.")
    treat = params.get("TreatMissingData", "missing")
    if treat not in TREAT_MISSING:
        raise invalid(f"The parameter TreatMissingData must be one of {', '.join(TREAT_MISSING)}; got {treat!r}.")
    low = params.get("EvaluateLowSampleCountPercentile")
    if low is not None and low not in ("evaluate", "ignore"):
        raise invalid(f"The parameter EvaluateLowSampleCountPercentile must be one of evaluate, ignore; got {low!r}.")
    threshold = params.get("Threshold")
    if threshold is None:
        raise missing("Threshold")
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise invalid(f"The parameter Threshold must be a finite number; got {threshold!r}.")
    return n, m, op, treat


def check_value(value: Any, where: str) -> float:
    """Metric values must be finite numbers within ±2^360 (AWS)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"The value {value!r} for parameter {where} is not a number.")
    v = float(value)
    if not math.isfinite(v) or abs(v) > 2.0**360:
        raise invalid(f"The value {value!r} for parameter {where} is invalid: it must be finite and within ±2^360.")
    return v


def dimensions_dict(dimensions: list[dict[str, str]] | None, where: str = "Dimensions") -> dict[str, str]:
    """[{Name, Value}] -> {Name: Value}, at most 30, names unique."""
    dims = dimensions or []
    if len(dims) > 30:
        raise invalid(f"The collection {where} must not have more than 30 members.")
    out: dict[str, str] = {}
    for d in dims:
        if "Name" not in d or "Value" not in d:
            raise missing(f"{where}.member.Name/Value")
        if d["Name"] in out:
            raise invalid(f"The collection {where} must not contain duplicate dimension names ({d['Name']}).")
        out[d["Name"]] = d["Value"]
    return out
