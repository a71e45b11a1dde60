"""Continuous execution: one DAG run per micro-batch, exactly once across crashes.

The protocol of one batch (after Spark Structured Streaming's offsets and commits logs):

1. poll each source for new data (nothing is persisted yet);
2. write the batch's source positions to the offsets log (``offsets/<batch_id>.json``);
3. run the DAG on the batch;
4. write the outputs to the sink, keyed by batch id (a rewrite replaces, never appends);
5. write the commits log (``commits/<batch_id>.json``);
6. commit each source (its seen files or watermark move on, durably);
7. save a checkpoint for the iteration (``mode="stream"``, with the batch id and positions).

A crash anywhere leaves the logs saying what to do on restart: no offsets entry -> the batch
never started; offsets without commit -> replay it with the same id from the logged
positions (the sink overwrites its part); commit present -> roll the sources forward to its end.
So no batch is lost and none is written twice. The sink must be idempotent by batch id (see
:mod:`odibi_core.streaming.sinks`); store steps *inside* the DAG run once per attempt, so they
are at-least-once unless they are idempotent too.

A failed batch (a step raised) is logged, not committed, and replayed with the same id after
the run's retry policy delay, up to ``max_batch_failures`` times; then the run stops with a
StreamError naming the batch. The loop polls on a fixed cadence (``sleep_seconds``) from
when it started, sleeping until the next poll time only when there was nothing to do or the
batch took less than the interval: no busy loop and no drift.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import OdibiError
from ...streaming.batch_log import BatchLog, LoggedBatch
from ...streaming.sinks import Sink
from .results import ExecutionMode
from .retry import RetryPolicy

__all__ = ["ContinuousResult", "ContinuousRunner", "IterationResult", "StreamRunError"]

log = logging.getLogger("odibi_core.core.continuous")  # the logger keeps its name from before the move


class StreamRunError(OdibiError):
    """A continuous run gave up on a batch."""


@dataclass
class IterationResult:
    """One turn of the loop. ``status`` is committed, idle (no new data) or failed."""

    iteration: int
    status: str
    batch_id: int | None = None
    rows: dict[str, int | None] = field(default_factory=dict)
    replayed: bool = False
    checkpoint_id: str | None = None
    error: str | None = None


@dataclass
class ContinuousResult:
    """Every iteration of a continuous run, in order."""

    iterations: list[IterationResult] = field(default_factory=list)

    @property
    def committed(self) -> list[IterationResult]:
        return [i for i in self.iterations if i.status == "committed"]

    @property
    def batches_committed(self) -> int:
        return len(self.committed)

    @property
    def rows_committed(self) -> int:
        return sum(n or 0 for i in self.committed for n in i.rows.values())

    @property
    def failures(self) -> list[IterationResult]:
        return [i for i in self.iterations if i.status == "failed"]


class ContinuousRunner:
    """Drives ``executor`` over the micro-batches of ``stream_manager``.

    Args:
        executor: the DAGExecutor (its mode is set to STREAM).
        stream_manager: a StreamManager whose sources feed the DAG.
        sources: which sources to poll (default: all, in name order).
        inputs: source name -> data-map key the DAG reads the batch from (default: the name).
        sink: where each batch's outputs go, keyed by batch id (optional).
        sink_outputs: sink output name -> data-map key (default: the outputs of the steps no
            other step reads).
        log_dir: the offsets and commits logs (default
            ``<stream checkpoint_dir>/runs/<dag_name>``).
        max_batch_failures: how many times one batch may fail before the run stops.
        retry_policy: the delay before replaying a failed batch (default 1 s, doubling).
        keep_checkpoints: iteration checkpoints kept per DAG (older ones are deleted).
        timeout: stop after this many seconds (checked between iterations).
        clock / sleep: injectable for tests.
    """

    def __init__(
        self,
        executor: Any,
        stream_manager: Any,
        *,
        sources: Sequence[str] | None = None,
        inputs: Mapping[str, str] | None = None,
        sink: Sink | None = None,
        sink_outputs: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        max_batch_failures: int = 3,
        retry_policy: RetryPolicy | None = None,
        keep_checkpoints: int = 10,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.executor = executor
        executor.mode = ExecutionMode.STREAM
        self.stream = stream_manager
        known = sorted(stream_manager.sources)
        self.sources = list(sources) if sources is not None else known
        unknown = [s for s in self.sources if s not in stream_manager.sources]
        if unknown or not self.sources:
            raise StreamRunError(f"unknown stream sources {unknown}; known: {known}" if unknown
                                 else "run_continuous needs at least one stream source")
        self.inputs = {name: (inputs or {}).get(name, name) for name in self.sources}
        self.sink = sink
        self.sink_outputs = dict(sink_outputs) if sink_outputs is not None else self._final_outputs()
        root = Path(log_dir) if log_dir is not None else (
            Path(stream_manager.checkpoint_dir) / "runs" / executor.dag_name)
        self.log = BatchLog(root)
        if max_batch_failures < 1:
            raise ValueError(f"max_batch_failures must be >= 1, got {max_batch_failures}")
        self.max_batch_failures = max_batch_failures
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_batch_failures - 1,
                                                        retry_delay=1.0)
        self.keep_checkpoints = keep_checkpoints
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self._external = dict(executor.settings.data_map or {})

    def _final_outputs(self) -> dict[str, str]:
        read = {key for node in self.executor.dag.values() for key in node.step.inputs.values()}
        return {key: key for node in self.executor.dag.values()
                for key in node.step.outputs.values() if key not in read}

    # -- restart --------------------------------------------------------------------------
    def recover(self) -> tuple[int, LoggedBatch | None]:
        """Read the logs: (the next batch id, the batch to replay or None)."""
        latest = self.log.latest()
        if latest is None:
            return 0, None
        if latest.committed:
            for name, position in latest.sources.items():
                if name in self.stream.sources:
                    self.stream.commit(name, position["end"])
            return latest.batch_id + 1, None
        log.warning("batch %d was started but not committed; replaying it", latest.batch_id)
        return latest.batch_id, latest

    # -- one batch ----------------------------------------------------------------------
    def _poll(self, replay: LoggedBatch | None) -> dict[str, Any]:
        context = self.executor.context
        batches = {}
        for name in self.sources:
            logged = replay.sources.get(name) if replay is not None else None
            if replay is not None and logged is None:
                continue  # this source had nothing in the batch being replayed
            batch = self.stream.poll(name, context, replay=logged)
            if batch is not None:
                batches[name] = batch
        return batches

    def _process(self, iteration: int, batch_id: int, batches: Mapping[str, Any],
                 replayed: bool) -> IterationResult:
        executor = self.executor
        self.log.write_offsets(batch_id, {
            name: {"start": b.start, "end": b.offsets} for name, b in batches.items()
        }, iteration=iteration)
        manager = executor.checkpoint_manager
        checkpoint = None
        if manager is not None:
            checkpoint = manager.create_checkpoint(
                dag_name=executor.dag_name, completed_nodes=[], pending_nodes=set(executor.dag),
                mode="stream", iteration=iteration)
        executor.iteration = iteration
        executor.checkpoint_id = checkpoint.checkpoint_id if checkpoint is not None else None
        executor.provide({**self._external, **{self.inputs[name]: b.data for name, b in batches.items()}})
        executor.execute()
        if self.sink is not None:
            data = executor.data_map
            missing = sorted(k for k in self.sink_outputs.values() if k not in data)
            if missing:
                raise StreamRunError(f"sink outputs {missing} are not in the data map after batch"
                                     f" {batch_id}; produced: {sorted(data)}")
            frames = {out: data[key] for out, key in self.sink_outputs.items()}
            self.sink.write(batch_id, frames, executor.context)
        rows = {name: b.row_count for name, b in batches.items()}
        self.log.write_commit(batch_id, iteration=iteration, rows=rows)
        for name, batch in batches.items():
            self.stream.commit(name, batch.offsets)
        if checkpoint is not None:
            checkpoint.completed_nodes = executor.node_checkpoints()
            checkpoint.pending_nodes = set()
            checkpoint.metadata = {"batch_id": batch_id, "rows": rows,
                                   "offsets": {n: b.offsets for n, b in batches.items()}}
            manager.save(checkpoint)
            manager.cleanup(executor.dag_name, keep_latest=self.keep_checkpoints)
        executor.events.emit("batch_committed", batch_id=batch_id, iteration=iteration,
                             rows=rows, replayed=replayed)
        return IterationResult(iteration, "committed", batch_id, rows, replayed,
                               executor.checkpoint_id)

    # -- the loop -------------------------------------------------------------------------
    def run(self, *, max_iterations: int | None = None, sleep_seconds: float = 10) -> ContinuousResult:
        """Loop until ``max_iterations`` polls (None: forever) or ``timeout``."""
        if sleep_seconds < 0:
            raise ValueError(f"sleep_seconds must be >= 0, got {sleep_seconds}")
        next_id, replay = self.recover()
        result = ContinuousResult()
        started = due = self.clock()
        failures: dict[int, int] = {}
        iteration = 0
        while max_iterations is None or iteration < max_iterations:
            if self.timeout is not None and self.clock() - started >= self.timeout:
                break
            batch_id = replay.batch_id if replay is not None else next_id
            batches = self._poll(replay)
            wait = 0.0
            if not batches:
                result.iterations.append(IterationResult(iteration, "idle"))
                replay = None
            else:
                try:
                    outcome = self._process(iteration, batch_id, batches, replay is not None)
                except Exception as exc:  # the batch is not committed: replay it
                    failures[batch_id] = failures.get(batch_id, 0) + 1
                    count = failures[batch_id]
                    message = f"{type(exc).__name__}: {exc}"
                    result.iterations.append(IterationResult(
                        iteration, "failed", batch_id, {n: b.row_count for n, b in batches.items()},
                        replay is not None, self.executor.checkpoint_id, message))
                    self.executor.events.emit("batch_error", batch_id=batch_id, iteration=iteration,
                                              error_message=message, failures=count)
                    if count >= self.max_batch_failures:
                        raise StreamRunError(
                            f"batch {batch_id} failed {count} times (last: {message}); the run"
                            f" stops. It is logged but not committed: the next run replays it"
                        ) from exc
                    wait = self.retry_policy.delay(count, self.executor.rng)
                    log.warning("batch %d failed (%s); replaying it in %.3gs (failure %d of %d)",
                                batch_id, message, wait, count, self.max_batch_failures)
                    replay = LoggedBatch(batch_id, {n: {"start": b.start, "end": b.offsets}
                                                    for n, b in batches.items()}, committed=False)
                else:
                    result.iterations.append(outcome)
                    next_id, replay = batch_id + 1, None
            iteration += 1
            if max_iterations is not None and iteration >= max_iterations:
                break
            due += sleep_seconds
            now = self.clock()
            if due < now:  # behind (a long batch): poll now, and keep the cadence from here
                due = now
            wait = max(wait, due - now)
            if wait > 0:
                self.sleep(wait)
        return result
