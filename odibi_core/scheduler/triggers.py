"""When schedules fire: the next due time after a given time, for interval and cron schedules.

A trigger only does arithmetic on timezone-aware datetimes; it never reads a clock, so every
rule here is tested exactly with fixed times. Both triggers answer ``next_fire(after)``: the
first due time strictly after ``after``. The manager always asks from the previous *due* time,
never from when a run finished, so schedules do not drift.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from odibi_core.errors import ConfigError

__all__ = ["CronTrigger", "IntervalTrigger", "Trigger", "due_times", "zone"]

CRON_FIELDS = "minute hour day-of-month month day-of-week"
MAX_BACKLOG = 10_000  # due times listed one by one after a long pause; beyond, jump ahead


class Trigger(ABC):
    """Computes due times; knows nothing of jobs or clocks."""

    @abstractmethod
    def next_fire(self, after: datetime) -> datetime | None:
        """The first due time strictly after ``after`` (None: it never fires again)."""


class IntervalTrigger(Trigger):
    """Due times on a fixed grid ``anchor + k * seconds`` (k = 0, 1, 2, ...).

    The period is held as a whole number of microseconds and every due time is computed from
    the anchor, so the 1000th time is exactly ``anchor + 1000 * seconds``: no drift, no float
    error that adds up.
    """

    def __init__(self, seconds: float, anchor: datetime, *, name: str = "?") -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) \
                or not math.isfinite(seconds) or seconds <= 0:
            raise ConfigError(f"schedule '{name}'",
                              f"interval must be a positive number of seconds, got {seconds!r}")
        self.name = name
        self.step = timedelta(seconds=seconds)
        if self.step <= timedelta(0):
            raise ConfigError(f"schedule '{name}'",
                              f"interval must be at least 1 microsecond, got {seconds!r}")
        # UTC: arithmetic on local times would ignore DST (same-zone subtraction is naive)
        self.anchor = _aware(anchor, name).astimezone(UTC)

    def next_fire(self, after: datetime) -> datetime:
        after = _aware(after, self.name).astimezone(UTC)
        if after < self.anchor:
            return self.anchor
        return self.anchor + self.step * ((after - self.anchor) // self.step + 1)


class CronTrigger(Trigger):
    """Due times of a five-field cron expression, read in an IANA timezone, via ``cronsim``.

    Fields: minute, hour, day-of-month, month, day-of-week; all five count. Names (``mon``,
    ``jan``), ranges, lists and steps work, plus cronsim's ``L``, ``LW`` and ``5#2``. When both
    day-of-month and day-of-week are restricted (neither starts with ``*``), a day matches if
    EITHER matches, as in Vixie cron: ``0 0 1 * mon`` fires on the 1st and on every Monday.

    Daylight saving time follows cronsim, which copies Debian cron:

    * Fixed-time jobs (minute and hour fields both not starting with ``*``, e.g. ``30 2 * * *``)
      are matched on the local wall clock. A time that falls in a DST gap (clocks jump
      forward) fires once, right after the gap: ``30 2 * * *`` fires at 03:00 on the day New
      York jumps from 02:00 to 03:00. A time in a repeated hour (clocks go back) fires once,
      at its first occurrence.
    * Other jobs (minute or hour field starting with ``*``, e.g. ``*/15 * * * *``) follow real
      elapsed time: wall times inside a gap do not exist and are skipped, and times in a
      repeated hour fire in both occurrences.
    """

    def __init__(self, expr: str, timezone: str = "UTC", *, name: str = "?") -> None:
        self.expr = expr
        self.name = name
        self.tz = zone(timezone, name)
        where = f"schedule '{name}'"
        if not isinstance(expr, str) or len(expr.split()) != 5:
            raise ConfigError(where, f"invalid cron expression {expr!r}: expected 5 fields"
                                     f" ({CRON_FIELDS})")
        try:
            CronSim(expr, datetime(2000, 1, 1, tzinfo=self.tz))
        except CronSimError as exc:
            raise ConfigError(where, f"invalid cron expression {expr!r}: {exc}"
                                     f" (fields: {CRON_FIELDS})") from exc

    def next_fire(self, after: datetime) -> datetime | None:
        """The first due time strictly after ``after``, in the trigger's timezone.

        Compared on absolute time: in a repeated hour the wall clock alone cannot tell which
        01:30 came first. None when the expression matches nothing in the next 50 years.
        """
        local = _aware(after, self.name).astimezone(self.tz)
        limit = after.astimezone(UTC)
        for when in CronSim(self.expr, local):  # the iteration ends after 50 empty years
            if when.astimezone(UTC) > limit:
                return when
        return None


def due_times(trigger: Trigger, first: datetime, now: datetime,
              limit: int = MAX_BACKLOG) -> tuple[list[datetime], datetime | None]:
    """(the due times from ``first`` up to ``now`` inclusive, the first due time after ``now``).

    ``first`` is the schedule's ``next_run``. After a very long pause only the first ``limit``
    due times are listed; the rest are jumped over.
    """
    due: list[datetime] = []
    when: datetime | None = first
    while when is not None and when <= now:
        if len(due) == limit:
            return due, trigger.next_fire(now)
        due.append(when)
        when = trigger.next_fire(when)
    return due, when


def zone(name: str, schedule: str = "?") -> tzinfo:
    """The IANA timezone ``name`` (ConfigError naming the schedule when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError(f"schedule '{schedule}'",
                          f"unknown timezone {name!r}: expected an IANA name such as 'UTC' or"
                          " 'Europe/London'") from exc


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.utcoffset() is None:
        raise ConfigError(f"schedule '{name}'",
                          f"times must be timezone-aware datetimes, got {value!r}")
    return value
