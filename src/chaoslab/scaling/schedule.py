"""When a scheduled scaling action runs next: the two services' schedule languages, pure.

EC2 Auto Scaling takes a Unix crontab line (`Recurrence`: minute hour day-of-month month
day-of-week) and/or a `StartTime`; Application Auto Scaling takes `at(yyyy-mm-ddThh:mm:ss)`,
`rate(N unit)` or `cron(minute hour day-of-month month day-of-week year)` in EventBridge's
dialect (`?` for "any" in one of the two day fields, weekdays 1-7 from Sunday). Both read wall
times in an IANA time zone (UTC by default) and bound a recurrence by StartTime and EndTime. The
schedule answers `next_after(t)`: the first run strictly after epoch second `t`, or None."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
SEARCH_DAYS = 366 * 5  # how far ahead a cron line is searched (a year field may skip years)
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class ScheduleError(ValueError):
    """An expression, a time zone or a time window the service would refuse; says why."""


def zone(name: str | None) -> tzinfo:
    """The IANA time zone `name` (UTC when None)."""
    if name is None:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"Invalid time zone {name!r}: use an IANA time zone name such as Etc/GMT+9.") from None


def _field(text: str, low: int, high: int, names: tuple[str, ...] = (), name_base: int = 0) -> frozenset[int]:
    """One cron field (`*`, `a`, `a-b`, `*/n`, `a-b/n`, lists of those; names for months and days)."""

    def number(word: str) -> int:
        upper = word.upper()
        if upper in names:
            return names.index(upper) + name_base
        if not word.isdigit():
            raise ScheduleError(f"{word!r} is not a number or name in a cron field")
        return int(word)

    out: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = number(step_text) if step_text else 1
        if step < 1:
            raise ScheduleError(f"step {step_text!r} must be at least 1")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = number(a), number(b)
        else:
            first = number(span)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise ScheduleError(f"{part!r} is outside {low}-{high}")
        out.update(range(first, last + 1, step))
    return frozenset(out)


@dataclass(frozen=True)
class Cron:
    """A parsed cron line. Weekdays are 0-6 from Sunday. When both day fields are restricted a
    day matches either (crontab's rule); `years` None is every year."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    years: frozenset[int] | None = None

    def matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, t: float, tz: tzinfo) -> float | None:
        """The first matching minute strictly after epoch second `t`, read as wall time in `tz`."""
        start = (datetime.fromtimestamp(t, tz).replace(second=0, microsecond=0) + timedelta(minutes=1)).replace(
            tzinfo=None
        )
        for offset in range(SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self.matches(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    if wall >= start:
                        return wall.replace(tzinfo=tz).timestamp()
        return None


def unix_cron(line: str) -> Cron:
    """EC2 Auto Scaling's `Recurrence`: five fields, weekdays 0-7 (0 and 7 are Sunday)."""
    fields = line.split()
    if len(fields) != 5:
        raise ScheduleError(f"Recurrence {line!r} must have five fields: minute hour day-of-month month day-of-week")
    minute, hour, dom, month, dow = fields
    weekdays = frozenset(d % 7 for d in _field(dow, 0, 7, WEEKDAYS))
    return Cron(
        _field(minute, 0, 59),
        _field(hour, 0, 23),
        _field(dom, 1, 31),
        _field(month, 1, 12, MONTHS, 1),
        weekdays,
        any_day=dom == "*",
        any_weekday=dow == "*",
    )


def aws_cron(body: str) -> Cron:
    """The inside of Application Auto Scaling's `cron(...)`: six fields, `?` in exactly one day
    field, weekdays 1-7 from Sunday. `L`, `W` and `#` are not supported here."""
    fields = body.split()
    if len(fields) != 6:
        raise ScheduleError(f"cron({body}) must have six fields: minutes hours day-of-month month day-of-week year")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(f"cron({body}): one of day-of-month and day-of-week must be '?', and only one")
    if any(mark in dom + dow for mark in ("L", "W", "#")):
        raise ScheduleError(f"cron({body}): L, W and # are not supported in chaoslab")
    weekdays = frozenset(d - 1 for d in _field("*" if dow == "?" else dow, 1, 7, WEEKDAYS, 1))
    return Cron(
        _field(minute, 0, 59),
        _field(hour, 0, 23),
        _field("*" if dom == "?" else dom, 1, 31),
        _field(month, 1, 12, MONTHS, 1),
        weekdays,
        any_day=dom in ("?", "*"),
        any_weekday=dow in ("?", "*"),
        years=None if year == "*" else _field(year, 1970, 2199),
    )


@dataclass(frozen=True)
class Schedule:
    """When an action runs: once `at`, every `rate` seconds from `origin`, or at `cron`'s times,
    within [start, end] (epoch seconds, either open)."""

    tz: tzinfo
    at: float | None = None
    rate: float | None = None
    origin: float = 0.0
    cron: Cron | None = None
    start: float | None = None
    end: float | None = None

    @property
    def recurring(self) -> bool:
        return self.at is None

    def next_after(self, t: float) -> float | None:
        if self.at is not None:
            return self.at if self.at > t else None
        floor = t if self.start is None else max(t, self.start - 1e-6)
        if self.rate is not None:
            steps = int((floor - self.origin) // self.rate) + 1 if floor >= self.origin else 0
            when: float | None = self.origin + max(steps, 0) * self.rate
        else:
            assert self.cron is not None
            when = self.cron.next_after(floor, self.tz)
        return when if when is not None and (self.end is None or when <= self.end) else None


def group_schedule(
    recurrence: str | None, start: float | None, end: float | None, time_zone: str | None, now: float
) -> Schedule:
    """EC2 Auto Scaling's: a StartTime alone runs once; a Recurrence runs at its times (from
    StartTime, when given, which also runs it) until EndTime."""
    if recurrence is None and start is None:
        raise ScheduleError("Either StartTime or Recurrence must be specified.")
    if start is not None and start < now:
        raise ScheduleError("Given start time is in the past")
    if end is not None and end < now:
        raise ScheduleError("Given end time is in the past")
    if start is not None and end is not None and end <= start:
        raise ScheduleError("Start time should be earlier than end time")
    if recurrence is None:
        if end is not None:
            raise ScheduleError("EndTime can only be specified with Recurrence")
        return Schedule(UTC, at=start)
    tz = zone(time_zone)
    return Schedule(tz, cron=unix_cron(recurrence), start=start, end=end)


def first_run(schedule: Schedule, now: float) -> float | None:
    """The schedule's first run from `now` on: a recurrence's StartTime itself counts."""
    if schedule.recurring and schedule.start is not None and schedule.start >= now:
        return schedule.start
    return schedule.next_after(now)


_EXPRESSION = re.compile(r"^(at|rate|cron)\((.*)\)$")


def target_schedule(
    expression: str, start: float | None, end: float | None, time_zone: str | None, created: float
) -> Schedule:
    """Application Auto Scaling's `Schedule`; a rate counts from StartTime, else from creation."""
    match = _EXPRESSION.match(expression.strip())
    if match is None:
        raise ScheduleError(f"Unsupported schedule {expression!r}: use at(...), rate(...) or cron(...).")
    kind, body = match.groups()
    if start is not None and end is not None and end <= start:
        raise ScheduleError("The start time must be before the end time.")
    tz = zone(time_zone)
    if kind == "at":
        try:
            wall = datetime.strptime(body, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ScheduleError(f"at({body}) must be at(yyyy-mm-ddThh:mm:ss).") from None
        return Schedule(tz, at=wall.replace(tzinfo=tz).timestamp(), start=start, end=end)
    if kind == "rate":
        value, _, unit = body.strip().partition(" ")
        if not value.isdigit() or int(value) < 1 or unit.strip() not in _RATE_UNITS:
            raise ScheduleError(f"rate({body}) must be rate(N minute[s]|hour[s]|day[s]) with N at least 1.")
        if (int(value) == 1) != (not unit.strip().endswith("s")):
            raise ScheduleError(f"rate({body}): use the singular unit for 1 and the plural otherwise.")
        return Schedule(
            tz, rate=int(value) * _RATE_UNITS[unit.strip()], origin=created if start is None else start, end=end
        )
    return Schedule(tz, cron=aws_cron(body), start=start, end=end)
