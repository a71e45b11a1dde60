"""ScheduleManager API: names, errors, enable/disable/remove, status, trigger, public names."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta

import pytest

import odibi_core.scheduler as scheduler_pkg
from odibi_core.errors import ConfigError, OdibiError
from odibi_core.scheduler import (
    JobRun,
    Schedule,
    ScheduleManager,
    ScheduleMode,
    UnknownScheduleError,
)


def noop() -> None:
    return None


def test_public_names_are_pinned() -> None:
    assert scheduler_pkg.__all__ == [
        "CronTrigger", "FileWatcher", "IntervalTrigger", "JobRun", "MisfirePolicy", "Schedule",
        "ScheduleManager", "ScheduleMode", "Trigger", "UnknownScheduleError",
    ]
    from odibi_core.scheduler.schedule_manager import Schedule as SeedSchedule
    from odibi_core.scheduler.schedule_manager import ScheduleManager as SeedManager
    from odibi_core.scheduler.schedule_manager import ScheduleMode as SeedMode

    assert (SeedSchedule, SeedManager, SeedMode) == (Schedule, ScheduleManager, ScheduleMode)


def test_schedule_keeps_the_seed_fields_in_order() -> None:
    names = [f.name for f in dataclasses.fields(Schedule)]
    assert names[:10] == ["name", "mode", "function", "interval_seconds", "cron_expr",
                          "file_path", "enabled", "last_run", "next_run", "run_count"]
    assert [mode.value for mode in ScheduleMode] == ["interval", "cron", "file_watch", "manual"]
    schedule = Schedule("s", ScheduleMode.INTERVAL, noop, 10)
    assert (schedule.interval_seconds, schedule.max_instances, schedule.coalesce) == (10, 1, True)


def test_default_names_are_unique_per_mode(clock) -> None:
    manager = ScheduleManager(clock=clock)
    assert manager.schedule_interval(5, noop) == "interval_0"
    assert manager.schedule_cron("0 * * * *", noop) == "cron_1"
    assert manager.schedule_manual(noop) == "manual_2"
    manager.remove_schedule("interval_0")
    assert manager.schedule_interval(5, noop) == "interval_2"
    assert manager.schedule_interval(5, noop) == "interval_3"


def test_duplicate_name_is_a_config_error(clock) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(5, noop, "load")
    with pytest.raises(ConfigError, match="schedule 'load': a schedule with this name exists"):
        manager.schedule_cron("0 * * * *", noop, "load")


@pytest.mark.parametrize("method", ["enable_schedule", "disable_schedule", "remove_schedule",
                                    "trigger", "next_fire_times"])
def test_unknown_schedule_names_the_known_ones(clock, method: str) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(5, noop, "b_job")
    manager.schedule_interval(5, noop, "a_job")
    with pytest.raises(UnknownScheduleError) as caught:
        getattr(manager, method)("nope")
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, OdibiError)
    assert str(caught.value) == ("schedule 'nope': no such schedule; known schedules:"
                                 " ['a_job', 'b_job']")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"seconds": 0}, "interval seconds must be a positive number"),
     ({"seconds": -1}, "interval seconds must be a positive number"),
     ({"seconds": float("nan")}, "interval seconds must be a positive number"),
     ({"seconds": "10"}, "interval seconds must be a positive number"),
     ({"seconds": 1, "max_instances": 0}, "max_instances must be an int >= 1"),
     ({"seconds": 1, "misfire_grace_seconds": -1}, "misfire_grace_seconds must be a number >= 0"),
     ({"seconds": 1, "function": "not callable"}, "function must be callable")],
)
def test_bad_arguments_are_config_errors(clock, kwargs: dict, message: str) -> None:
    manager = ScheduleManager(clock=clock)
    kwargs = {"function": noop, **kwargs}
    with pytest.raises(ConfigError, match=message) as caught:
        manager.schedule_interval(name="bad", **kwargs)
    assert "schedule 'bad'" in str(caught.value)
    assert manager.schedules == {}


def test_naive_times_are_rejected(clock) -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        ScheduleManager(clock=clock).schedule_interval(1, noop, "naive",
                                                       start_at=datetime(2026, 1, 1))
    with pytest.raises(ConfigError, match="the clock must return timezone-aware"):
        ScheduleManager(clock=lambda: datetime(2026, 1, 1)).run_pending()


def test_disable_enable_and_remove(clock) -> None:
    start = clock()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(10, noop, "job")
    manager.disable_schedule("job")
    assert manager.schedules["job"].next_run is None
    clock.advance(35)
    assert manager.run_pending() == 0
    manager.enable_schedule("job")  # no catch-up: the next grid point after now
    assert manager.schedules["job"].next_run == start + timedelta(seconds=40)
    clock.advance(5)
    assert manager.run_pending() == 1
    assert manager.wait_idle(10)
    manager.remove_schedule("job")
    assert manager.get_status()["schedule_count"] == 0


def test_status_has_the_seed_keys_and_the_new_ones(clock) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(10, noop, "job")
    status = manager.get_status()
    assert status["running"] is False
    assert status["schedule_count"] == 1
    job = status["schedules"]["job"]
    assert {"mode", "enabled", "last_run", "next_run", "run_count", "error_count", "last_error",
            "last_duration_ms", "running", "missed_count", "skipped_count"} <= set(job)
    assert job["mode"] == "interval"
    assert job["next_run"] == (clock() + timedelta(seconds=10)).isoformat()


def test_trigger_runs_a_manual_job_now_and_returns_its_run(clock) -> None:
    manager = ScheduleManager(clock=clock)
    manager.schedule_manual(lambda: None, "report")
    assert manager.next_fire_times("report") == []
    assert manager.run_pending() == 0
    future = manager.trigger("report")
    assert future is not None
    run = future.result(timeout=10)
    assert isinstance(run, JobRun)
    assert (run.schedule, run.manual, run.succeeded, run.scheduled_for) == (
        "report", True, True, clock())
    assert manager.schedules["report"].run_count == 1


def test_trigger_respects_max_instances_and_does_not_move_due_times(clock) -> None:
    release = threading.Event()
    manager = ScheduleManager(clock=clock)
    manager.schedule_interval(60, lambda: release.wait(10), "job")
    due = manager.schedules["job"].next_run
    first = manager.trigger("job")
    assert first is not None
    assert manager.trigger("job") is None
    assert manager.schedules["job"].skipped_count == 1
    assert manager.schedules["job"].next_run == due
    release.set()
    assert first.result(timeout=10).succeeded


def test_trigger_records_a_failure_without_raising(clock) -> None:
    manager = ScheduleManager(clock=clock)

    def broken() -> None:
        raise RuntimeError("no connection")

    manager.schedule_manual(broken, "broken")
    run = manager.trigger("broken").result(timeout=10)
    assert run.error == "RuntimeError: no connection"
    assert manager.get_status()["schedules"]["broken"]["last_error"] == run.error


def test_check_interval_and_max_wait(clock) -> None:
    assert ScheduleManager().max_wait == 5.0
    assert ScheduleManager(check_interval=0.5).max_wait == 0.5
    assert ScheduleManager(check_interval=0.5, max_wait=2).max_wait == 2.0
    with pytest.raises(ConfigError, match="max_wait/check_interval"):
        ScheduleManager(check_interval=0)
    with pytest.raises(ConfigError, match="unknown timezone"):
        ScheduleManager(timezone="Nowhere/Land")
