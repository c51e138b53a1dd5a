"""Alarm history items (ConfigurationUpdate / StateUpdate) shaped like DescribeAlarmHistory's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chaoslab.services.cloudwatch.models import utc


@dataclass
class HistoryItem:
    alarm_name: str
    alarm_type: str
    timestamp: float
    item_type: str
    summary: str
    data: str

    def describe(self) -> dict[str, Any]:
        return {
            "AlarmName": self.alarm_name,
            "AlarmType": self.alarm_type,
            "Timestamp": utc(self.timestamp),
            "HistoryItemType": self.item_type,
            "HistorySummary": self.summary,
            "HistoryData": self.data,
        }


def state_update(
    name: str, alarm_type: str, now: float, old: tuple[str, str, str | None], new: tuple[str, str, str | None]
) -> HistoryItem:
    """`old`/`new` are (state, reason, reason data JSON or None)."""

    def part(state: str, reason: str, data: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"stateValue": state, "stateReason": reason}
        if data:
            out["stateReasonData"] = json.loads(data)
        return out

    body = {"version": "1.0", "oldState": part(*old), "newState": part(*new)}
    return HistoryItem(
        name,
        alarm_type,
        now,
        "StateUpdate",
        f"Alarm updated from {old[0]} to {new[0]}",
        json.dumps(body, separators=(",", ":")),
    )


def config_update(name: str, alarm_type: str, now: float, kind: str, config: dict[str, Any]) -> HistoryItem:
    """`kind` is Create, Update or Delete, as CloudWatch's HistoryData `type`."""
    key = {"Create": "createdAlarm", "Update": "updatedAlarm", "Delete": "deletedAlarm"}[kind]
    body = {"type": kind, "version": "1.0", key: config}
    verb = {"Create": "created", "Update": "updated", "Delete": "deleted"}[kind]
    return HistoryItem(
        name,
        alarm_type,
        now,
        "ConfigurationUpdate",
        f'Alarm "{name}" {verb}',
        json.dumps(body, separators=(",", ":"), default=str),
    )
