"""Background jobs: run functions in worker threads, track them, and keep their records.

See :mod:`odibi_core.jobs.executor` for the job lifecycle and restart behaviour,
:mod:`odibi_core.jobs.store` and :mod:`odibi_core.jobs.sqlite_store` for where records live.
"""

from __future__ import annotations

from .default import get_executor, shutdown_executor
from .errors import (
    JobCancelledError,
    JobError,
    JobFailedError,
    JobNotFoundError,
    JobResultUnavailableError,
    JobTimeoutError,
)
from .executor import BackgroundJobExecutor
from .model import ORPHANED_MESSAGE, JobRecord, JobStatus
from .sqlite_store import SQLiteJobStore
from .store import JobStore, MemoryJobStore, default_jobs_path

__all__ = [
    "ORPHANED_MESSAGE",
    "BackgroundJobExecutor",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobNotFoundError",
    "JobRecord",
    "JobResultUnavailableError",
    "JobStatus",
    "JobStore",
    "JobTimeoutError",
    "MemoryJobStore",
    "SQLiteJobStore",
    "default_jobs_path",
    "get_executor",
    "shutdown_executor",
]
