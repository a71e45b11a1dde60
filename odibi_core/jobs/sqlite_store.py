"""The persistent job store: one SQLite file, safe for several threads and processes.

WAL mode lets readers run while one writer writes; every write is one ``BEGIN IMMEDIATE``
transaction, so writers from different processes queue (up to ``timeout`` seconds) instead of
failing, and :meth:`SQLiteJobStore.transition` is a true compare-and-set across processes.
Timestamps are stored as fixed-width ISO 8601 UTC text (sortable, readable in ``sqlite3``);
results and errors as JSON text.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..sqlite import connect, immediate
from .errors import JobError, JobNotFoundError
from .model import JobRecord, JobStatus
from .store import JobStore, check_changes, default_jobs_path

__all__ = ["SQLiteJobStore"]

SCHEMA_VERSION = 1

_STATES = ", ".join(f"'{status.value}'" for status in JobStatus)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    job_id            TEXT PRIMARY KEY,
    workflow_id       TEXT,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ({_STATES})),
    owner             TEXT NOT NULL,
    submitted_at      TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    result_json       TEXT,
    result_restorable INTEGER NOT NULL DEFAULT 1 CHECK (result_restorable IN (0, 1)),
    error_json        TEXT
);
CREATE INDEX IF NOT EXISTS jobs_workflow ON jobs (workflow_id, submitted_at);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
"""

_COLUMNS = (
    "job_id, workflow_id, name, status, owner, submitted_at, started_at, finished_at, "
    "result_json, result_restorable, error_json"
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def _time_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _time_value(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _row_values(record: JobRecord) -> tuple[Any, ...]:
    return (
        record.job_id,
        record.workflow_id,
        record.name,
        record.status.value,
        record.owner,
        _time_text(record.submitted_at),
        _time_text(record.started_at),
        _time_text(record.finished_at),
        _json_text(record.result),
        int(record.result_restorable),
        _json_text(record.error),
    )


def _record(row: tuple[Any, ...]) -> JobRecord:
    job_id, workflow_id, name, status, owner, submitted, started, finished, result, restorable, error = row
    return JobRecord(
        job_id=job_id,
        workflow_id=workflow_id,
        name=name,
        status=JobStatus(status),
        owner=owner,
        submitted_at=_time_value(submitted),  # type: ignore[arg-type]  # NOT NULL column
        started_at=_time_value(started),
        finished_at=_time_value(finished),
        result=None if result is None else json.loads(result),
        result_restorable=bool(restorable),
        error=None if error is None else json.loads(error),
    )


class SQLiteJobStore(JobStore):
    """Job records in a SQLite file (WAL).

    Args:
        path: database file; defaults to :func:`~odibi_core.jobs.store.default_jobs_path`
            (``jobs.sqlite3`` in ``$ODIBI_HOME`` or ``~/.odibi``). Its folder is created.
        timeout: seconds a writer waits for another process's write lock.
    """

    def __init__(self, path: str | Path | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_jobs_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JobError(f"cannot create the folder for job store {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        try:
            self._conn = connect(self.path, timeout=timeout)
            # CREATE ... IF NOT EXISTS is idempotent, so concurrent openers need no transaction
            self._conn.executescript(_SCHEMA)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise JobError(f"cannot open job store {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteJobStore({str(self.path)!r})"

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE so writers queue, never deadlock."""
        with self._lock:
            try:
                with immediate(self._conn) as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise JobError(f"cannot write job store {self.path}: {exc}") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise JobError(f"cannot read job store {self.path}: {exc}") from exc

    def add(self, record: JobRecord) -> None:
        with self._write() as conn:
            try:
                conn.execute(f"INSERT INTO jobs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                             _row_values(record))
            except sqlite3.IntegrityError as exc:
                raise JobError(f"a job with id {record.job_id!r} exists already in {self!r}") from exc

    def get(self, job_id: str) -> JobRecord | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
        return _record(rows[0]) if rows else None

    def transition(
        self, job_id: str, expected: Collection[JobStatus], **changes: Any
    ) -> JobRecord | None:
        check_changes(changes)
        with self._write() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchall()
            if not rows:
                raise JobNotFoundError(job_id, repr(self))
            current = _record(rows[0])
            if current.status not in expected:
                return None
            values = _row_values(dataclasses.replace(current, **changes))
            merged = dict(zip(_COLUMNS.split(", "), values, strict=True))
            assignments = ", ".join(f"{column} = :{column}" for column in merged if column != "job_id")
            conn.execute(f"UPDATE jobs SET {assignments} WHERE job_id = :job_id", merged)
        return _record(values)  # through the row, so the caller gets the stored (JSON) values

    def list(
        self, workflow_id: str | None = None, statuses: Collection[JobStatus] | None = None
    ) -> list[JobRecord]:
        where: list[str] = []
        params: list[Any] = []
        if workflow_id is not None:
            where.append("workflow_id = ?")
            params.append(workflow_id)
        if statuses is not None:
            wanted = sorted(JobStatus(status).value for status in statuses)
            if not wanted:
                return []
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(f"SELECT {_COLUMNS} FROM jobs{clause} ORDER BY submitted_at, job_id",
                          tuple(params))
        return [_record(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

