"""Fixtures for the scheduler tests: a fake clock that only moves when told to."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # a Monday


class FakeClock:
    """A clock for ``ScheduleManager(clock=...)``: returns ``now`` until moved."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, when: datetime) -> None:
        with self._lock:
            self.now = when

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
