"""LogsBackend (`lab.logs`): CloudWatch Logs semantics — groups, streams, PutLogEvents,
GetLogEvents paging tokens and FilterLogEvents — plus `append` for the runtime's log shipping."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

from chaoslab.errors import AwsError
from chaoslab.ids import arn as make_arn
from chaoslab.services.logs.models import LogEvent, LogGroup, LogStream
from chaoslab.services.logs.pattern import PatternError, parse_pattern

RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
DEFAULT_LIMIT = 10_000
_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
_STREAM_NAME = re.compile(r"^[^:*]{1,512}$")
DAY_MS = 86_400_000


def bad(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def group_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log group does not exist.", 400)


def stream_missing() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log stream does not exist.", 400)


def _ms(timestamp: float | None, clock: Callable[[], float]) -> int:
    """Seconds (the lab's convention) or milliseconds (Logs' wire convention) -> ms."""
    if timestamp is None:
        return int(clock() * 1000)
    return int(timestamp) if timestamp > 1e11 else int(timestamp * 1000)


class LogsBackend:
    """One region's CloudWatch Logs, in memory. Needs only `lab.config.region/account_id`."""

    def __init__(self, lab: Any, clock: Callable[[], float] = time.time) -> None:
        self.lab = lab
        self.region: str = lab.config.region
        self.account_id: str = lab.config.account_id
        self.clock = clock
        self.groups: dict[str, LogGroup] = {}
        self._seq = itertools.count(1)

    async def start(self) -> None:
        """Nothing to run: logs are stored as they arrive."""

    async def stop(self) -> None:
        """Nothing to release."""

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- groups and streams ---------------------------------------------------------------------

    def create_log_group(self, name: str, tags: dict[str, str] | None = None, log_class: str = "STANDARD") -> LogGroup:
        if not name or not _NAME.match(name):
            raise bad(
                f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
            )
        if name in self.groups:
            raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists", 400)
        group = LogGroup(
            name,
            make_arn("logs", self.region, self.account_id, f"log-group:{name}"),
            self._now_ms(),
            tags=dict(tags or {}),
            log_class=log_class,
        )
        self.groups[name] = group
        return group

    def group(self, name: str | None) -> LogGroup:
        group = self.groups.get(name or "")
        if group is None:
            raise group_missing()
        return group

    def delete_log_group(self, name: str) -> None:
        if self.groups.pop(name, None) is None:
            raise group_missing()

    def describe_log_groups(self, prefix: str | None = None, pattern: str | None = None) -> list[LogGroup]:
        if prefix and pattern:
            raise bad("logGroupNamePrefix and logGroupNamePattern cannot be used together.")
        out = [
            g
            for g in self.groups.values()
            if (not prefix or g.name.startswith(prefix)) and (not pattern or pattern.lower() in g.name.lower())
        ]
        return sorted(out, key=lambda g: g.name)

    def put_retention_policy(self, name: str, days: int | None) -> None:
        group = self.group(name)
        if days is not None and days not in RETENTION_DAYS:
            raise bad(f"Invalid retentionInDays {days}; allowed: {', '.join(map(str, RETENTION_DAYS))}.")
        group.retention_days = days

    def create_log_stream(self, group_name: str, stream_name: str) -> LogStream:
        group = self.group(group_name)
        if not stream_name or not _STREAM_NAME.match(stream_name):
            raise bad(f"Invalid logStreamName '{stream_name}': 1-512 characters, no ':' or '*'.")
        if stream_name in group.streams:
            raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists", 400)
        stream = LogStream(stream_name, f"{group.arn}:log-stream:{stream_name}", self._now_ms())
        group.streams[stream_name] = stream
        return stream

    def stream(self, group_name: str | None, stream_name: str) -> LogStream:
        stream = self.group(group_name).streams.get(stream_name)
        if stream is None:
            raise stream_missing()
        return stream

    def delete_log_stream(self, group_name: str, stream_name: str) -> None:
        if self.group(group_name).streams.pop(stream_name, None) is None:
            raise stream_missing()

    def describe_log_streams(
        self, group_name: str, prefix: str | None = None, order_by: str = "LogStreamName", descending: bool = False
    ) -> list[LogStream]:
        group = self.group(group_name)
        if order_by not in ("LogStreamName", "LastEventTime"):
            raise bad("orderBy must be LogStreamName or LastEventTime.")
        if prefix and order_by == "LastEventTime":
            raise bad("Cannot order by LastEventTime with a logStreamNamePrefix.")
        self._expire(group)
        out = [s for s in group.streams.values() if not prefix or s.name.startswith(prefix)]
        if order_by == "LogStreamName":
            out.sort(key=lambda s: s.name, reverse=descending)
        else:
            out.sort(key=lambda s: s.events[-1].timestamp if s.events else 0, reverse=descending)
        return out

    # -- writing ---------------------------------------------------------------------------------

    def put_log_events(self, group_name: str, stream_name: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Store a batch; too-old/too-new events are rejected as AWS does, not stored."""
        stream = self.stream(group_name, stream_name)
        group = self.groups[group_name]
        if not events:
            raise bad("logEvents must contain at least one event.")
        if len(events) > MAX_BATCH_EVENTS:
            raise bad(f"A batch may hold at most {MAX_BATCH_EVENTS} log events.")
        size = sum(len(e["message"].encode("utf-8", "replace")) + 26 for e in events)
        if size > MAX_BATCH_BYTES:
            raise bad(f"A batch may hold at most {MAX_BATCH_BYTES} bytes (message bytes + 26 per event).")
        stamps = [int(e["timestamp"]) for e in events]
        if any(b < a for a, b in zip(stamps, stamps[1:], strict=False)):
            raise bad("Log events in a single PutLogEvents request must be in chronological order.")
        if stamps[-1] - stamps[0] > DAY_MS:
            raise bad("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
        now = self._now_ms()
        oldest_ok = now - 14 * DAY_MS
        if group.retention_days is not None:
            oldest_ok = max(oldest_ok, now - group.retention_days * DAY_MS)
        too_new = next((i for i, t in enumerate(stamps) if t > now + 2 * 3_600_000), None)
        too_old_end = max((i for i, t in enumerate(stamps) if t < oldest_ok), default=None)
        for i, e in enumerate(events):
            if (too_new is not None and i >= too_new) or (too_old_end is not None and i <= too_old_end):
                continue
            stream.add(LogEvent(stamps[i], next(self._seq), e["message"], now))
        stream.sequence += 1
        out: dict[str, Any] = {"nextSequenceToken": f"{stream.sequence:056d}"}
        rejected: dict[str, int] = {}
        if too_new is not None:
            rejected["tooNewLogEventStartIndex"] = too_new
        if too_old_end is not None:
            rejected["tooOldLogEventEndIndex"] = too_old_end
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    def append(self, group_name: str, stream_name: str, message: str, timestamp: float | None = None) -> None:
        """Ship one line from a unit (like the awslogs driver with auto-create): group and stream
        are created on first use. `timestamp` is epoch seconds (or ms, if > 1e11); default now."""
        group = self.groups.get(group_name) or self.create_log_group(group_name)
        stream = group.streams.get(stream_name) or self.create_log_stream(group_name, stream_name)
        stream.add(LogEvent(_ms(timestamp, self.clock), next(self._seq), message, self._now_ms()))

    # -- reading ---------------------------------------------------------------------------------

    def _expire(self, group: LogGroup) -> None:
        if group.retention_days is not None:
            cutoff = self._now_ms() - group.retention_days * DAY_MS
            for s in group.streams.values():
                if s.events and s.events[0].timestamp < cutoff:
                    s.expire(cutoff)

    def get_log_events(
        self,
        group_name: str | None,
        stream_name: str,
        start: int | None = None,
        end: int | None = None,
        token: str | None = None,
        limit: int | None = None,
        start_from_head: bool = False,
    ) -> dict[str, Any]:
        """One page of a stream, oldest first. Tokens are `f/<pos>` (forward) and `b/<pos>`
        (backward) positions in the time-filtered event list; at either end the same token comes
        back, which is how clients know to stop."""
        group = self.group(group_name)
        self._expire(group)
        stream = self.stream(group_name, stream_name)
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= DEFAULT_LIMIT:
            raise bad(f"limit must be from 1 to {DEFAULT_LIMIT}.")
        events = [
            e for e in stream.events if (start is None or e.timestamp >= start) and (end is None or e.timestamp < end)
        ]
        if token:
            direction, pos = _parse_token(token, len(events))
            if direction == "f":
                lo, hi = pos, min(len(events), pos + limit)
            else:
                lo, hi = max(0, pos - limit), pos
        elif start_from_head:
            lo, hi = 0, min(len(events), limit)
        else:
            lo, hi = max(0, len(events) - limit), len(events)
        page = events[lo:hi]
        forward = f"f/{hi:056d}" if page or not token else token
        backward = f"b/{lo:056d}" if page or not token else token
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time} for e in page
            ],
            "nextForwardToken": forward,
            "nextBackwardToken": backward,
        }

    def filter_log_events(
        self,
        group_name: str | None,
        stream_names: list[str] | None = None,
        prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        pattern: str | None = None,
        token: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Matching events across streams, in timestamp order, paged with an opaque token."""
        group = self.group(group_name)
        self._expire(group)
        if stream_names and prefix:
            raise bad("logStreamNames and logStreamNamePrefix cannot both be specified.")
        try:
            matcher = parse_pattern(pattern)
        except PatternError as e:
            raise bad(str(e)) from None
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= DEFAULT_LIMIT:
            raise bad(f"limit must be from 1 to {DEFAULT_LIMIT}.")
        if stream_names:
            missing = [n for n in stream_names if n not in group.streams]
            if missing:
                raise stream_missing()
            streams = [group.streams[n] for n in stream_names]
        else:
            streams = [s for s in group.streams.values() if not prefix or s.name.startswith(prefix)]
        hits = sorted(
            (e, s.name)
            for s in streams
            for e in s.events
            if (start is None or e.timestamp >= start)
            and (end is None or e.timestamp < end)
            and matcher.matches(e.message)
        )
        offset = _parse_token(token, len(hits))[1] if token else 0
        page = hits[offset : offset + limit]
        out: dict[str, Any] = {
            "events": [
                {
                    "logStreamName": name,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": f"{e.timestamp:020d}{e.seq:036d}",
                }
                for e, name in page
            ],
            "searchedLogStreams": [{"logStreamName": s.name, "searchedCompletely": True} for s in streams],
        }
        if offset + limit < len(hits):
            out["nextToken"] = f"n/{offset + limit:056d}"
        return out


def _parse_token(token: str, size: int) -> tuple[str, int]:
    try:
        direction, pos_text = token.split("/", 1)
        pos = int(pos_text)
    except ValueError:
        raise bad(f"The specified nextToken is invalid: {token!r}.") from None
    if direction not in ("f", "b", "n") or pos < 0:
        raise bad(f"The specified nextToken is invalid: {token!r}.")
    return direction, min(pos, size)  # events may have expired since the token was issued
