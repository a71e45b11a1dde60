"""ScheduleManager: runs registered jobs at their due times on a small pool of worker threads.

How the loop works (and how it differs from the seed's fixed poll):

* Every schedule has a ``next_run``, the next *due time*. The loop thread sleeps on a
  ``threading.Condition`` until the earliest ``next_run`` of the enabled schedules (at most
  ``max_wait`` seconds, which defaults to ``check_interval``), runs what is due, and sleeps
  again. Adding, enabling or triggering a schedule and ``stop()`` wake it at once. A job
  therefore starts within milliseconds of its due time; a loop that checks every
  ``check_interval`` seconds instead starts it up to ``check_interval`` late.
* No drift: the next due time is computed from the previous *due* time (interval: the grid
  ``start + k * seconds``; cron: the next match of the expression), never from when a run
  started or finished.
* Misfires: when the loop wakes later than a due time plus ``misfire_grace_seconds`` (a busy
  machine, a suspended laptop), that due time is counted in ``missed_count``. With
  ``coalesce=True`` (default) a backlog of due times collapses into one catch-up run; with
  ``coalesce=False`` only on-time due times run. Either way the schedule then continues from
  its next future due time.
* ``max_instances`` (default 1): a job still running when it is due again is not started a
  second time; the skipped start is counted in ``skipped_count``.
* Jobs run on worker threads (``max_workers``), so a slow job does not delay another. A job
  that raises is logged with its traceback, keeps its schedule, and its error shows in
  ``get_status()`` (``last_error``, ``error_count``).

Over 400 lines: the scheduling loop, its misfire/overlap rules and its job bookkeeping share one lock and one clock; to split next (the file watch and the run records).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import UTC, datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

from odibi_core.errors import ConfigError

from ..clock import utc_now
from .file_watch import FileWatcher
from .model import JobRun, MisfirePolicy, Schedule, ScheduleMode, UnknownScheduleError
from .triggers import CronTrigger, IntervalTrigger, Trigger, due_times, zone

__all__ = ["JobRun", "MisfirePolicy", "Schedule", "ScheduleManager", "ScheduleMode"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class ScheduleManager:
    """Registers schedules and runs their jobs at their due times.

    Args:
        check_interval: the longest the loop sleeps when nothing is due (seconds). It is only
            a cap: the loop wakes at the earliest due time, not every ``check_interval``. The
            seed's loop checked every ``check_interval`` seconds, so with ``check_interval=5``
            a job due every 10 s started up to 5 s late; here it starts on time.
        clock: returns the current timezone-aware time (default: :func:`odibi_core.clock.utc_now`).
            Inject a fake clock and call :meth:`run_pending` to test exact timings.
        wait: called by the loop instead of waiting on its condition, with the seconds to
            wait (e.g. a fake that advances a fake clock); it runs without the lock held, so
            early wake-ups only take effect after it returns.
        timezone: IANA zone for cron schedules that do not name their own.
        max_wait: the same cap as ``check_interval`` under a clearer name; wins when given.
        max_workers: worker threads that run the jobs.
        history_size: finished runs kept for :meth:`get_runs`.
    """

    def __init__(
        self,
        check_interval: float = 5.0,
        *,
        clock: Clock | None = None,
        wait: Callable[[float], object] | None = None,
        timezone: str = "UTC",
        max_wait: float | None = None,
        max_workers: int = 4,
        history_size: int = 1000,
    ) -> None:
        self.max_wait = _positive(max_wait if max_wait is not None else check_interval,
                                  "scheduler", "max_wait/check_interval")
        self.check_interval = check_interval
        if not isinstance(max_workers, int) or max_workers < 1:
            raise ConfigError("scheduler", f"max_workers must be an int >= 1, got {max_workers!r}")
        zone(timezone, "scheduler default")
        self.timezone = timezone
        self.max_workers = max_workers
        self.schedules: dict[str, Schedule] = {}
        self._clock = clock or utc_now
        self._wait = wait
        self._triggers: dict[str, Trigger] = {}
        self._watchers: dict[str, FileWatcher] = {}
        self._lock = threading.RLock()
        self._wakeup = threading.Condition(self._lock)
        self._woken = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: set[Future[JobRun]] = set()
        self._history: deque[JobRun] = deque(maxlen=history_size)
        log.info("ScheduleManager initialized (max_wait=%ss, timezone=%s)", self.max_wait,
                 timezone)

    # -- registering ---------------------------------------------------------------------------
    def schedule_interval(
        self,
        seconds: float,
        function: Callable[[], object],
        name: str | None = None,
        *,
        start_at: datetime | None = None,
        misfire_grace_seconds: float = 1.0,
        coalesce: bool = True,
        max_instances: int = 1,
    ) -> str:
        """Run ``function()`` every ``seconds``, on the grid ``start_at + k * seconds``.

        Args:
            seconds: the period (> 0; fractions allowed).
            function: the job, called without arguments.
            name: unique schedule name (default ``interval_<n>``).
            start_at: the first due time (timezone-aware; default now + ``seconds``). If it is
                already past, the grid still starts there and the first run is at the next
                grid point after now.
            misfire_grace_seconds, coalesce, max_instances: see the module docstring.

        Returns:
            The schedule name.
        """
        name = self._new_name(name, ScheduleMode.INTERVAL)
        now = self._now()
        _positive(seconds, f"schedule '{name}'", "interval seconds")
        anchor = start_at if start_at is not None else now + timedelta(seconds=seconds)
        trigger = IntervalTrigger(seconds, anchor, name=name)
        first = trigger.anchor if trigger.anchor >= now else trigger.next_fire(now)
        schedule = Schedule(name, ScheduleMode.INTERVAL, function, interval_seconds=seconds,
                            next_run=first, misfire_grace_seconds=misfire_grace_seconds,
                            coalesce=coalesce, max_instances=max_instances)
        self._add(schedule, trigger)
        log.info("Scheduled interval job: %s (every %ss, first at %s)", name, seconds,
                 first.isoformat())
        return name

    def schedule_cron(
        self,
        cron_expr: str,
        function: Callable[[], object],
        name: str | None = None,
        *,
        timezone: str | None = None,
        misfire_grace_seconds: float = 1.0,
        coalesce: bool = True,
        max_instances: int = 1,
    ) -> str:
        """Run ``function()`` at the times a five-field cron expression names.

        ``"0 2 * * *"`` is 02:00 every day, ``"*/15 9-17 * * 1-5"`` every 15 minutes from
        09:00 to 17:45 on weekdays. All five fields count; when both day-of-month and
        day-of-week are restricted a day matches if either does (Vixie cron). The expression
        is read in ``timezone`` (default: the manager's); daylight saving time follows
        cronsim's Debian-cron rule: a fixed-time job (minute and hour not starting with
        ``*``) whose time falls in a DST gap fires once right after the gap, and in a
        repeated hour fires once (the first occurrence); other jobs follow real elapsed time.
        See :class:`~odibi_core.scheduler.triggers.CronTrigger`.

        Raises:
            ConfigError: naming the schedule and the expression, with cronsim's message,
                when the expression is invalid, or when it never fires.
        """
        name = self._new_name(name, ScheduleMode.CRON)
        tz_name = timezone if timezone is not None else self.timezone
        trigger = CronTrigger(cron_expr, tz_name, name=name)
        first = trigger.next_fire(self._now())
        if first is None:
            raise ConfigError(f"schedule '{name}'",
                              f"cron expression {cron_expr!r} never fires in the next 50 years")
        schedule = Schedule(name, ScheduleMode.CRON, function, cron_expr=cron_expr,
                            next_run=first, timezone=tz_name,
                            misfire_grace_seconds=misfire_grace_seconds, coalesce=coalesce,
                            max_instances=max_instances)
        self._add(schedule, trigger)
        log.info("Scheduled cron job: %s (%s in %s, first at %s)", name, cron_expr, tz_name,
                 first.isoformat())
        return name

    def schedule_file_watch(
        self,
        path: str | PathLike[str],
        function: Callable[[list[Path]], object],
        name: str | None = None,
        *,
        pattern: str = "*",
        poll_seconds: float = 1.0,
        include_existing: bool = False,
        max_instances: int = 1,
    ) -> str:
        """Run ``function(new_files)`` when new complete files appear in the folder ``path``.

        The folder is listed every ``poll_seconds`` (one ``os.scandir``, on the loop thread).
        A file is new when its (path, size, mtime) was not handed to the job before, and
        complete when its size and mtime did not change between two polls, so it is delivered
        one poll after it is first seen. Hidden and temporary names (leading ``.`` or ``_``,
        ``.tmp``, ``.part``, ``.crdownload``) are ignored. Files present at registration are
        not delivered unless ``include_existing``. ``new_files`` is a list of ``Path``, oldest
        first. When the run is skipped (``max_instances``), the files are offered again at the
        next poll. The seen set is kept in memory only.
        """
        name = self._new_name(name, ScheduleMode.FILE_WATCH)
        _positive(poll_seconds, f"schedule '{name}'", "poll_seconds")
        now = self._now()
        trigger = IntervalTrigger(poll_seconds, now + timedelta(seconds=poll_seconds), name=name)
        watcher = FileWatcher(path, pattern, include_existing=include_existing)
        schedule = Schedule(name, ScheduleMode.FILE_WATCH, function, interval_seconds=poll_seconds,
                            file_path=str(path), next_run=trigger.anchor,
                            max_instances=max_instances)
        self._add(schedule, trigger, watcher)
        log.info("Scheduled file watch: %s (%s, pattern %r, every %ss)", name, path, pattern,
                 poll_seconds)
        return name

    def schedule_manual(self, function: Callable[[], object], name: str | None = None, *,
                        max_instances: int = 1) -> str:
        """Register ``function()`` to run only when :meth:`trigger` is called."""
        name = self._new_name(name, ScheduleMode.MANUAL)
        self._add(Schedule(name, ScheduleMode.MANUAL, function, max_instances=max_instances))
        log.info("Scheduled manual job: %s", name)
        return name

    # -- running ---------------------------------------------------------------------------------
    def start(self, daemon: bool = True) -> None:
        """Start the loop thread (a daemon by default, so it does not keep Python alive)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                log.warning("ScheduleManager already running")
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run_loop, name="odibi-scheduler",
                                            daemon=daemon)
            self._thread.start()
        log.info("ScheduleManager started")

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the loop and wait up to ``timeout`` seconds in all for it and for runs in
        progress to end; runs still going on after that are left to finish on their own."""
        deadline = threading.TIMEOUT_MAX if timeout is None else max(0.0, timeout)
        with self._lock:
            thread = self._thread
            self._stopping = True
            self._notify()
        started = time.monotonic()
        if thread is not None:
            thread.join(deadline)
            if thread.is_alive():
                log.warning("ScheduleManager loop did not stop within %ss", timeout)
        with self._lock:
            inflight = set(self._inflight)
            pool, self._pool = self._pool, None
            self._thread = None
        if inflight:
            _, pending = wait_futures(inflight, timeout=max(0.0, deadline - (time.monotonic() - started)))
            if pending:
                log.warning("ScheduleManager stopped with %d run(s) still in progress",
                            len(pending))
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        log.info("ScheduleManager stopped")

    @property
    def is_running(self) -> bool:
        """Whether the loop thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping

    def run_pending(self) -> int:
        """Start every run that is due at the clock's current time; return how many started.

        The loop thread calls this each time it wakes; with an injected clock, tests and
        notebooks call it directly. It returns once the runs are submitted to the workers.
        """
        started = 0
        with self._lock:
            now = self._now()
            for schedule in list(self.schedules.values()):
                if not schedule.enabled or schedule.next_run is None or schedule.next_run > now:
                    continue
                due, schedule.next_run = due_times(self._triggers[schedule.name],
                                                   schedule.next_run, now)
                if schedule.mode is ScheduleMode.FILE_WATCH:
                    started += self._poll_files(schedule, due[-1]) is not None
                    continue
                runs, missed = schedule.misfire_policy.resolve(due, now)
                if missed:
                    schedule.missed_count += missed
                    log.warning("schedule '%s' misfired %d due time(s) (the loop woke %.3fs"
                                " after %s; grace %ss); %s", schedule.name, missed,
                                (now - due[0]).total_seconds(), due[0].isoformat(),
                                schedule.misfire_grace_seconds,
                                "running once for all" if schedule.coalesce else "skipped")
                for when in runs:
                    started += self._submit(schedule, when) is not None
        return started

    def trigger(self, name: str) -> Future[JobRun] | None:
        """Run the schedule ``name`` now on a worker, whatever its mode, even if disabled.

        Its due times are not changed. ``max_instances`` is respected: when it is reached
        the run is skipped (counted in ``skipped_count``) and None is returned. For a
        FILE_WATCH schedule this polls the folder now and runs only if there are new complete
        files (None otherwise). Otherwise returns a Future that resolves to the run's
        :class:`JobRun` (an error the job raised is recorded there, never re-raised).
        """
        with self._lock:
            schedule = self._get(name)
            now = self._now()
            if schedule.mode is ScheduleMode.FILE_WATCH:
                return self._poll_files(schedule, now, manual=True)
            return self._submit(schedule, now, manual=True)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no run is in progress (or ``timeout`` seconds); True when idle."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                inflight = set(self._inflight)
            if not inflight:
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            wait_futures(inflight, timeout=remaining)

    # -- managing ------------------------------------------------------------------------------
    def enable_schedule(self, name: str) -> None:
        """Enable ``name``; its next due time is the first one after now (no catch-up runs)."""
        with self._lock:
            schedule = self._get(name)
            if not schedule.enabled:
                schedule.enabled = True
                trigger = self._triggers.get(name)
                schedule.next_run = trigger.next_fire(self._now()) if trigger else None
                self._notify()
        log.info("Enabled schedule: %s", name)

    def disable_schedule(self, name: str) -> None:
        """Disable ``name``: the loop no longer fires it (``next_run`` becomes None)."""
        with self._lock:
            schedule = self._get(name)
            schedule.enabled = False
            schedule.next_run = None
        log.info("Disabled schedule: %s", name)

    def remove_schedule(self, name: str) -> None:
        """Forget ``name``; a run in progress finishes."""
        with self._lock:
            self._get(name)
            del self.schedules[name]
            self._triggers.pop(name, None)
            self._watchers.pop(name, None)
        log.info("Removed schedule: %s", name)

    def get_status(self) -> dict[str, Any]:
        """``{"running", "schedule_count", "schedules": {name: {mode, enabled, last_run,
        next_run, run_count, error_count, last_error, ...}}}`` with ISO-8601 times."""
        with self._lock:
            return {
                "running": self.is_running,
                "schedule_count": len(self.schedules),
                "schedules": {name: s.status() for name, s in self.schedules.items()},
            }

    def next_fire_times(self, name: str, n: int = 5, *,
                        after: datetime | None = None) -> list[datetime]:
        """The next ``n`` due times of ``name``: from its ``next_run`` (or, with ``after``,
        strictly after that time). Empty for MANUAL; poll times for FILE_WATCH. Cron times are
        in the schedule's timezone, interval times in UTC."""
        with self._lock:
            schedule = self._get(name)
            trigger = self._triggers.get(name)
            if trigger is None:
                return []
            if after is not None:
                when = trigger.next_fire(after)
            elif schedule.next_run is not None:
                when = schedule.next_run
            else:
                when = trigger.next_fire(self._now())
        times: list[datetime] = []
        while when is not None and len(times) < n:
            times.append(when)
            when = trigger.next_fire(when)
        return times

    def get_runs(self, name: str | None = None) -> list[JobRun]:
        """Finished runs, oldest first (the last ``history_size``), of ``name`` or of all."""
        with self._lock:
            return [run for run in self._history if name is None or run.schedule == name]

    # -- internals -------------------------------------------------------------------------------
    def _run_loop(self) -> None:
        while True:
            try:
                self.run_pending()
            except Exception:  # the loop must survive a bad clock or a full pool; keep going
                log.exception("ScheduleManager loop iteration failed")
            with self._lock:
                if self._stopping:
                    return
                timeout = self._seconds_to_wait()
                if self._wait is None:
                    if not self._woken and timeout > 0:
                        self._wakeup.wait(timeout)
                    self._woken = False
                    continue
            self._wait(timeout)

    def _seconds_to_wait(self) -> float:
        # in UTC: two local times of one zone compare by wall clock, wrong in a repeated hour
        due = [s.next_run.astimezone(UTC) for s in self.schedules.values()
               if s.enabled and s.next_run is not None]
        if not due:
            return self.max_wait
        try:
            seconds = (min(due) - self._now()).total_seconds()
        except ConfigError:  # a bad clock; run_pending has logged it
            return self.max_wait
        return min(max(seconds, 0.0), self.max_wait)

    def _poll_files(self, schedule: Schedule, scheduled_for: datetime, *,
                    manual: bool = False) -> Future[JobRun] | None:
        watcher = self._watchers[schedule.name]
        files = watcher.poll()
        if not files:
            return None
        future = self._submit(schedule, scheduled_for, manual=manual, files=files)
        if future is not None:
            watcher.mark_delivered(files)
        return future

    def _submit(self, schedule: Schedule, scheduled_for: datetime, *, manual: bool = False,
                files: list[Path] | None = None) -> Future[JobRun] | None:
        if schedule.running >= schedule.max_instances:
            schedule.skipped_count += 1
            log.info("schedule '%s' due at %s not started: %d of max_instances=%d running",
                     schedule.name, scheduled_for.isoformat(), schedule.running,
                     schedule.max_instances)
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="odibi-job")
        schedule.running += 1
        future = self._pool.submit(self._execute, schedule, scheduled_for, manual, files)
        self._inflight.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[JobRun]) -> None:
        with self._lock:
            self._inflight.discard(future)

    def _execute(self, schedule: Schedule, scheduled_for: datetime, manual: bool,
                 files: list[Path] | None) -> JobRun:
        started = self._now()
        with self._lock:
            schedule.last_run = started
        error: str | None = None
        try:
            if files is None:
                schedule.function()
            else:
                schedule.function(list(files))
        except Exception as exc:  # a job's failure is recorded; the schedule keeps running
            error = f"{type(exc).__name__}: {exc}"
            log.exception("schedule '%s' run due at %s failed (it keeps its schedule): %s",
                          schedule.name, scheduled_for.isoformat(), error)
        finally:
            finished = self._now()
            run = JobRun(schedule.name, scheduled_for, started, finished, error, manual,
                         tuple(str(path) for path in files or ()))
            with self._lock:
                schedule.running -= 1
                schedule.run_count += 1
                schedule.last_duration_ms = run.duration_ms
                if error is not None:
                    schedule.error_count += 1
                    schedule.last_error = error
                self._history.append(run)
        return run

    def _add(self, schedule: Schedule, trigger: Trigger | None = None,
             watcher: FileWatcher | None = None) -> None:
        where = f"schedule '{schedule.name}'"
        if not callable(schedule.function):
            raise ConfigError(where, f"function must be callable, got {schedule.function!r}")
        if isinstance(schedule.max_instances, bool) or not isinstance(schedule.max_instances, int) \
                or schedule.max_instances < 1:
            raise ConfigError(where, "max_instances must be an int >= 1, got"
                                     f" {schedule.max_instances!r}")
        grace = schedule.misfire_grace_seconds
        if isinstance(grace, bool) or not isinstance(grace, int | float) \
                or not math.isfinite(grace) or grace < 0:
            raise ConfigError(where, f"misfire_grace_seconds must be a number >= 0, got {grace!r}")
        with self._lock:
            if schedule.name in self.schedules:
                raise ConfigError(where, "a schedule with this name exists; remove it first"
                                         f" (known schedules: {sorted(self.schedules)})")
            self.schedules[schedule.name] = schedule
            if trigger is not None:
                self._triggers[schedule.name] = trigger
            if watcher is not None:
                self._watchers[schedule.name] = watcher
            self._notify()

    def _new_name(self, name: str | None, mode: ScheduleMode) -> str:
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ConfigError("scheduler", f"schedule name must be a non-empty string, got"
                                               f" {name!r}")
            return name
        with self._lock:
            n = len(self.schedules)
            while f"{mode.value}_{n}" in self.schedules:
                n += 1
            return f"{mode.value}_{n}"

    def _get(self, name: str) -> Schedule:
        try:
            return self.schedules[name]
        except KeyError:
            raise UnknownScheduleError(name, list(self.schedules)) from None

    def _notify(self) -> None:
        with self._lock:
            self._woken = True
            self._wakeup.notify_all()

    def _now(self) -> datetime:
        now = self._clock()
        if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
            raise ConfigError("scheduler", f"the clock must return timezone-aware datetimes,"
                                           f" got {now!r}")
        return now.astimezone(UTC)


def _positive(value: object, where: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ConfigError(where, f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)
