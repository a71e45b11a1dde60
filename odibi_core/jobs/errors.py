"""Errors of the background jobs.

Exception tree (all under :class:`odibi_core.errors.OdibiError`)::

    JobError                     a job operation cannot be done (the executor is shut down, ...)
    ├── JobNotFoundError         no job has this id (also a LookupError)
    ├── JobFailedError           the job's function raised; carries its type, message, traceback
    ├── JobCancelledError        the job was cancelled before it ran
    ├── JobResultUnavailableError the job succeeded in an earlier process and its result was not
    │                            JSON-able, so only its repr was kept
    └── JobTimeoutError          wait_for_job ran out of time (also a TimeoutError)
"""

from __future__ import annotations

from ..errors import OdibiError

__all__ = [
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobNotFoundError",
    "JobResultUnavailableError",
    "JobTimeoutError",
]


class JobError(OdibiError):
    """A background-job operation cannot be done; the message says why and what to do."""


class JobNotFoundError(JobError, LookupError):
    """No job with ``job_id`` exists in the executor's store."""

    def __init__(self, job_id: str, store: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r} in {store}")

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError otherwise
        return str(self.args[0])


class JobFailedError(JobError):
    """The job's function raised. ``error_type``, ``error_message`` and ``traceback_text`` are
    the original error's; when the job ran in this process the original is the ``__cause__``."""

    def __init__(
        self, job_id: str, label: str, error_type: str, error_message: str, traceback_text: str
    ) -> None:
        self.job_id = job_id
        self.error_type = error_type
        self.error_message = error_message
        self.traceback_text = traceback_text
        super().__init__(f"job {job_id} ({label}) failed: {error_type}: {error_message}")


class JobCancelledError(JobError):
    """The job was cancelled while queued, so it never ran and has no result."""

    def __init__(self, job_id: str, label: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} ({label}) was cancelled before it ran; it has no result")


class JobResultUnavailableError(JobError):
    """The job succeeded in an earlier process but its result was not JSON-able; ``result_repr``
    is what was kept."""

    def __init__(self, job_id: str, label: str, result_repr: str) -> None:
        self.job_id = job_id
        self.result_repr = result_repr
        super().__init__(
            f"job {job_id} ({label}) succeeded in an earlier process, but its result was not "
            f"JSON-able and only its repr was stored: {result_repr}; return JSON-able values "
            "from jobs whose results must survive a restart"
        )


class JobTimeoutError(JobError, TimeoutError):
    """``wait_for_job`` gave up after ``timeout`` seconds; the job is still ``status``."""

    def __init__(self, job_id: str, label: str, timeout: float, status: str) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.status = status
        super().__init__(
            f"job {job_id} ({label}) did not finish within {timeout:g}s (still {status}); "
            "wait again, or cancel_job() it while it is queued"
        )
