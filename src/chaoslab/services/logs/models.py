"""Log groups, streams and events. Events in a stream are kept ordered by timestamp."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

MAX_EVENTS_PER_STREAM = 200_000  # oldest are dropped beyond this, so a chatty unit cannot eat memory


@dataclass(order=True)
class LogEvent:
    timestamp: int  # ms since epoch, as the caller gave it
    seq: int  # arrival order, breaks timestamp ties
    message: str = field(compare=False)
    ingestion_time: int = field(compare=False, default=0)


@dataclass
class LogStream:
    name: str
    arn: str
    created: int
    events: list[LogEvent] = field(default_factory=list)
    last_ingestion: int | None = None
    stored_bytes: int = 0
    sequence: int = 0

    def add(self, event: LogEvent) -> None:
        if not self.events or self.events[-1] <= event:
            self.events.append(event)
        else:
            bisect.insort(self.events, event)
        self.stored_bytes += len(event.message.encode("utf-8", "replace")) + 26
        self.last_ingestion = event.ingestion_time
        if len(self.events) > MAX_EVENTS_PER_STREAM:
            del self.events[: len(self.events) - MAX_EVENTS_PER_STREAM]

    def expire(self, before_ms: int) -> None:
        cut = bisect.bisect_left([e.timestamp for e in self.events], before_ms)
        if cut:
            del self.events[:cut]

    def describe(self) -> dict:
        out = {
            "logStreamName": self.name,
            "creationTime": self.created,
            "arn": self.arn,
            "storedBytes": self.stored_bytes,
            "uploadSequenceToken": str(self.sequence),
        }
        if self.events:
            out["firstEventTimestamp"] = self.events[0].timestamp
            out["lastEventTimestamp"] = self.events[-1].timestamp
        if self.last_ingestion is not None:
            out["lastIngestionTime"] = self.last_ingestion
        return out


@dataclass
class LogGroup:
    name: str
    arn: str  # without the trailing ":*"
    created: int
    retention_days: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    log_class: str = "STANDARD"
    streams: dict[str, LogStream] = field(default_factory=dict)

    def describe(self) -> dict:
        out = {
            "logGroupName": self.name,
            "creationTime": self.created,
            "metricFilterCount": 0,
            "arn": self.arn + ":*",
            "logGroupArn": self.arn,
            "logGroupClass": self.log_class,
            "storedBytes": sum(s.stored_bytes for s in self.streams.values()),
        }
        if self.retention_days is not None:
            out["retentionInDays"] = self.retention_days
        return out
