"""What a job record holds: its status (a closed set), timestamps, result or error.

Results are kept as JSON data when the function's return value is JSON-able (tuples come back as
lists); otherwise its ``repr`` is kept and ``result_restorable`` is False. Errors are kept as the
exception's type name, message and formatted traceback. ``to_dict()`` gives the plain,
JSON-able status dict that :meth:`BackgroundJobExecutor.get_job_status` returns.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIVE_STATES",
    "ORPHANED_MESSAGE",
    "TERMINAL_STATES",
    "JobRecord",
    "JobStatus",
    "encode_error",
    "encode_result",
]

#: longest repr kept for a result that is not JSON-able
MAX_REPR = 2000

#: the error a job gets when a new executor finds it queued or running in a process that stopped
ORPHANED_MESSAGE = "the process running this job stopped before it finished (found on restart)"


class JobStatus(StrEnum):
    """Where a job is in its life: queued -> running -> succeeded | failed; queued -> cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: states a job never leaves
TERMINAL_STATES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})
#: states of a job that has not finished yet
ACTIVE_STATES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})


@dataclass(frozen=True)
class JobRecord:
    """One job as the store keeps it.

    ``owner`` names the executor that runs the job (``host:pid:token``), so a later executor can
    tell whether a queued or running job lost its process. ``error`` is None or a dict with
    ``type``, ``message`` and ``traceback``.
    """

    job_id: str
    name: str
    status: JobStatus
    submitted_at: datetime
    owner: str
    workflow_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: Any = None
    result_restorable: bool = True
    error: dict[str, str] | None = None

    @property
    def label(self) -> str:
        """A short description for messages: the function name and the workflow, if any."""
        return self.name if self.workflow_id is None else f"{self.name}, workflow {self.workflow_id!r}"

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able status dict; timestamps are ISO 8601 UTC strings or None."""
        return {
            "job_id": self.job_id,
            "workflow_id": self.workflow_id,
            "name": self.name,
            "status": self.status.value,
            "submitted_at": _iso(self.submitted_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "result": self.result,
            "result_restorable": self.result_restorable,
            "error": None if self.error is None else dict(self.error),
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def encode_result(value: Any) -> tuple[Any, bool]:
    """``(json_data, True)`` when ``value`` is strict JSON (no NaN), else ``(repr, False)``."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, OverflowError, RecursionError):
        text = None
    if text is not None:
        return json.loads(text), True
    try:
        shown = repr(value)
    except Exception as exc:  # a broken __repr__ must not lose the job's outcome
        shown = f"<{type(value).__qualname__} object; repr() raised {type(exc).__name__}>"
    if len(shown) > MAX_REPR:
        shown = shown[:MAX_REPR] + "...(truncated)"
    return shown, False


def encode_error(exc: BaseException) -> dict[str, str]:
    """The error as stored: type name (module-qualified unless builtin), message, traceback."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return {
        "type": name,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }
