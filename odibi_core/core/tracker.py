"""The Tracker: one record per step execution, with bounded snapshots and lineage export.

Every ``start_step`` returns its own :class:`StepExecution`, which the caller hands back
to ``end_step`` or ``fail_step``; there is no shared "current step", so steps running in
parallel threads never overwrite each other's records. Snapshots go through the engine
(``context.snapshot``) with a row bound and ``count=count_rows``, so Spark does not run a
counting job per step unless asked. The lineage JSON keeps the Level 3 field names and
adds OpenLineage-style run events (one START and one terminal event per run).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..atomic import write_json_atomic
from ..engine.base import EngineContext, Snapshot
from .step import Step

__all__ = ["SchemaDiff", "StepExecution", "StepStatus", "Tracker"]

log = logging.getLogger(__name__)

_EMPTY = Snapshot()


class StepStatus(StrEnum):
    """Where one step execution ended up (RUNNING until it ends)."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CACHED = "CACHED"


@dataclass(frozen=True, eq=False)
class SchemaDiff(Mapping[str, tuple[Any, ...]]):
    """Columns added, removed and type-changed between two snapshots.

    ``changed`` holds ``(column, old_dtype, new_dtype)``. Also a read-only mapping, so
    ``diff["added"]`` and ``dict(diff)`` work and it compares equal to a plain dict.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def between(cls, before: Snapshot, after: Snapshot) -> SchemaDiff:
        """The diff from ``before`` to ``after``, columns in schema order."""
        old, new = dict(before.schema), dict(after.schema)
        return cls(
            added=tuple(c for c in new if c not in old),
            removed=tuple(c for c in old if c not in new),
            changed=tuple((c, old[c], t) for c, t in new.items() if c in old and old[c] != t),
        )

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def __getitem__(self, key: str) -> tuple[Any, ...]:
        if key not in ("added", "removed", "changed"):
            raise KeyError(f"{key!r}; SchemaDiff has 'added', 'removed', 'changed'")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(("added", "removed", "changed"))

    def __len__(self) -> int:
        return 3

    def to_dict(self) -> dict[str, list[Any]]:
        """Plain lists for JSON: ``changed`` items become ``[column, old, new]``."""
        return {"added": list(self.added), "removed": list(self.removed),
                "changed": [list(c) for c in self.changed]}


@dataclass
class StepExecution:
    """What happened in one execution of one step.

    ``before_snapshot`` is the single (or first) input's, ``after_snapshot`` the single
    (or first) output's; ``input_snapshots`` / ``output_snapshots`` hold every frame by
    logical name. ``inputs`` / ``outputs`` map logical names to data-map keys.
    ``iteration`` and ``checkpoint_id`` are set by streaming and checkpointed runs.
    """

    step_name: str
    layer: str
    engine: str = ""
    status: StepStatus = StepStatus.RUNNING
    start_time: str | None = None
    end_time: str | None = None
    duration_ms: float | None = None
    before_snapshot: Snapshot = _EMPTY
    after_snapshot: Snapshot | None = None
    schema_diff: SchemaDiff | None = None
    row_delta: int | None = None
    error: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    input_snapshots: dict[str, Snapshot] = field(default_factory=dict)
    output_snapshots: dict[str, Snapshot] = field(default_factory=dict)
    iteration: int | None = None
    checkpoint_id: str | None = None
    started_monotonic: float = field(default=0.0, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The step record of the lineage JSON."""
        return {
            "step_name": self.step_name,
            "layer": self.layer,
            "engine": self.engine,
            "status": str(self.status),
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration_ms": self.duration_ms,
            "before_snapshot": self.before_snapshot.to_dict(),
            "after_snapshot": None if self.after_snapshot is None else self.after_snapshot.to_dict(),
            "schema_diff": None if self.schema_diff is None else self.schema_diff.to_dict(),
            "row_delta": self.row_delta,
            "inputs": dict(self.inputs),
            "outputs": dict(self.outputs),
            "input_snapshots": {k: s.to_dict() for k, s in self.input_snapshots.items()},
            "output_snapshots": {k: s.to_dict() for k, s in self.output_snapshots.items()},
            "error": self.error,
            "iteration": self.iteration,
            "checkpoint_id": self.checkpoint_id,
        }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Tracker:
    """Records every step execution of a pipeline run and exports its lineage.

    Args:
        pipeline_name: name used in the lineage until ``start_pipeline`` gives another.
        sample_rows: rows kept in each snapshot's sample.
        count_rows: passed to ``context.snapshot(count=...)``; None lets the engine count
            only when counting is cheap (pandas yes, Spark no).
        clock: monotonic clock in seconds, for durations.
        wall_clock: returns an aware UTC datetime, for the ISO-8601 timestamps.
    """

    def __init__(
        self,
        *,
        pipeline_name: str = "pipeline",
        sample_rows: int = 5,
        count_rows: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if sample_rows < 0:
            raise ValueError(f"sample_rows must be >= 0, got {sample_rows}")
        self.pipeline_name = pipeline_name
        self.sample_rows = sample_rows
        self.count_rows = count_rows
        self.clock = clock
        self.wall_clock = wall_clock
        self.execution_id = str(uuid.uuid4())
        self.status: str | None = None
        self.start_time: str | None = None
        self.end_time: str | None = None
        self.total_duration_ms: float | None = None
        self._started: float | None = None
        self._executions: list[StepExecution] = []
        # engine context of each running execution, so end_step needs no context argument
        self._contexts: dict[int, EngineContext] = {}
        self._lock = threading.Lock()

    def _now(self) -> str:
        return self.wall_clock().isoformat()

    # -- the run -----------------------------------------------------------------------
    def start_pipeline(self, name: str | None = None) -> None:
        """Begin a new run: fresh execution id, no step records."""
        with self._lock:
            if name is not None:
                self.pipeline_name = name
            self.execution_id = str(uuid.uuid4())
            self._executions = []
            self._contexts = {}
            self._begin()
        log.debug("pipeline %s started (run %s)", self.pipeline_name, self.execution_id)

    def _begin(self) -> None:
        # caller holds the lock
        self.status = str(StepStatus.RUNNING)
        self.start_time, self._started = self._now(), self.clock()
        self.end_time = self.total_duration_ms = None

    def _ensure_started(self) -> None:
        """A run without ``start_pipeline`` starts with its first step (records kept)."""
        with self._lock:
            if self._started is None:
                self._begin()

    def end_pipeline(self, success: bool) -> None:
        """End the run; its duration is measured from ``start_pipeline`` (or the first step)."""
        self._ensure_started()
        with self._lock:
            started = self._started if self._started is not None else 0.0
            self.status = str(StepStatus.SUCCESS if success else StepStatus.FAILED)
            self.end_time = self._now()
            self.total_duration_ms = (self.clock() - started) * 1000
        log.debug("pipeline %s ended: %s in %.1f ms", self.pipeline_name, self.status,
                  self.total_duration_ms)

    # -- one step ----------------------------------------------------------------------
    def _snapshots(self, context: EngineContext, frames: Mapping[str, Any]) -> dict[str, Snapshot]:
        snaps = {}
        for name, frame in frames.items():
            snap = context.snapshot(frame, sample_rows=self.sample_rows, count=self.count_rows)
            if len(snap.sample) > self.sample_rows:
                snap = replace(snap, sample=tuple(snap.sample[: self.sample_rows]))
            snaps[name] = snap
        return snaps

    def start_step(
        self,
        step: Step,
        context: EngineContext,
        inputs: Mapping[str, Any],
        *,
        iteration: int | None = None,
        checkpoint_id: str | None = None,
    ) -> StepExecution:
        """Record that ``step`` starts, with a snapshot of each input frame.

        Args:
            inputs: logical name -> frame, in ``step.inputs`` order; the first one is the
                ``before_snapshot`` (empty when there is none).
        """
        self._ensure_started()
        snaps = self._snapshots(context, inputs)
        execution = StepExecution(
            step_name=step.name,
            layer=step.kind[0],
            engine=getattr(context, "name", "") or step.engine,
            start_time=self._now(),
            before_snapshot=next(iter(snaps.values()), _EMPTY),
            inputs=dict(step.inputs),
            outputs=dict(step.outputs),
            input_snapshots=snaps,
            iteration=iteration,
            checkpoint_id=checkpoint_id,
            started_monotonic=self.clock(),
        )
        with self._lock:
            self._executions.append(execution)
            self._contexts[id(execution)] = context
        return execution

    def end_step(
        self,
        execution: StepExecution,
        outputs: Mapping[str, Any],
        *,
        status: StepStatus | str = StepStatus.SUCCESS,
        context: EngineContext | None = None,
    ) -> StepExecution:
        """Record the outputs of a finished step: after snapshot, schema diff, row delta.

        ``status`` is SUCCESS, or CACHED for outputs restored from the cache. ``context``
        defaults to the one given to ``start_step``.
        """
        final = StepStatus(status)
        if final in (StepStatus.RUNNING, StepStatus.FAILED):
            raise ValueError(f"end_step status must be SUCCESS or CACHED, got {final}; "
                             f"use fail_step for failures")
        # the step's time ends before the after snapshot, as it began after the before one
        ended, end_time = self.clock(), self._now()
        ctx = context if context is not None else self._context_of(execution)
        snaps = self._snapshots(ctx, outputs)
        before = execution.before_snapshot
        # a sink (store, publish) outputs nothing: what it leaves behind is the input it wrote,
        # so its data is unchanged rather than "every column removed"
        after = next(iter(snaps.values()), before if execution.input_snapshots else _EMPTY)
        delta = (None if after.row_count is None or before.row_count is None
                 else after.row_count - before.row_count)
        with self._lock:
            execution.after_snapshot = after
            execution.output_snapshots = snaps
            execution.schema_diff = SchemaDiff.between(before, after)
            execution.row_delta = delta
            execution.status = final
            execution.end_time = end_time
            self._contexts.pop(id(execution), None)
            execution.duration_ms = (ended - execution.started_monotonic) * 1000
        return execution

    def fail_step(self, execution: StepExecution, error: BaseException | str) -> StepExecution:
        """Record that a step failed: status FAILED, the error message and the duration."""
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        ended, end_time = self.clock(), self._now()
        with self._lock:
            execution.status = StepStatus.FAILED
            execution.error = message
            self._contexts.pop(id(execution), None)
            execution.end_time = end_time
            execution.duration_ms = (ended - execution.started_monotonic) * 1000
        return execution

    def record_cached(self, step: Step, context: EngineContext,
                      outputs: Mapping[str, Any]) -> StepExecution:
        """Record a cache hit: no input snapshot, the restored outputs, status CACHED."""
        execution = self.start_step(step, context, {})
        return self.end_step(execution, outputs, status=StepStatus.CACHED, context=context)

    def _context_of(self, execution: StepExecution) -> EngineContext:
        with self._lock:
            ctx = self._contexts.get(id(execution))
        if ctx is None:
            raise ValueError(f"step {execution.step_name!r} was not started by this tracker; "
                             f"pass context= to end_step")
        return ctx

    # -- reading -----------------------------------------------------------------------
    @property
    def step_executions(self) -> list[StepExecution]:
        """Every step execution of the run, in start order (a copy)."""
        with self._lock:
            return list(self._executions)

    def get_execution(self, step_name: str) -> StepExecution | None:
        """The latest execution of ``step_name``, or None when it has not run."""
        with self._lock:
            return next((e for e in reversed(self._executions) if e.step_name == step_name), None)

    def summary(self) -> dict[str, Any]:
        """Step counts by status and durations (run wall time and the sum over steps)."""
        executions = self.step_executions
        counts: dict[str, int] = {}
        for e in executions:
            counts[str(e.status)] = counts.get(str(e.status), 0) + 1
        return {
            "pipeline_name": self.pipeline_name,
            "execution_id": self.execution_id,
            "status": self.status,
            "total_steps": len(executions),
            "status_counts": counts,
            "total_duration_ms": self.total_duration_ms,
            "steps_duration_ms": sum(e.duration_ms or 0.0 for e in executions),
        }

    def to_lineage(self) -> dict[str, Any]:
        """The run as plain data: Level 3 lineage fields plus OpenLineage-style run events."""
        with self._lock:
            steps = [e.to_dict() for e in self._executions]
            events = [{"eventType": "START", "eventTime": self.start_time}] if self.start_time else []
            if self.end_time is not None:
                events.append({"eventType": "COMPLETE" if self.status == StepStatus.SUCCESS
                               else "FAIL", "eventTime": self.end_time})
            for event in events:
                event["run"] = {"runId": self.execution_id}
                event["job"] = {"namespace": "odibi_core", "name": self.pipeline_name}
            return {
                "pipeline_name": self.pipeline_name,
                "execution_id": self.execution_id,
                "status": self.status,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "total_duration_ms": self.total_duration_ms,
                "steps": steps,
                "run_events": events,
            }

    def export_lineage(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_lineage` as JSON, atomically (temp file, fsync, ``os.replace``)."""
        target = write_json_atomic(path, self.to_lineage())
        log.info("lineage of %s written to %s", self.pipeline_name, target)
        return target
