"""FIS experiment log records (schema version 2) written where FIS would and where the lab keeps them.

Every record goes to `<home>/fis-logs/<experiment-id>.jsonl`; when the template's
logConfiguration names a CloudWatch Logs group, also to stream `/aws/fis/<experiment-id>` there.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_group_name(log_group_arn: str) -> str:
    """`arn:aws:logs:<region>:<acct>:log-group:<name>[:*]` -> `<name>`."""
    name = log_group_arn.split(":log-group:", 1)[-1]
    return name[:-2] if name.endswith(":*") else name


class ExperimentLog:
    """Writes one experiment's records; CloudWatch Logs delivery errors propagate to the engine."""

    def __init__(self, lab: Any, experiment: dict[str, Any]) -> None:
        self.lab = lab
        self.experiment_id = experiment["id"]
        directory = Path(lab.config.home) / "fis-logs"
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{self.experiment_id}.jsonl"
        cw = (experiment.get("logConfiguration") or {}).get("cloudWatchLogsConfiguration") or {}
        self.group = log_group_name(cw["logGroupArn"]) if cw.get("logGroupArn") else None
        self.stream = f"/aws/fis/{self.experiment_id}"

    def write(self, log_type: str, details: dict[str, Any], ts: float | None = None) -> dict[str, Any]:
        ts = time.time() if ts is None else ts
        record = {
            "id": self.experiment_id,
            "log_type": log_type,
            "event_timestamp": iso(ts),
            "version": "2",
            "details": details,
        }
        line = json.dumps(record, default=str)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if self.group is not None:
            self.lab.logs.append(self.group, self.stream, line, ts)
        return record
