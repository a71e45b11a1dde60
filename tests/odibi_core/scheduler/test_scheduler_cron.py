"""Cron schedules: next due times checked against cronsim itself, DST, OR rule, errors."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from odibi_core.errors import ConfigError
from odibi_core.scheduler import CronTrigger, ScheduleManager

NEW_YORK = "America/New_York"
LONDON = "Europe/London"


def _oracle(expr: str, start: datetime, tz: str, n: int = 50) -> list[datetime]:
    return list(islice(CronSim(expr, start.astimezone(ZoneInfo(tz))), n))


def _instants(times: list[datetime]) -> list[tuple[datetime, str]]:
    """Absolute instant and local wall clock with offset: equal only if both agree."""
    return [(t.astimezone(UTC), t.isoformat()) for t in times]


def _manager(start: datetime) -> ScheduleManager:
    return ScheduleManager(clock=lambda: start)


@pytest.mark.parametrize(
    ("expr", "tz", "start"),
    [
        ("0 9 * * 1", "UTC", datetime(2026, 1, 1, tzinfo=UTC)),
        ("30 2 1 * *", "UTC", datetime(2026, 1, 1, tzinfo=UTC)),
        ("0 0 1 * mon", "UTC", datetime(2026, 1, 1, tzinfo=UTC)),
        ("*/15 9-17 * * 1-5", "UTC", datetime(2026, 1, 2, 16, 50, tzinfo=UTC)),
        ("0 9 * * 1", NEW_YORK, datetime(2026, 2, 1, tzinfo=UTC)),
        ("30 2 * * *", NEW_YORK, datetime(2026, 2, 20, tzinfo=UTC)),  # spring gap 2026-03-08
        ("30 1 * * *", NEW_YORK, datetime(2026, 10, 10, tzinfo=UTC)),  # repeat 2026-11-01
        ("*/30 * * * *", NEW_YORK, datetime(2026, 10, 31, 23, tzinfo=UTC)),
        ("*/30 * * * *", NEW_YORK, datetime(2026, 3, 8, 4, tzinfo=UTC)),
        ("30 1 * * *", LONDON, datetime(2026, 3, 1, tzinfo=UTC)),  # gap 2026-03-29
        ("30 1 * * *", LONDON, datetime(2026, 10, 1, tzinfo=UTC)),  # repeat 2026-10-25
        ("0,30 2,3 * * *", NEW_YORK, datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_cron_next_fire_times_match_cronsim(expr: str, tz: str, start: datetime) -> None:
    manager = _manager(start)
    name = manager.schedule_cron(expr, lambda: None, "job", timezone=tz)
    expected = _oracle(expr, start, tz)
    assert _instants(manager.next_fire_times(name, 50)) == _instants(expected)
    assert _instants(manager.next_fire_times(name, 50, after=start)) == _instants(expected)
    # one step at a time from each previous due time gives the same sequence
    trigger = CronTrigger(expr, tz)
    stepped, when = [], start
    for _ in range(50):
        when = trigger.next_fire(when)
        stepped.append(when)
    assert _instants(stepped) == _instants(expected)


def test_day_of_month_and_day_of_week_are_ored_when_both_restricted() -> None:
    manager = _manager(datetime(2026, 1, 1, tzinfo=UTC))
    manager.schedule_cron("0 0 1 * mon", lambda: None, "or_rule")
    days = [t.date().isoformat() for t in manager.next_fire_times("or_rule", 7)]
    # 2026-01-01 is a Thursday: the 1st of each month AND every Monday
    assert days == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-01",
                    "2026-02-02", "2026-02-09"]


def test_dst_gap_fixed_time_fires_once_right_after_the_gap() -> None:
    manager = _manager(datetime(2026, 3, 6, tzinfo=UTC))
    manager.schedule_cron("30 2 * * *", lambda: None, "gap", timezone=NEW_YORK)
    times = [t.isoformat() for t in manager.next_fire_times("gap", 4)]
    assert times == ["2026-03-06T02:30:00-05:00", "2026-03-07T02:30:00-05:00",
                     "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]


def test_dst_repeated_hour_fixed_time_fires_once() -> None:
    manager = _manager(datetime(2026, 10, 31, tzinfo=UTC))
    manager.schedule_cron("30 1 * * *", lambda: None, "repeat", timezone=NEW_YORK)
    times = [t.isoformat() for t in manager.next_fire_times("repeat", 3)]
    assert times == ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00",
                     "2026-11-02T01:30:00-05:00"]


def test_dst_repeated_hour_every_30_minutes_fires_in_both_occurrences() -> None:
    start = datetime(2026, 11, 1, 4, 10, tzinfo=UTC)  # 00:10 EDT
    manager = _manager(start)
    manager.schedule_cron("*/30 * * * *", lambda: None, "half_hourly", timezone=NEW_YORK)
    times = [t.isoformat() for t in manager.next_fire_times("half_hourly", 6)]
    assert times == ["2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00",
                     "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00",
                     "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"]


def test_starting_inside_the_repeated_hour_does_not_fire_a_past_time() -> None:
    # 01:10 EST is the *second* 01:10; 01:30 EDT (the first 01:30) is already past
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)
    trigger = CronTrigger("30 1 * * *", NEW_YORK)
    assert trigger.next_fire(second_pass).isoformat() == "2026-11-02T01:30:00-05:00"


def test_cron_job_runs_at_its_due_times_with_an_injected_clock(clock) -> None:
    clock.set(datetime(2026, 1, 2, 17, 40, tzinfo=UTC))  # a Friday
    manager = ScheduleManager(clock=clock)
    manager.schedule_cron("*/15 9-17 * * 1-5", lambda: None, "office")
    expected = _oracle("*/15 9-17 * * 1-5", clock(), "UTC", 6)
    for when in expected:
        assert manager.run_pending() == 0
        clock.set(when + timedelta(milliseconds=3))
        assert manager.run_pending() == 1
        assert manager.wait_idle(10)
    assert [run.scheduled_for for run in manager.get_runs("office")] == expected
    assert expected[1].isoformat() == "2026-01-05T09:00:00+00:00"  # Friday 17:45, then Monday


@pytest.mark.parametrize(
    ("expr", "cronsim_says"),
    [("0 25 * * *", "Bad hour"), ("61 * * * *", "Bad minute"), ("0 0 * * 9", "Bad day-of-week"),
     ("0 0 30 2 *", "Bad day-of-month"), ("0 0 * 13 *", "Bad month")],
)
def test_invalid_cron_expression_names_schedule_expression_and_cronsim_message(
        expr: str, cronsim_says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _manager(datetime(2026, 1, 1, tzinfo=UTC)).schedule_cron(expr, lambda: None, "nightly")
    message = str(caught.value)
    assert "schedule 'nightly'" in message
    assert repr(expr) in message
    assert cronsim_says in message


@pytest.mark.parametrize("expr", ["* * * *", "0 0 0 * * *", "", "@daily"])
def test_cron_needs_exactly_five_fields(expr: str) -> None:
    with pytest.raises(ConfigError, match="expected 5 fields"):
        _manager(datetime(2026, 1, 1, tzinfo=UTC)).schedule_cron(expr, lambda: None, "five")


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"schedule 'tz'.*unknown timezone 'Mars/Olympus'"):
        _manager(datetime(2026, 1, 1, tzinfo=UTC)).schedule_cron(
            "0 9 * * *", lambda: None, "tz", timezone="Mars/Olympus")


def test_manager_default_timezone_applies_to_cron() -> None:
    manager = ScheduleManager(clock=lambda: datetime(2026, 6, 1, tzinfo=UTC),
                              timezone=LONDON)
    manager.schedule_cron("0 9 * * *", lambda: None, "london")
    assert manager.next_fire_times("london", 1)[0].isoformat() == "2026-06-01T09:00:00+01:00"
    assert manager.get_status()["schedules"]["london"]["timezone"] == LONDON


def test_loop_sleeps_until_the_absolute_earliest_due_time_in_a_repeated_hour(clock) -> None:
    clock.set(datetime(2026, 11, 1, 5, 40, tzinfo=UTC))  # 01:40 EDT, before clocks go back
    waits: list[float] = []
    waited = threading.Event()

    def fake_wait(seconds: float) -> None:
        waits.append(seconds)
        waited.set()
        time.sleep(0.01)

    manager = ScheduleManager(check_interval=7200, clock=clock, wait=fake_wait)
    manager.schedule_cron("*/30 * * * *", lambda: None, "half_hourly", timezone=NEW_YORK)
    manager.schedule_cron("50 1 * * *", lambda: None, "fixed", timezone=NEW_YORK)
    # by wall clock 01:00 < 01:50, but 01:00 EST comes 10 minutes after 01:50 EDT
    assert manager.schedules["half_hourly"].next_run.isoformat() == "2026-11-01T01:00:00-05:00"
    assert manager.schedules["fixed"].next_run.isoformat() == "2026-11-01T01:50:00-04:00"
    manager.start()
    try:
        assert waited.wait(10)
    finally:
        manager.stop()
    assert waits[0] == 600.0
