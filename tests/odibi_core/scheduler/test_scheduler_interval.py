"""Interval schedules with an injected clock: no drift, misfires, max_instances, failing jobs."""

from __future__ import annotations

import logging
import random
import threading
from datetime import UTC, datetime, timedelta

import pytest

from odibi_core.scheduler import MisfirePolicy, ScheduleManager

MS = timedelta(milliseconds=1)


def test_no_cumulative_drift_over_100_firings(clock) -> None:
    start = clock()
    manager = ScheduleManager(clock=clock)

    def slow_job() -> None:
        clock.advance(0.02)  # the job takes 20 ms of (fake) time

    manager.schedule_interval(0.05, slow_job, "tick")
    rng = random.Random(6)
    for _ in range(100):
        # the loop wakes 0-15 ms late, as a busy machine would
        clock.set(manager.schedules["tick"].next_run + rng.randint(0, 15) * MS)
        assert manager.run_pending() == 1
        assert manager.wait_idle(10)
    runs = manager.get_runs("tick")
    assert [run.scheduled_for for run in runs] == [start + k * 50 * MS for k in range(1, 101)]
    assert manager.schedules["tick"].next_run == start + timedelta(seconds=5.05)
    assert manager.schedules["tick"].run_count == 100
    assert all(run.duration_ms == pytest.approx(20) for run in runs)


def test_start_at_anchors_the_grid(clock) -> None:
    manager = ScheduleManager(clock=clock)
    anchor = clock() + timedelta(seconds=30)
    manager.schedule_interval(10, lambda: None, "anchored", start_at=anchor)
    assert manager.next_fire_times("anchored", 3) == [anchor, anchor + 10_000 * MS,
                                                      anchor + 20_000 * MS]


def test_start_at_in_the_past_continues_on_its_grid(clock) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(60, lambda: None, "late", start_at=clock() - timedelta(seconds=90))
    assert manager.schedules["late"].next_run == clock() + timedelta(seconds=30)
    assert manager.run_pending() == 0


def test_misfire_with_coalesce_runs_once_and_continues_from_the_next_future_slot(clock) -> None:
    start = clock()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(1, lambda: None, "catch_up", misfire_grace_seconds=1.0)
    clock.set(start + timedelta(seconds=11.5))  # due times 1..11 s are past: lateness 10.5..0.5
    assert manager.run_pending() == 1
    assert manager.wait_idle(10)
    schedule = manager.schedules["catch_up"]
    assert [run.scheduled_for for run in manager.get_runs()] == [start + timedelta(seconds=11)]
    assert schedule.missed_count == 10
    assert schedule.next_run == start + timedelta(seconds=12)
    assert manager.get_status()["schedules"]["catch_up"]["missed_count"] == 10


def test_misfire_without_coalesce_runs_only_on_time_slots(clock, caplog) -> None:
    start = clock()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(1, lambda: None, "each", misfire_grace_seconds=2.0,
                              coalesce=False, max_instances=2)
    clock.set(start + timedelta(seconds=11.5))
    with caplog.at_level(logging.WARNING, logger="odibi_core.scheduler"):
        assert manager.run_pending() == 2  # lateness 1.5 and 0.5 are within the 2 s grace
    assert manager.wait_idle(10)
    assert sorted(run.scheduled_for for run in manager.get_runs()) == [
        start + timedelta(seconds=10), start + timedelta(seconds=11)]
    assert manager.schedules["each"].missed_count == 9
    assert "schedule 'each' misfired 9 due time(s)" in caplog.text


def test_misfire_policy_resolve() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    due = [now - timedelta(seconds=s) for s in (5, 3, 1, 0)]
    assert MisfirePolicy(2.0, coalesce=True).resolve(due, now) == ([now], 2)
    assert MisfirePolicy(2.0, coalesce=False).resolve(due, now) == (due[2:], 2)
    assert MisfirePolicy(0.0, coalesce=False).resolve(due, now) == ([now], 3)
    assert MisfirePolicy().resolve([], now) == ([], 0)


def test_max_instances_skips_a_run_while_the_previous_one_is_running(clock) -> None:
    release = threading.Event()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(1, lambda: release.wait(10), "long")
    clock.advance(1)
    assert manager.run_pending() == 1
    clock.advance(1)
    assert manager.run_pending() == 0  # still running: not started twice
    status = manager.get_status()["schedules"]["long"]
    assert (status["running"], status["skipped_count"]) == (1, 1)
    release.set()
    assert manager.wait_idle(10)
    clock.advance(1)
    assert manager.run_pending() == 1
    assert manager.wait_idle(10)
    assert manager.schedules["long"].run_count == 2


def test_max_instances_two_allows_overlap(clock) -> None:
    release = threading.Event()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(1, lambda: release.wait(10), "pair", max_instances=2)
    for _ in range(3):
        clock.advance(1)
        manager.run_pending()
    assert manager.schedules["pair"].running == 2
    assert manager.schedules["pair"].skipped_count == 1
    release.set()
    assert manager.wait_idle(10)
    assert manager.schedules["pair"].running == 0


def test_a_raising_job_keeps_its_schedule_and_shows_its_error(clock, caplog) -> None:
    calls = []

    def flaky() -> None:
        calls.append(clock())
        if len(calls) == 1:
            raise ValueError("source table is locked")

    start = clock()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(60, flaky, "flaky")
    clock.advance(60)
    with caplog.at_level(logging.ERROR, logger="odibi_core.scheduler"):
        manager.run_pending()
        assert manager.wait_idle(10)
    status = manager.get_status()["schedules"]["flaky"]
    assert status["error_count"] == 1
    assert status["last_error"] == "ValueError: source table is locked"
    assert status["run_count"] == 1
    assert status["enabled"] is True
    assert status["next_run"] == (start + timedelta(seconds=120)).isoformat()
    assert "schedule 'flaky'" in caplog.text and "source table is locked" in caplog.text
    clock.advance(60)
    manager.run_pending()
    assert manager.wait_idle(10)
    assert [run.succeeded for run in manager.get_runs("flaky")] == [False, True]
    assert manager.schedules["flaky"].run_count == 2
    assert manager.schedules["flaky"].error_count == 1


def test_the_loop_waits_exactly_until_the_next_due_time_capped_by_check_interval(clock) -> None:
    waits: list[float] = []
    manager: ScheduleManager

    def fake_wait(seconds: float) -> None:  # the loop's wait, in fake time
        manager.wait_idle(10)
        waits.append(seconds)
        clock.advance(seconds)

    manager = ScheduleManager(check_interval=3, clock=clock, wait=fake_wait)
    start = clock()
    manager.schedule_interval(10, lambda: None, "every10")
    manager.start()
    try:
        deadline = threading.Event()
        for _ in range(500):
            if len(manager.get_runs("every10")) >= 5:
                break
            deadline.wait(0.01)
    finally:
        manager.stop()
    runs = manager.get_runs("every10")[:5]
    assert [run.scheduled_for for run in runs] == [start + timedelta(seconds=10 * k)
                                                   for k in range(1, 6)]
    assert all(run.delay_ms == 0 for run in runs)
    assert waits[:8] == [3.0, 3.0, 3.0, 1.0, 3.0, 3.0, 3.0, 1.0]
