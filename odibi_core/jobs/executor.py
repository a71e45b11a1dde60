"""Run functions in background worker threads and keep a record of every job in a store.

Lifecycle: ``submit_job`` stores a *queued* record and puts the job on a FIFO queue; a worker
claims it (queued -> *running*, an atomic store transition), calls the function and stores
*succeeded* with the result or *failed* with the error. ``cancel_job`` claims a queued job for
*cancelled* with the same transition, so a cancelled job never runs and a running job cannot be
cancelled (threads cannot be stopped safely). ``shutdown(wait=True)`` runs what is queued, then
stops the workers; ``shutdown(wait=False)`` cancels the queued jobs and returns at once (running
jobs still finish and record their outcome). Workers are daemon threads: a process that exits
with jobs running does not wait for them, and those jobs become orphans (below).

Restart: a new executor on a persistent store marks every job that was queued or running in a
process that has stopped as *failed* with :data:`~odibi_core.jobs.model.ORPHANED_MESSAGE` (see
:mod:`odibi_core.jobs.owner` for how a stopped owner is recognised); finished jobs keep their
status, result and error.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..clock import utc_now
from ..errors import ConfigError
from .errors import (
    JobCancelledError,
    JobError,
    JobFailedError,
    JobNotFoundError,
    JobResultUnavailableError,
    JobTimeoutError,
)
from .model import (
    ACTIVE_STATES,
    ORPHANED_MESSAGE,
    JobRecord,
    JobStatus,
    encode_error,
    encode_result,
)
from .owner import new_owner, owner_is_gone, release_owner
from .store import JobStore

__all__ = ["BackgroundJobExecutor"]

logger = logging.getLogger(__name__)

_QUEUED = frozenset({JobStatus.QUEUED})
_RUNNING = frozenset({JobStatus.RUNNING})
_STOP = object()  # queue sentinel: one per worker


def _callable_name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return str(name) if name else type(func).__qualname__


class BackgroundJobExecutor:
    """A pool of worker threads running submitted functions; thread-safe.

    Args:
        num_workers: how many jobs run at once (at least 1).
        store: where job records live; default a new :class:`~odibi_core.jobs.SQLiteJobStore`
            at ``jobs.sqlite3`` in the odibi home (``$ODIBI_HOME`` or ``~/.odibi``).
        clock: returns the current time (timezone-aware); injectable for tests.
        poll_interval: seconds between store reads when waiting on a job another process runs.

    Opening the executor cleans up orphaned jobs in the store (see the module docstring).
    Workers start with :meth:`start`; jobs submitted before that wait in the queue.
    """

    def __init__(
        self,
        num_workers: int = 4,
        *,
        store: JobStore | None = None,
        clock: Callable[[], datetime] = utc_now,
        poll_interval: float = 0.2,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
            raise ConfigError("BackgroundJobExecutor", f"num_workers must be an int >= 1, got {num_workers!r}")
        if store is None:
            from .sqlite_store import SQLiteJobStore

            store = SQLiteJobStore()
        self.num_workers = num_workers
        self.store = store
        self._clock = clock
        self._poll_interval = poll_interval
        self._owner = new_owner()
        self._finalizer = weakref.finalize(self, release_owner, self._owner)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified on every status change
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}
        self._outcomes: dict[str, tuple[bool, Any]] = {}  # live (succeeded?, value or exception)
        self._owned: set[str] = set()
        self._workers: list[threading.Thread] = []
        self._running_workers = 0
        self._shut_down = False
        self.orphans_failed = self.fail_orphaned_jobs()

    def __repr__(self) -> str:
        state = "shut down" if self._shut_down else ("started" if self._workers else "not started")
        return f"BackgroundJobExecutor(num_workers={self.num_workers}, {state}, store={self.store!r})"

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return bool(self._workers)

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    def start(self) -> BackgroundJobExecutor:
        """Start the worker threads (idempotent); returns the executor."""
        with self._lock:
            if self._shut_down:
                raise JobError(f"{self!r} was shut down and cannot start again; create a new executor")
            if self._workers:
                return self
            for index in range(self.num_workers):
                worker = threading.Thread(
                    target=self._work, name=f"odibi-job-worker-{index}", daemon=True
                )
                self._workers.append(worker)
            self._running_workers = len(self._workers)
        for worker in self._workers:
            worker.start()
        logger.debug("started %d job workers", self.num_workers)
        return self

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs. ``wait=True`` runs the queued jobs, then joins the workers;
        ``wait=False`` cancels the queued jobs and returns at once. Idempotent. Queued jobs of
        an executor that was never started are cancelled either way (no worker would run them)."""
        with self._lock:
            first = not self._shut_down
            self._shut_down = True
            started = bool(self._workers)
            queued = list(self._calls)
        if first:
            if not wait or not started:
                for job_id in queued:
                    self._cancel(job_id, reason="shutdown")
            for _ in self._workers:
                self._queue.put(_STOP)
            if not started:
                self._finalizer()
        if wait:
            for worker in self._workers:
                if worker is not threading.current_thread():
                    worker.join()

    def __enter__(self) -> BackgroundJobExecutor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)

    # -- jobs ------------------------------------------------------------------------------------
    def submit_job(
        self,
        func: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        workflow_id: str | None = None,
    ) -> str:
        """Queue ``func(*args, **kwargs)``; returns the new job's id (a uuid4 hex string)."""
        if not callable(func):
            raise ConfigError("submit_job", f"func must be callable, got {type(func).__name__} {func!r}")
        if isinstance(args, str | bytes) or not isinstance(args, Sequence):
            raise ConfigError("submit_job", f"args must be a tuple or list, got {type(args).__name__} {args!r}")
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise ConfigError("submit_job", f"kwargs must be a dict or None, got {type(kwargs).__name__}")
        if workflow_id is not None and not isinstance(workflow_id, str):
            raise ConfigError("submit_job", f"workflow_id must be a str or None, got {workflow_id!r}")
        job_id = uuid.uuid4().hex
        record = JobRecord(
            job_id=job_id,
            name=_callable_name(func),
            status=JobStatus.QUEUED,
            submitted_at=self._clock(),
            owner=self._owner,
            workflow_id=workflow_id,
        )
        with self._lock:
            if self._shut_down:
                raise JobError(f"{self!r} is shut down and takes no new jobs; create a new executor")
            self.store.add(record)
            self._calls[job_id] = (func, tuple(args), dict(kwargs or {}))
            self._owned.add(job_id)
            self._queue.put(job_id)
        logger.debug("queued job %s (%s)", job_id, record.label)
        return job_id

    def get_job_status(self, job_id: str) -> dict[str, Any]:
        """The job's status dict: ``job_id, workflow_id, name, status, submitted_at, started_at,
        finished_at, result, result_restorable, error`` (JSON-able; see :class:`JobRecord`)."""
        return self._record(job_id).to_dict()

    def list_jobs(self, workflow_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        """Status dicts of the store's jobs (of ``workflow_id`` and in ``status`` when given),
        oldest first; includes jobs of earlier processes sharing the store."""
        statuses = None
        if status is not None:
            try:
                statuses = {JobStatus(status)}
            except ValueError:
                allowed = ", ".join(s.value for s in JobStatus)
                raise ConfigError("list_jobs", f"status must be one of {allowed}; got {status!r}") from None
        return [record.to_dict() for record in self.store.list(workflow_id, statuses)]

    def cancel_job(self, job_id: str) -> bool:
        """Cancel a queued job: True when it was queued and now never runs; False (with the
        reason logged) when it is running or already finished. JobNotFoundError for unknown ids."""
        self._record(job_id)  # unknown ids raise
        return self._cancel(job_id, reason="cancel_job")

    def wait_for_job(self, job_id: str, timeout: float | None = None) -> Any:
        """Block until the job finishes and return its function's return value.

        Raises JobFailedError (from the original error when the job ran in this process),
        JobCancelledError, JobTimeoutError (a TimeoutError) after ``timeout`` seconds (None waits
        forever), JobNotFoundError, and JobResultUnavailableError for a non-JSON-able result of
        a job that ran in an earlier process (this process returns the value itself)."""
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._lock:
            while True:
                record = self._record(job_id)
                if record.done:
                    outcome = self._outcomes.get(job_id)
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise JobTimeoutError(job_id, record.label, timeout or 0.0, record.status.value)
                if job_id not in self._owned:  # another process runs it: poll the store
                    remaining = self._poll_interval if remaining is None else min(remaining, self._poll_interval)
                self._changed.wait(remaining)
        return self._result(record, outcome)

    # -- restart ---------------------------------------------------------------------------------
    def fail_orphaned_jobs(self) -> list[str]:
        """Mark failed every queued or running job whose owner has stopped (found on restart);
        returns their ids. Runs when the executor opens its store."""
        failed: list[str] = []
        for record in self.store.list(statuses=ACTIVE_STATES):
            if record.owner == self._owner or not owner_is_gone(record.owner):
                continue
            error = {"type": "JobOrphaned", "message": ORPHANED_MESSAGE, "traceback": ""}
            if self.store.transition(record.job_id, ACTIVE_STATES, status=JobStatus.FAILED,
                                     finished_at=self._clock(), error=error) is not None:
                failed.append(record.job_id)
        if failed:
            logger.warning("%d job(s) were queued or running in a process that stopped; marked failed: %s",
                           len(failed), ", ".join(failed))
        return failed

    # -- internals -------------------------------------------------------------------------------
    def _record(self, job_id: str) -> JobRecord:
        record = self.store.get(job_id)
        if record is None:
            raise JobNotFoundError(job_id, repr(self.store))
        return record

    def _cancel(self, job_id: str, *, reason: str) -> bool:
        with self._lock:
            record = self.store.transition(job_id, _QUEUED, status=JobStatus.CANCELLED,
                                           finished_at=self._clock())
            if record is not None:
                self._calls.pop(job_id, None)
                self._changed.notify_all()
        if record is None:
            current = self._record(job_id)
            logger.info("job %s (%s) not cancelled: it is %s; only queued jobs can be cancelled",
                        job_id, current.label, current.status.value)
            return False
        logger.info("cancelled job %s (%s) by %s", job_id, record.label, reason)
        return True

    def _work(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                try:
                    self._run(str(item))
                except Exception:  # a store failure must not kill the worker; the job stays visible
                    logger.exception("could not record the outcome of job %s in %r", item, self.store)
        finally:
            with self._lock:
                self._running_workers -= 1
                last = self._running_workers == 0
            if last and self._shut_down:
                self._finalizer()

    def _run(self, job_id: str) -> None:
        with self._lock:
            call = self._calls.pop(job_id, None)
            if call is None:  # cancelled while queued
                return
            record = self.store.transition(job_id, _QUEUED, status=JobStatus.RUNNING,
                                           started_at=self._clock())
            self._changed.notify_all()
        if record is None:
            return
        func, args, kwargs = call
        logger.debug("running job %s (%s)", job_id, record.label)
        try:
            value = func(*args, **kwargs)
        except BaseException as exc:  # a job's failure is its outcome, whatever it raised
            changes: dict[str, Any] = {"status": JobStatus.FAILED, "error": encode_error(exc)}
            outcome: tuple[bool, Any] = (False, exc)
            logger.info("job %s (%s) failed: %s: %s", job_id, record.label, type(exc).__name__, exc)
        else:
            result, restorable = encode_result(value)
            changes = {"status": JobStatus.SUCCEEDED, "result": result, "result_restorable": restorable}
            outcome = (True, value)
        with self._lock:
            self._outcomes[job_id] = outcome
            self.store.transition(job_id, _RUNNING, finished_at=self._clock(), **changes)
            self._changed.notify_all()

    def _result(self, record: JobRecord, outcome: tuple[bool, Any] | None) -> Any:
        if record.status is JobStatus.CANCELLED:
            raise JobCancelledError(record.job_id, record.label)
        if record.status is JobStatus.FAILED:
            error = record.error or {}
            failure = JobFailedError(record.job_id, record.label, error.get("type", "?"),
                                     error.get("message", ""), error.get("traceback", ""))
            cause = outcome[1] if outcome is not None and not outcome[0] else None
            raise failure from cause
        if outcome is not None and outcome[0]:
            return outcome[1]
        if not record.result_restorable:
            raise JobResultUnavailableError(record.job_id, record.label, str(record.result))
        return record.result
