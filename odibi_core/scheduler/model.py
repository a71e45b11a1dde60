"""The records of the scheduler: modes, schedules, the misfire policy and finished runs.

Everything here is plain data plus one pure rule (:meth:`MisfirePolicy.resolve`); *when* a
schedule fires is computed in :mod:`odibi_core.scheduler.triggers` and the loop lives in
:mod:`odibi_core.scheduler.schedule_manager`. All times are timezone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from odibi_core.errors import ConfigError

__all__ = ["JobRun", "MisfirePolicy", "Schedule", "ScheduleMode", "UnknownScheduleError"]


class ScheduleMode(StrEnum):
    """What makes a schedule fire."""

    INTERVAL = "interval"  # every N seconds, on a fixed grid start + k * N
    CRON = "cron"  # the times a five-field cron expression names, in the schedule's timezone
    FILE_WATCH = "file_watch"  # a new complete file appeared in a folder (checked every poll)
    MANUAL = "manual"  # only when ScheduleManager.trigger(name) is called


@dataclass
class Schedule:
    """One registered job: its configuration (first block) and its live state (second block).

    The first ten fields are the seed's, in the seed's order. ``function`` takes no arguments,
    except for FILE_WATCH schedules, where it is called with the list of new files (``Path``).

    Attributes:
        name: unique schedule name (the key in ``ScheduleManager.schedules`` and in status).
        mode: what makes it fire (:class:`ScheduleMode`).
        function: the job; its return value is ignored, an exception it raises is recorded.
        interval_seconds: INTERVAL period; FILE_WATCH poll period.
        cron_expr: CRON expression (minute hour day-of-month month day-of-week).
        file_path: FILE_WATCH folder.
        enabled: a disabled schedule is never fired by the loop (``trigger`` still runs it).
        last_run: when the most recent run started.
        next_run: the next *scheduled* time (None: manual, disabled, or a cron that never fires).
        run_count: runs finished, successful or not.
        timezone: IANA zone the cron expression is read in (e.g. ``"Europe/London"``).
        misfire_grace_seconds: how late a run may start and still count as on time.
        coalesce: a backlog of due times (the loop woke late) collapses into one run.
        max_instances: runs of this schedule allowed at the same time (1: never overlap).
        error_count: runs that raised.
        last_error: ``"ExceptionType: message"`` of the most recent run that raised (kept after
            later successes; ``error_count`` says how many there were).
        last_duration_ms: wall time of the most recent finished run.
        running: runs of this schedule in progress now.
        missed_count: due times that misfired (the run would start later than the grace).
        skipped_count: runs not started because ``max_instances`` were already running.
    """

    name: str
    mode: ScheduleMode
    function: Callable[..., Any]
    interval_seconds: float | None = None
    cron_expr: str | None = None
    file_path: str | None = None
    enabled: bool = True
    last_run: datetime | None = None
    next_run: datetime | None = None
    run_count: int = 0
    timezone: str = "UTC"
    misfire_grace_seconds: float = 1.0
    coalesce: bool = True
    max_instances: int = 1
    error_count: int = 0
    last_error: str | None = None
    last_duration_ms: float | None = None
    running: int = 0
    missed_count: int = 0
    skipped_count: int = 0

    @property
    def misfire_policy(self) -> MisfirePolicy:
        return MisfirePolicy(self.misfire_grace_seconds, self.coalesce)

    def status(self) -> dict[str, Any]:
        """JSON-friendly view (ISO-8601 times): the seed's keys first, then the new ones."""
        return {
            "mode": self.mode.value,
            "enabled": self.enabled,
            "last_run": _iso(self.last_run),
            "next_run": _iso(self.next_run),
            "run_count": self.run_count,
            "error_count": self.error_count,
            "last_error": self.last_error,
            "last_duration_ms": self.last_duration_ms,
            "running": self.running,
            "missed_count": self.missed_count,
            "skipped_count": self.skipped_count,
            "max_instances": self.max_instances,
            "misfire_grace_seconds": self.misfire_grace_seconds,
            "coalesce": self.coalesce,
            "timezone": self.timezone,
            "interval_seconds": self.interval_seconds,
            "cron_expr": self.cron_expr,
            "file_path": self.file_path,
        }


@dataclass(frozen=True)
class MisfirePolicy:
    """What happens to due times when the loop wakes up late (a busy machine, a long pause).

    A due time no more than ``grace_seconds`` in the past is *on time*; an older one has
    *misfired* and is counted in ``Schedule.missed_count``. With ``coalesce=True`` all due
    times, on time or misfired, collapse into ONE run (the scheduler catches up once, then
    continues from the next future time). With ``coalesce=False`` every on-time due time gets
    its own run and misfired ones get none.
    """

    grace_seconds: float = 1.0
    coalesce: bool = True

    def resolve(self, due: Sequence[datetime], now: datetime) -> tuple[list[datetime], int]:
        """(the due times to run, how many due times misfired), for ``due`` in ascending order."""
        missed = sum((now - when).total_seconds() > self.grace_seconds for when in due)
        if not due:
            return [], 0
        if self.coalesce:
            return [due[-1]], missed
        return [when for when in due if (now - when).total_seconds() <= self.grace_seconds], missed


@dataclass(frozen=True)
class JobRun:
    """One finished run of a schedule, as kept in ``ScheduleManager.get_runs()``.

    ``scheduled_for`` is the due time the run was for (for ``trigger()`` the time it was
    called), so ``delay_ms`` is how late the run started.
    """

    schedule: str
    scheduled_for: datetime
    started_at: datetime
    finished_at: datetime
    error: str | None = None
    manual: bool = False
    files: tuple[str, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.error is None

    @property
    def delay_ms(self) -> float:
        return (self.started_at - self.scheduled_for).total_seconds() * 1000

    @property
    def duration_ms(self) -> float:
        return (self.finished_at - self.started_at).total_seconds() * 1000


class UnknownScheduleError(ConfigError, KeyError):
    """No schedule has this name; the message lists the known ones. Also a KeyError."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        super().__init__(
            f"schedule '{name}'",
            f"no such schedule; known schedules: {sorted(known)}",
        )

    def __str__(self) -> str:  # KeyError would quote the whole message
        return ConfigError.__str__(self)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
