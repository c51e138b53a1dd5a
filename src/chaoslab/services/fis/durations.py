"""ISO 8601 durations as FIS writes them (PT5M, PT1H30M, P1D): parsed to seconds."""

from __future__ import annotations

import datetime

import isodate


class DurationError(ValueError):
    """A value that is not an ISO 8601 duration FIS would accept."""


def parse_duration(value: str) -> float:
    """Seconds in `value`; rejects calendar units (months/years) whose length is not fixed."""
    if not isinstance(value, str) or not value.startswith("P") or value.endswith(("P", "T")):
        raise DurationError(f'"{value}" is not an ISO 8601 duration (write it like PT5M or PT1H30M)')
    try:
        parsed = isodate.parse_duration(value)
    except (isodate.ISO8601Error, ValueError) as exc:
        raise DurationError(f'"{value}" is not an ISO 8601 duration (write it like PT5M or PT1H30M)') from exc
    if not isinstance(parsed, datetime.timedelta):
        raise DurationError(f'"{value}" uses months or years; use days, hours, minutes or seconds')
    seconds = parsed.total_seconds()
    if seconds < 0:
        raise DurationError(f'"{value}" is negative')
    return seconds
