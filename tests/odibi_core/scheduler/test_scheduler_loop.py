"""The real loop in real time: loose bounds only (the machine may be loaded)."""

from __future__ import annotations

import threading
import time

from odibi_core.scheduler import ScheduleManager


def test_adding_a_schedule_wakes_a_sleeping_loop() -> None:
    fired = threading.Event()
    manager = ScheduleManager(check_interval=60)  # without the wake-up it would sleep 60 s
    manager.start()
    try:
        time.sleep(0.05)  # let the loop go to sleep
        manager.schedule_interval(0.05, fired.set, "soon")
        assert fired.wait(10)
    finally:
        manager.stop()


def test_stop_is_prompt_and_status_reports_running() -> None:
    manager = ScheduleManager(check_interval=60)
    manager.start()
    assert manager.get_status()["running"] is True
    started = time.monotonic()
    manager.stop()
    assert time.monotonic() - started < 5
    assert manager.get_status()["running"] is False
    manager.start()  # a stopped manager can start again
    assert manager.is_running
    manager.stop()


def test_a_slow_job_does_not_delay_another() -> None:
    fast_runs = []
    release = threading.Event()
    manager = ScheduleManager(check_interval=60)
    manager.schedule_interval(0.02, lambda: release.wait(10), "slow")
    manager.schedule_interval(0.02, lambda: fast_runs.append(1), "fast")
    manager.start()
    try:
        deadline = time.monotonic() + 10
        while len(fast_runs) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(fast_runs) >= 5
        assert manager.schedules["slow"].running == 1
        assert manager.schedules["slow"].skipped_count >= 1
    finally:
        release.set()
        manager.stop()


def test_jobs_start_close_to_their_due_time() -> None:
    manager = ScheduleManager(check_interval=5)
    manager.schedule_interval(0.05, lambda: None, "tick")
    manager.start()
    try:
        deadline = time.monotonic() + 20
        while len(manager.get_runs("tick")) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        manager.stop()
    delays = sorted(run.delay_ms for run in manager.get_runs("tick"))
    assert len(delays) >= 10
    assert delays[len(delays) // 2] < 1000  # loose: a fixed 5 s poll would be seconds late
