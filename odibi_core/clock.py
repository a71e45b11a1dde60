"""The one UTC clock helper, and the names of injected clocks.

Two kinds of clock are injected across odibi_core, and their parameters say which:

* ``clock`` is **monotonic** seconds (``time.monotonic``): durations, due times, timeouts.
* ``wall_clock`` is the **wall** time as an aware UTC datetime (:func:`utc_now`): timestamps
  people read, checkpoint and job records, cron schedules.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now", "utc_stamp"]


def utc_now() -> datetime:
    """The current wall time, timezone-aware in UTC."""
    return datetime.now(UTC)


def utc_stamp(timespec: str = "milliseconds") -> str:
    """The current wall time as ISO 8601 text in UTC (``2026-01-02T03:04:05.678+00:00``)."""
    return datetime.now(UTC).isoformat(timespec=timespec)
