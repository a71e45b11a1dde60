"""The Tracker: one record per step execution, with bounded snapshots and lineage export.

Every ``start_step`` returns its own :class:`StepExecution`, which the caller hands back
to ``end_step`` or ``fail_step``; there is no shared "current step", so steps running in
parallel threads never overwrite each other's records. Snapshots go through the engine
(``context.snapshot``) with a row bound and ``count=count_rows``, so Spark does not run a
counting job per step unless asked.

The lineage JSON keeps the Level 3 field names and adds OpenLineage-style run events:
exactly one START and, once the run has ended, exactly one COMPLETE or FAIL event, built
from the run's state whenever the lineage is read (a new ``start_pipeline`` replaces them).
The terminal event's ``inputs`` are what the run read from outside (ingest sources, and
data-map keys no recorded step wrote), its ``outputs`` what store and publish steps wrote
successfully, each with the schema of the frame read or written when one was seen. Its run
facets hold ``odibi_steps`` (one entry per step execution) and, for FAIL, ``errorMessage``.

Over 400 lines: the tracker, its records and schema diffs are one model read together by stories and lineage; to split next (records into their own module).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ...atomic import write_json_atomic
from ...clock import utc_now
from ...engine.base import EngineContext, Snapshot
from ..config.step import Step
from .lineage import _READERS, _WRITERS, LineageDataset, lifecycle_records, run_events

__all__ = ["LineageDataset", "SchemaDiff", "StepExecution", "StepStatus", "Tracker",
           "lifecycle_records"]

log = logging.getLogger("odibi_core.core.tracker")  # the logger keeps its name from before the move

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
    ``attempt`` counts from 1; every attempt of a retried step is its own record.
    ``source`` / ``target`` say where an ingest step reads and a store or publish step writes.
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
    attempt: int = 1
    source: LineageDataset | None = None
    target: LineageDataset | None = None
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
            "attempt": self.attempt,
            "source": None if self.source is None else self.source.to_dict(),
            "target": None if self.target is None else self.target.to_dict(),
        }


def _utc_now() -> datetime:
    return utc_now()


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
        # data-map key -> location of the connect steps run so far (to name their datasets)
        self._connections: dict[str, str] = {}
        self._lifecycle: dict[str, dict[str, Any]] = {}
        self._plan: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _now(self) -> str:
        return self.wall_clock().isoformat()

    # -- the run -----------------------------------------------------------------------
    def start_pipeline(self, name: str | None = None) -> None:
        """Begin a new run: fresh execution id, no step records, no lifecycle, new run events."""
        with self._lock:
            if name is not None:
                self.pipeline_name = name
            self.execution_id = str(uuid.uuid4())
            self._executions = []
            self._contexts = {}
            self._connections = {}
            self._lifecycle = {}
            self._plan = {}
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

    def record_lifecycle(self, node_results: Mapping[str, Any]) -> None:
        """Keep the executor's per-node outcome and state transitions for the lineage and story.

        Call it after execution and before :meth:`end_pipeline` with ``DAGExecutor.results``
        (objects with ``state``, ``attempts``, ``cached``, ``duration_ms``, ``error``,
        ``reason`` and ``transitions`` as (state, monotonic seconds) pairs). A later call
        replaces the earlier one; ``start_pipeline`` clears it.
        """
        records = lifecycle_records(node_results)
        with self._lock:
            self._lifecycle = records

    def record_plan(self, steps: Iterable[Step]) -> None:
        """Keep the wiring of every planned step (layer, inputs, outputs), so lineage and stories
        show steps that never ran (skipped after a failure) in their place in the DAG."""
        plan = {step.name: {"layer": step.kind[0], "inputs": dict(step.inputs),
                            "outputs": dict(step.outputs)} for step in steps}
        with self._lock:
            self._plan = plan

    @property
    def plan(self) -> dict[str, dict[str, Any]]:
        """Step name -> {layer, inputs, outputs} as given to :meth:`record_plan` (or empty)."""
        with self._lock:
            return copy.deepcopy(self._plan)

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
        attempt: int = 1,
    ) -> StepExecution:
        """Record that ``step`` starts, with a snapshot of each input frame.

        Args:
            inputs: logical name -> frame, in ``step.inputs`` order; the first one is the
                ``before_snapshot`` (empty when there is none).
            attempt: which attempt of the step this is (1 for the first); each attempt of a
                retried step gets its own record.
        """
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt} for step {step.name!r}")
        self._ensure_started()
        snaps = self._snapshots(context, inputs)
        with self._lock:
            dataset = LineageDataset.for_step(step, self._connections)
            if step.kind == ("connect", "config_op"):
                self._connections.update({key: str(step.value) for key in step.outputs.values()})
        layer = step.kind[0]
        execution = StepExecution(
            step_name=step.name,
            layer=layer,
            engine=getattr(context, "name", "") or step.engine,
            start_time=self._now(),
            before_snapshot=next(iter(snaps.values()), _EMPTY),
            inputs=dict(step.inputs),
            outputs=dict(step.outputs),
            input_snapshots=snaps,
            iteration=iteration,
            checkpoint_id=checkpoint_id,
            attempt=attempt,
            source=dataset if layer in _READERS else None,
            target=dataset if layer in _WRITERS else None,
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
        snapshots: Mapping[str, Snapshot] | None = None,
    ) -> StepExecution:
        """Record the outputs of a finished step: after snapshot, schema diff, row delta.

        ``status`` is SUCCESS, or CACHED for outputs restored from the cache. ``context``
        defaults to the one given to ``start_step``. ``snapshots`` (logical name -> Snapshot)
        stand in for outputs that are not at hand, e.g. cached frames not loaded yet.
        """
        final = StepStatus(status)
        if final in (StepStatus.RUNNING, StepStatus.FAILED):
            raise ValueError(f"end_step status must be SUCCESS or CACHED, got {final}; "
                             f"use fail_step for failures")
        # the step's time ends before the after snapshot, as it began after the before one
        ended, end_time = self.clock(), self._now()
        ctx = context if context is not None else self._context_of(execution)
        snaps = self._snapshots(ctx, outputs)
        for name, snap in (snapshots or {}).items():
            snaps.setdefault(name, replace(snap, sample=tuple(snap.sample[: self.sample_rows])))
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

    def record_cached(self, step: Step, context: EngineContext, outputs: Mapping[str, Any], *,
                      snapshots: Mapping[str, Snapshot] | None = None,
                      iteration: int | None = None,
                      checkpoint_id: str | None = None) -> StepExecution:
        """Record a cache hit: no input snapshot, the restored outputs (or the ``snapshots``
        kept with them in the cache), status CACHED."""
        execution = self.start_step(step, context, {}, iteration=iteration,
                                    checkpoint_id=checkpoint_id)
        return self.end_step(execution, outputs, status=StepStatus.CACHED, context=context,
                             snapshots=snapshots)

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

    @property
    def lifecycle(self) -> dict[str, dict[str, Any]]:
        """Per node: final state, attempts, cache hit, error, reason and timed transitions, as
        given to :meth:`record_lifecycle` (empty when it was not called)."""
        with self._lock:
            return copy.deepcopy(self._lifecycle)

    @property
    def run_events(self) -> list[dict[str, Any]]:
        """The run's OpenLineage-style events: START, then COMPLETE or FAIL once it ended."""
        with self._lock:
            return self._run_events()

    def _run_events(self) -> list[dict[str, Any]]:
        # caller holds the lock
        return run_events(run_id=self.execution_id, job_name=self.pipeline_name, status=self.status,
                          start_time=self.start_time, end_time=self.end_time,
                          executions=self._executions, lifecycle=self._lifecycle,
                          connections=self._connections)


    def to_lineage(self) -> dict[str, Any]:
        """The run as plain data: Level 3 lineage fields, the node lifecycle (``nodes``, empty
        unless :meth:`record_lifecycle` was called) and the OpenLineage-style run events."""
        with self._lock:
            steps = [e.to_dict() for e in self._executions]
            events = self._run_events()
            return {
                "pipeline_name": self.pipeline_name,
                "execution_id": self.execution_id,
                "status": self.status,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "total_duration_ms": self.total_duration_ms,
                "steps": steps,
                "nodes": copy.deepcopy(self._lifecycle),
                "plan": copy.deepcopy(self._plan),
                "run_events": events,
            }

    def export_lineage(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_lineage` as JSON, atomically (temp file, fsync, ``os.replace``)."""
        target = write_json_atomic(path, self.to_lineage())
        log.info("lineage of %s written to %s", self.pipeline_name, target)
        return target
