"""Where job records live: a small store interface and an in-memory implementation.

A store knows nothing of threads or functions; it keeps :class:`JobRecord` objects and changes a
job's status only through :meth:`JobStore.transition`, an atomic compare-and-set, so a worker
starting a job and a caller cancelling it can never both win. The SQLite store
(:mod:`odibi_core.jobs.sqlite_store`) is the persistent implementation.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .errors import JobError, JobNotFoundError
from .model import JobRecord, JobStatus

__all__ = ["ENV_HOME", "JobStore", "MemoryJobStore", "default_jobs_path", "odibi_home"]

#: environment variable naming the odibi home folder (default ``~/.odibi``)
ENV_HOME = "ODIBI_HOME"

#: the record fields a transition may change
CHANGEABLE = frozenset({"status", "started_at", "finished_at", "result", "result_restorable", "error"})


def odibi_home() -> Path:
    """The user's odibi home: ``$ODIBI_HOME`` or ``~/.odibi``."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".odibi"


def default_jobs_path() -> Path:
    """``jobs.sqlite3`` in the odibi home: where the default executor keeps its job records."""
    return odibi_home() / "jobs.sqlite3"


def check_changes(changes: dict[str, Any]) -> None:
    """Refuse a transition that would change a field other than status, times, result, error."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise JobError(f"a job transition cannot change {unknown}; allowed: {sorted(CHANGEABLE)}")
    if "status" in changes:
        changes["status"] = JobStatus(changes["status"])


class JobStore(ABC):
    """Keeps job records by id. Implementations are thread-safe; the SQLite one is also safe
    for several processes sharing one file."""

    @abstractmethod
    def add(self, record: JobRecord) -> None:
        """Store a new job; a JobError if a job with this id exists already."""

    @abstractmethod
    def get(self, job_id: str) -> JobRecord | None:
        """The job's record, or None when there is no such job."""

    @abstractmethod
    def transition(
        self, job_id: str, expected: Collection[JobStatus], **changes: Any
    ) -> JobRecord | None:
        """Atomically apply ``changes`` when the job's status is one of ``expected``; the updated
        record, or None (nothing changed) when it is not. JobNotFoundError for an unknown id."""

    @abstractmethod
    def list(
        self, workflow_id: str | None = None, statuses: Collection[JobStatus] | None = None
    ) -> list[JobRecord]:
        """Jobs of ``workflow_id`` (all when None) whose status is in ``statuses`` (any when None),
        oldest submission first (ties by id)."""

    def close(self) -> None:
        """Release the store's resources (a no-op for stores that hold none)."""
        return None

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryJobStore(JobStore):
    """Job records in a lock-guarded dict; for tests and executors that need no persistence.
    Records are copied in and out, so callers never share mutable results with the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}

    def __repr__(self) -> str:
        return f"MemoryJobStore({len(self._records)} jobs)"

    def add(self, record: JobRecord) -> None:
        with self._lock:
            if record.job_id in self._records:
                raise JobError(f"a job with id {record.job_id!r} exists already in {self!r}")
            self._records[record.job_id] = copy.deepcopy(record)

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            record = self._records.get(job_id)
            return None if record is None else copy.deepcopy(record)

    def transition(
        self, job_id: str, expected: Collection[JobStatus], **changes: Any
    ) -> JobRecord | None:
        check_changes(changes)
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFoundError(job_id, repr(self))
            if record.status not in expected:
                return None
            record = dataclasses.replace(record, **copy.deepcopy(changes))
            self._records[job_id] = record
            return copy.deepcopy(record)

    def list(
        self, workflow_id: str | None = None, statuses: Collection[JobStatus] | None = None
    ) -> list[JobRecord]:
        with self._lock:
            found = [
                copy.deepcopy(record)
                for record in self._records.values()
                if (workflow_id is None or record.workflow_id == workflow_id)
                and (statuses is None or record.status in statuses)
            ]
        return sorted(found, key=lambda record: (record.submitted_at, record.job_id))
