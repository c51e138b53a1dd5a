"""Alarm resources: their configuration as the caller gave it, plus the state CloudWatch keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslab.services.cloudwatch.alarms import INSUFFICIENT_DATA
from chaoslab.services.cloudwatch.rule import Node

INITIAL_REASON = "Unchecked: Initial alarm creation"


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass
class Alarm:
    """What metric and composite alarms share: identity, actions and state."""

    name: str
    arn: str
    config: dict[str, Any]  # the Put*Alarm input, minus Tags
    created: float
    state: str = INSUFFICIENT_DATA
    reason: str = INITIAL_REASON
    reason_data: str | None = None
    state_updated: float = 0.0
    state_transitioned: float = 0.0
    config_updated: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)

    kind = "Alarm"

    @property
    def actions_enabled(self) -> bool:
        return bool(self.config.get("ActionsEnabled", True))

    def _common(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "AlarmName": self.name,
            "AlarmArn": self.arn,
            "AlarmConfigurationUpdatedTimestamp": utc(self.config_updated),
            "ActionsEnabled": self.actions_enabled,
            "OKActions": list(self.config.get("OKActions", [])),
            "AlarmActions": list(self.config.get("AlarmActions", [])),
            "InsufficientDataActions": list(self.config.get("InsufficientDataActions", [])),
            "StateValue": self.state,
            "StateReason": self.reason,
            "StateUpdatedTimestamp": utc(self.state_updated),
            "StateTransitionedTimestamp": utc(self.state_transitioned),
        }
        if self.config.get("AlarmDescription") is not None:
            out["AlarmDescription"] = self.config["AlarmDescription"]
        if self.reason_data is not None:
            out["StateReasonData"] = self.reason_data
        return out


@dataclass
class MetricAlarm(Alarm):
    """A threshold alarm on one metric (given directly or as a single MetricStat query)."""

    namespace: str = ""
    metric_name: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: str = "Average"  # Statistic or ExtendedStatistic, whichever was given
    period: int = 60
    unit: str | None = None
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1
    threshold: float = 0.0
    comparison: str = "GreaterThanThreshold"
    treat_missing: str = "missing"
    queries: list[dict[str, Any]] | None = None  # a Metrics (MetricDataQuery) alarm
    return_id: str | None = None  # the query whose values the threshold is compared with
    forced: bool = False  # set by SetAlarmState: the next evaluation recomputes the state
    next_evaluation: float = 0.0  # when the evaluator next looks at it (epoch seconds)

    kind = "MetricAlarm"

    def describe(self) -> dict[str, Any]:
        out = self._common()
        for key in (
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Period",
            "Unit",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "EvaluateLowSampleCountPercentile",
            "Metrics",
            "ThresholdMetricId",
        ):
            if self.config.get(key) is not None:
                out[key] = self.config[key]
        out["Dimensions"] = list(self.config.get("Dimensions", []))
        out["TreatMissingData"] = self.treat_missing
        if "Metrics" not in self.config:
            out["DatapointsToAlarm"] = self.datapoints_to_alarm
        return out


@dataclass
class CompositeAlarm(Alarm):
    """An alarm whose state is a boolean rule over other alarms' states."""

    rule: Node = field(kw_only=True)  # keyword-only: the base class's fields have defaults

    kind = "CompositeAlarm"

    def describe(self) -> dict[str, Any]:
        out = self._common()
        out["AlarmRule"] = self.config["AlarmRule"]
        for key in ("ActionsSuppressor", "ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod"):
            if self.config.get(key) is not None:
                out[key] = self.config[key]
        return out
