"""Scheduled scaling's schedules: EC2 Auto Scaling's crontab Recurrence and StartTime/EndTime,
Application Auto Scaling's at()/rate()/cron() (EventBridge's dialect), time zones, and the
errors each service answers with (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scheduled-scaling.html,
https://docs.aws.amazon.com/autoscaling/application/userguide/scheduled-scaling-using-cron-expressions.html)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from chaoslab.scaling.schedule import ScheduleError, aws_cron, first_run, group_schedule, target_schedule, unix_cron
from chaoslab.scaling.scheduled import ScheduledAction, Scheduler


def ts(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC if tz == "UTC" else ZoneInfo(tz)).timestamp()


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M")


def test_unix_cron_fields_ranges_steps_lists_and_names() -> None:
    cron = unix_cron("*/15 9-17 * JAN,jun mon-fri")
    assert cron.minutes == {0, 15, 30, 45} and cron.hours == set(range(9, 18))
    assert cron.months == {1, 6} and cron.weekdays == {1, 2, 3, 4, 5}
    assert unix_cron("0 0 * * 7").weekdays == {0}  # 7 is Sunday, as 0 is
    assert unix_cron("5/20 * * * *").minutes == {5, 25, 45}


def test_unix_cron_next_run_is_strictly_after_and_in_utc() -> None:
    cron = unix_cron("30 8 * * 1-5")  # weekdays 08:30
    friday_evening = ts("2026-12-04T18:00:00")
    assert iso(cron.next_after(friday_evening, UTC)) == "2026-12-07T08:30"  # Monday
    assert iso(cron.next_after(ts("2026-12-07T08:30:00"), UTC)) == "2026-12-08T08:30"


def test_day_of_month_and_weekday_match_either_when_both_are_restricted() -> None:
    cron = unix_cron("0 0 1 * 0")  # the 1st, or any Sunday (crontab's rule)
    assert iso(cron.next_after(ts("2026-12-01T12:00:00"), UTC)) == "2026-12-06T00:00"  # a Sunday before the 1st


def test_a_recurrence_reads_wall_time_in_its_time_zone() -> None:
    schedule = group_schedule("0 9 * * *", None, None, "America/New_York", now=ts("2026-12-03T00:00:00"))
    assert iso(schedule.next_after(ts("2026-12-03T00:00:00"))) == "2026-12-03T14:00"  # 09:00 EST
    july = group_schedule("0 9 * * *", None, None, "America/New_York", now=ts("2026-07-01T00:00:00"))
    assert iso(july.next_after(ts("2026-07-01T00:00:00"))) == "2026-07-01T13:00"  # 09:00 EDT


@pytest.mark.parametrize(
    "line",
    [
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "x * * * *",
    ],
)
def test_bad_recurrences_are_refused(line: str) -> None:
    with pytest.raises(ScheduleError):
        unix_cron(line)


def test_group_schedule_rules() -> None:
    now = ts("2026-12-03T12:00:00")
    once = group_schedule(None, now + 600, None, None, now)
    assert first_run(once, now) == now + 600 and once.next_after(now + 600) is None
    bounded = group_schedule("0 * * * *", now + 1800, now + 3 * 3600, None, now)
    assert first_run(bounded, now) == now + 1800  # StartTime runs it, then the recurrence
    assert iso(bounded.next_after(now + 1800)) == "2026-12-03T13:00"
    assert bounded.next_after(now + 3 * 3600) is None  # past EndTime
    for args, message in [
        ((None, None, None, None), "Either StartTime or Recurrence"),
        ((None, now - 60, None, None), "start time is in the past"),
        (("0 * * * *", now + 60, now + 30, None), "earlier than end time"),
        (("0 * * * *", None, None, "Mars/Olympus"), "Invalid time zone"),
    ]:
        with pytest.raises(ScheduleError, match=message):
            group_schedule(*args, now=now)


def test_aws_cron_dialect() -> None:
    cron = aws_cron("0 18 ? * MON-FRI *")
    assert cron.weekdays == {1, 2, 3, 4, 5} and cron.years is None
    assert aws_cron("0 0 ? * 1 *").weekdays == {0}  # 1 is Sunday here
    assert iso(aws_cron("0 10 * * ? 2027").next_after(ts("2026-12-03T00:00:00"), UTC)) == "2027-01-01T10:00"
    for body, message in [
        ("0 18 * * MON *", "must be '\\?'"),
        ("0 18 ? * ? *", "must be '\\?'"),
        ("0 18 L * ? *", "not supported"),
        ("0 18 * *", "six fields"),
    ]:
        with pytest.raises(ScheduleError, match=message):
            aws_cron(body)


def test_target_schedules_at_rate_and_cron() -> None:
    created = ts("2026-12-03T12:00:00")
    at = target_schedule("at(2026-12-03T14:30:00)", None, None, "Europe/Paris", created)
    assert iso(at.next_after(created)) == "2026-12-03T13:30" and at.next_after(at.at or 0) is None
    rate = target_schedule("rate(5 minutes)", None, None, None, created)
    assert (
        iso(rate.next_after(created)) == "2026-12-03T12:05"
        and iso(rate.next_after(created + 301)) == "2026-12-03T12:10"
    )
    started = target_schedule("rate(1 hour)", created + 60, None, None, created)
    assert first_run(started, created) == created + 60
    cron = target_schedule("cron(0 13 * * ? *)", None, created + 86400 * 2, None, created)
    assert iso(cron.next_after(created)) == "2026-12-03T13:00"
    assert cron.next_after(created + 86400 * 2) is None
    for expression in ["every 5 minutes", "rate(0 minutes)", "rate(5 minute)", "rate(1 hours)", "at(2026-12-03 14:30)"]:
        with pytest.raises(ScheduleError):
            target_schedule(expression, None, None, None, created)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def test_scheduler_runs_each_due_action_once_and_drops_finished_ones() -> None:
    clock = FakeClock(ts("2026-12-03T12:00:00"))
    fired: list[str] = []
    scheduler: Scheduler[str] = Scheduler(lambda: clock, lambda key, _: fired.append(key), keep_done=False)
    now = clock.t
    scheduler.put("once", ScheduledAction("once", "arn:1", group_schedule(None, now + 60, None, None, now), {}, now))
    scheduler.put(
        "hourly", ScheduledAction("hourly", "arn:2", group_schedule("0 * * * *", None, None, None, now), {}, now)
    )
    scheduler.tick(now + 30)
    assert fired == []
    scheduler.tick(now + 5 * 3600)  # hours late: each runs once, not once per missed run
    assert fired == ["once", "hourly"]
    assert set(scheduler.actions) == {"hourly"} and iso(scheduler.actions["hourly"].next_run) == "2026-12-03T18:00"
