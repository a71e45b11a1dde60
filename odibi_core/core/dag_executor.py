"""Execution: run a planned DAG with a ready queue, inline or on a thread pool, with retries.

A node is started only when all its parents are done, so no worker ever waits for
another node (the seed's "submit everything and wait on events" deadlocks once every
worker holds a waiting node). Sequential execution is the same loop with one worker,
run inline, in name order among ready nodes. Outputs go into a lock-guarded data map.

A failed attempt with a retryable error (see :class:`~odibi_core.core.retry.RetryPolicy`) goes
into a heap of delayed retries ``(due time, name)`` kept by the scheduling loop, never into a
sleeping worker: the loop runs other ready nodes meanwhile, waits on running nodes only until
the next retry is due, and calls the injected ``sleep`` only when nothing else can happen.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..cache import CacheManager
from ..checkpoint import CheckpointMode
from ..engine.base import EngineContext
from ..errors import PipelineError, StepError
from ..nodes.registry import node_class
from .dag_builder import DAGNode
from .events import EventEmitter
from .node_context import NodeContext
from .resume import ResumePlan, plan_resume, resume_keys
from .retry import RetryPolicy
from .step import ENGINES, LAYER_ALIASES, LAYERS
from .step_cache import EXECUTOR_PARAMS, Deferred, RunDataMap, StepCache, resolve

__all__ = ["DAGExecutor", "ExecutionMode", "NodeExecutionResult", "NodeState"]

log = logging.getLogger(__name__)


class ExecutionMode(StrEnum):
    """How a DAGExecutor is used.

    BATCH runs the DAG once. STREAM runs it once per micro-batch (see :meth:`DAGExecutor.
    run_continuous`), each iteration checkpointed. RESUME runs it once, skipping the nodes the
    latest checkpoint says are complete, unless a node that must run needs their outputs.
    """

    BATCH = "batch"
    STREAM = "stream"
    RESUME = "resume"


class NodeState(StrEnum):
    """Where a node is in its lifecycle. A retried node goes RUNNING -> FAILED -> READY ->
    RUNNING ... and ends in one of CACHED, SUCCESS, RESUMED, FAILED or SKIPPED."""

    PENDING = "PENDING"  # waiting for dependencies
    READY = "READY"  # dependencies done (or a retry scheduled), queued
    RUNNING = "RUNNING"
    CACHED = "CACHED"  # output restored from the cache
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # never ran: an upstream node failed or the run stopped
    RESUMED = "RESUMED"  # complete in the checkpoint resumed from; not run again


@dataclass
class NodeExecutionResult:
    """What happened to one node.

    ``duration_ms`` is the time spent in attempts (retry waits excluded; they are in
    ``retry_delays``, one per retry, in seconds). ``started_at`` / ``finished_at`` are seconds
    from the start of the run to the first attempt's start and to the node's end.
    ``error`` / ``error_type`` describe the last failed attempt (None once a node succeeds).
    ``transitions`` holds (state, clock time) in order.
    """

    node_name: str
    state: NodeState = NodeState.PENDING
    duration_ms: float = 0.0
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    reason: str = ""
    transitions: list[tuple[NodeState, float]] = field(default_factory=list)
    retry_delays: list[float] = field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    error_type: str | None = None

    @property
    def success(self) -> bool:
        return self.state in _DONE

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return max(0, self.attempts - 1)


_DONE = (NodeState.SUCCESS, NodeState.CACHED, NodeState.RESUMED)


@dataclass
class _Attempt:
    """What one attempt of a node tells the scheduling loop."""

    name: str
    error: BaseException | None = None
    hit: bool = False  # the outputs came from the cache (never retried)
    log_line: str = ""
    abort: BaseException | None = None  # a strict hook raised: the run stops with this error


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DAGExecutor:
    """Runs the nodes of a DAG built by ``DAGBuilder``.

    Args:
        dag: name -> DAGNode.
        context: the engine context every node runs on.
        tracker: records snapshots and lineage, one record per attempt (optional).
        events: hooks for node_start / node_retry / node_complete / node_error / node_cached.
        max_workers: 1 runs inline in a stable order; more runs independent nodes at once.
        max_retries: retries after the first attempt (total attempts = max_retries + 1) for
            retryable errors; a step's ``params["max_retries"]`` overrides it for that step.
        retry_delay: nominal seconds before the first retry, doubling after, with equal
            jitter (the wait is drawn in ``[d/2, d]``); a step's ``params["retry_delay"]``
            overrides it.
        retry_policy: the full policy (backoff, cap, jitter, retryable errors); give it instead
            of ``max_retries`` / ``retry_delay``.
        fail_fast: stop starting nodes (and retries) after the first failure; otherwise finish
            every branch that does not depend on a failed node.
        data_map: data-map entries provided from outside (external inputs).
        use_cache: reuse outputs of ingest and transform steps whose inputs, config, source
            files and code are unchanged (content-addressed; store and publish steps always run).
        cache: the CacheManager to use (default: a new one when ``use_cache``).
        clock: monotonic clock in seconds, for durations and retry due times.
        sleep: waits for the next retry when nothing is running (injectable for tests).
        rng: draws retry jitter (a seeded ``random.Random`` makes delays reproducible).
        mode: BATCH, STREAM or RESUME (see :class:`ExecutionMode`).
        checkpoint_manager: where checkpoints go. With one, a BATCH or RESUME run saves
            checkpoints as ``checkpoint_mode`` says, RESUME starts from the latest one, and a
            STREAM run saves one per iteration.
        checkpoint_mode: when a BATCH or RESUME run saves: MANUAL (only when you call
            :meth:`save_checkpoint`), AUTO (after every node that completes), INTERVAL (after a
            node completes, at most every ``checkpoint_interval`` seconds) or LAYER (when every
            node of a DAG level has finished). All but MANUAL also save when the run ends.
        checkpoint_interval: seconds between INTERVAL saves.
        dag_name: the name checkpoints are kept under.

    A node is recorded as complete with its resume key (see :mod:`odibi_core.core.resume`)
    and, when its outputs are in the cache, where they are: only such outputs are *durable*.
    """

    def __init__(
        self,
        dag: Mapping[str, DAGNode],
        context: EngineContext,
        tracker: Any = None,
        events: EventEmitter | None = None,
        *,
        max_workers: int = 4,
        max_retries: int = 2,
        retry_delay: float = 1.0,
        retry_policy: RetryPolicy | None = None,
        fail_fast: bool = True,
        data_map: Mapping[str, Any] | None = None,
        use_cache: bool = False,
        cache: CacheManager | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        rng: random.Random | None = None,
        mode: ExecutionMode | str = ExecutionMode.BATCH,
        checkpoint_manager: Any = None,
        checkpoint_mode: CheckpointMode | str = CheckpointMode.AUTO,
        checkpoint_interval: float = 60.0,
        dag_name: str = "pipeline",
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        if retry_policy is not None and (max_retries, retry_delay) != (2, 1.0):
            raise ValueError("pass either retry_policy or max_retries/retry_delay, not both")
        self.retry_policy = retry_policy or RetryPolicy(max_retries=max_retries, retry_delay=retry_delay)
        self.max_retries = self.retry_policy.max_retries
        self.retry_delay = self.retry_policy.retry_delay
        self.dag = dict(dag)
        self.context = context
        self.tracker = tracker
        self.events = events if events is not None else EventEmitter()
        self.max_workers = max_workers
        self.fail_fast = fail_fast
        self.clock = clock
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()
        self.cache = cache if cache is not None else (CacheManager() if use_cache else None)
        self._step_cache = StepCache(self.cache, context) if self.cache is not None else None
        self._data_map: dict[str, Any] = dict(data_map or {})
        self._lock = threading.Lock()
        self._policies: dict[str, RetryPolicy] = {}
        self._cache_consulted: set[str] = set()
        self._started: float = clock()
        self._started_wall = datetime.now(UTC)
        self._wall_ms = 0.0
        try:
            self.mode = ExecutionMode(mode)
        except ValueError:
            raise ValueError(f"mode must be one of {[m.value for m in ExecutionMode]}, got {mode!r}") from None
        self.checkpoint_manager = checkpoint_manager
        try:
            self.checkpoint_mode = CheckpointMode(checkpoint_mode)
        except ValueError:
            raise ValueError(f"checkpoint_mode must be one of {[m.value for m in CheckpointMode]},"
                             f" got {checkpoint_mode!r}") from None
        if checkpoint_interval <= 0:
            raise ValueError(f"checkpoint_interval must be > 0 seconds, got {checkpoint_interval}")
        self.checkpoint_interval = checkpoint_interval
        self.dag_name = dag_name
        #: what the last RESUME run skipped, restored and re-ran (empty otherwise)
        self.resume_plan = ResumePlan()
        self._resume_keys: dict[str, str] = {}
        self._durable: dict[str, dict[str, str]] = {}  # node -> {output: cache entry key}
        self._saved_levels: set[int] = set()
        self._last_save = 0.0
        #: set by run_continuous: stamped on tracker records and checkpoints
        self.iteration: int | None = None
        self.checkpoint_id: str | None = None
        #: the checkpoint a RESUME run started from, and the one the last run saved
        self.resumed_from: Any = None
        self.last_checkpoint: Any = None
        #: the exception of a strict hook that stopped the last run (None otherwise)
        self.abort_error: BaseException | None = None
        self.results: dict[str, NodeExecutionResult] = {}
        self._reset()

    def _reset(self) -> None:
        """Fresh per-run state: node results and the cache bookkeeping."""
        self.results = {
            name: NodeExecutionResult(name, transitions=[(NodeState.PENDING, self.clock())])
            for name in self.dag
        }
        self._policies.clear()
        self._cache_consulted.clear()

    # -- state -------------------------------------------------------------------------
    def _set(self, name: str, state: NodeState) -> None:
        with self._lock:
            result = self.results[name]
            result.state = state
            result.transitions.append((state, self.clock()))

    @property
    def data_map(self) -> RunDataMap:
        """What the run produced, by data-map key (cached outputs load when first read)."""
        with self._lock:
            return RunDataMap(self._data_map)

    def _names(self, *states: NodeState) -> list[str]:
        return sorted(n for n, r in self.results.items() if r.state in states)

    @property
    def failed_nodes(self) -> list[str]:
        return self._names(NodeState.FAILED)

    @property
    def successful_nodes(self) -> list[str]:
        return self._names(*_DONE)

    @property
    def resumed_nodes(self) -> list[str]:
        """Nodes a RESUME run did not run again: complete in the checkpoint it started from."""
        return self._names(NodeState.RESUMED)

    @property
    def skipped_nodes(self) -> list[str]:
        return self._names(NodeState.SKIPPED)

    # -- one node ---------------------------------------------------------------------
    def _check_runnable(self, node: DAGNode) -> None:
        step = node.step
        layer = LAYER_ALIASES.get(step.layer, step.layer)
        if layer not in LAYERS:
            raise StepError(step.name, f"unknown layer {step.layer!r}; allowed: {list(LAYERS)}"
                            f" (aliases {sorted(LAYER_ALIASES)})")
        if step.engine not in ENGINES:
            raise StepError(step.name, f"unknown engine {step.engine!r}; allowed: {list(ENGINES)}")
        if step.engine != self.context.name:
            raise StepError(step.name, f"step is for the {step.engine!r} engine but this run uses"
                            f" {self.context.name!r}")

    def policy_for(self, node: DAGNode) -> RetryPolicy:
        """The retry policy of one node: the run's, with the step's ``params`` overrides."""
        overrides = {k: node.step.params[k] for k in EXECUTOR_PARAMS if k in node.step.params}
        try:
            return self.retry_policy.with_overrides(**overrides)
        except ValueError as exc:
            raise StepError(node.name, f"params: {exc}") from exc

    def _inputs(self, node: DAGNode) -> dict[str, Any]:
        """The step's inputs by logical name; cached outputs may still be :class:`Deferred`."""
        with self._lock:
            missing = {logical: key for logical, key in node.step.inputs.items() if key not in self._data_map}
            if missing:
                raise StepError(node.name, f"inputs not in the data map: {missing}")
            return {logical: self._data_map[key] for logical, key in node.step.inputs.items()}

    def _loaded(self, node: DAGNode, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``inputs`` with cached outputs loaded (and kept loaded in the data map)."""
        loaded = {}
        for logical, value in inputs.items():
            loaded[logical] = resolve(value)
            if loaded[logical] is not value:
                with self._lock:
                    key = node.step.inputs[logical]
                    if self._data_map.get(key) is value:
                        self._data_map[key] = loaded[logical]
        return loaded

    def _publish(self, node: DAGNode, outputs: Mapping[str, Any]) -> None:
        missing = sorted(set(node.step.outputs) - set(outputs))
        if missing:
            raise StepError(node.name, f"did not produce its declared outputs {missing}"
                            f" (produced {sorted(outputs)})")
        if self._step_cache is not None:
            self._step_cache.forget(node.step.outputs)
        with self._lock:
            for logical, key in node.step.outputs.items():
                self._data_map[key] = outputs[logical]

    def _frames(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if self.context.is_frame(v)}

    def _row_count(self, execution: Any, outputs: Mapping[str, Any]) -> int | None:
        after = getattr(execution, "after_snapshot", None)
        if after is not None:
            return after.row_count
        for value in outputs.values():
            if isinstance(value, Deferred):
                return value.snapshot.row_count if value.snapshot is not None else None
            if self.context.is_frame(value):
                return self.context.count_rows(value)
        return None

    # -- the cache ---------------------------------------------------------------------
    def _from_cache(self, node: DAGNode, key: str) -> dict[str, Deferred] | None:
        assert self._step_cache is not None
        with self._lock:
            self._cache_consulted.add(node.name)
        return self._step_cache.load(node, key)

    def _record_cached(self, node: DAGNode, outputs: Mapping[str, Deferred]) -> None:
        """Tell the tracker about a hit, from the snapshots kept in the cache where it can."""
        assert self.tracker is not None
        snapshots = {k: v.snapshot for k, v in outputs.items() if v.snapshot is not None}
        frames = self._frames({k: resolve(v) for k, v in outputs.items() if k not in snapshots})
        ordered = {k: snapshots[k] for k in outputs if k in snapshots}
        self.tracker.record_cached(node.step, self.context, frames, snapshots=ordered,
                                   iteration=self.iteration, checkpoint_id=self.checkpoint_id)

    # -- one attempt (on a worker thread, or inline) --------------------------------------
    def _attempt(self, name: str) -> _Attempt:
        """Run one attempt of a node; failures are recorded and returned, never raised."""
        node = self.dag[name]
        step = node.step
        result = self.results[name]
        started = self.clock()
        with self._lock:
            result.attempts += 1
            attempt = result.attempts
            if result.started_at is None:
                result.started_at = started - self._started
        self._set(name, NodeState.RUNNING)
        outcome = _Attempt(name)
        if self.events.has_hooks("node_start"):
            try:
                self.events.emit("node_start", step_name=name, layer=step.layer, start_time=_now(),
                                 attempt=attempt)
            except Exception as exc:  # only a strict hook raises: the node never runs
                message = f"a strict node_start hook raised {type(exc).__name__}: {exc}"
                with self._lock:
                    result.error, result.error_type = message, type(exc).__name__
                self._set(name, NodeState.FAILED)
                outcome.error = outcome.abort = exc
                outcome.log_line = f"step '{name}' not run: {message}; the run stops"
                return outcome
        execution = None
        try:
            if attempt == 1:
                self._check_runnable(node)
                self._policies[name] = self.policy_for(node)
            inputs = self._inputs(node)
            key = self._step_cache.key(node, inputs) if self._step_cache is not None else None
            outputs = self._from_cache(node, key) if key is not None and step.outputs else None
            if outputs is not None:
                outcome.hit = True
                self._publish(node, outputs)
                self._remember_durable(node, key)
                if self.tracker is not None:
                    self._record_cached(node, outputs)
            else:
                inputs = self._loaded(node, inputs)
                if self.tracker is not None:
                    # each attempt is its own tracker record
                    execution = self.tracker.start_step(step, self.context, self._frames(inputs),
                                                        attempt=attempt, iteration=self.iteration,
                                                        checkpoint_id=self.checkpoint_id)
                # the node's own temp tables: gone when the attempt ends, invisible to others
                with NodeContext(name, engine=self.context) as scope:
                    outputs = node_class(step)(step, scope.scoped_engine()).run(inputs)
                self._publish(node, outputs)
                if key is not None:
                    assert self._step_cache is not None
                    self._step_cache.store(node, key, outputs)
                    self._remember_durable(node, key)
                if self.tracker is not None:
                    self.tracker.end_step(execution, self._frames(outputs))
        except Exception as exc:
            message = str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}"
            with self._lock:
                result.error, result.error_type = message, type(exc).__name__
                result.duration_ms += (self.clock() - started) * 1000
            if self.tracker is not None and execution is not None:
                self.tracker.fail_step(execution, message)
            self._set(name, NodeState.FAILED)
            outcome.error = exc
            outcome.log_line = str(exc) if isinstance(exc, StepError) else f"step '{name}' failed: {message}"
            return outcome
        finished = self.clock()
        with self._lock:
            result.duration_ms += (finished - started) * 1000
            result.finished_at = finished - self._started
            result.cached = outcome.hit
            result.error = result.error_type = None
        state = NodeState.CACHED if outcome.hit else NodeState.SUCCESS
        self._set(name, state)
        try:
            if outcome.hit:
                self.events.emit("node_cached", step_name=name, layer=step.layer,
                                 duration_ms=result.duration_ms)
            if self.events.has_hooks("node_complete"):
                self.events.emit("node_complete", step_name=name, layer=step.layer,
                                 duration_ms=result.duration_ms,
                                 row_count=self._row_count(execution, outputs),
                                 status=state.value, attempts=attempt)
        except Exception as exc:  # a strict hook: the node did succeed, but the run stops
            outcome.abort = exc
        return outcome

    # -- after an attempt (on the scheduling loop's thread) ------------------------------
    def _retry_delay(self, outcome: _Attempt) -> float | None:
        """Seconds to wait before retrying, or None when the failure is final."""
        result = self.results[outcome.name]
        policy = self._policies.get(outcome.name, self.retry_policy)
        if outcome.hit or outcome.error is None or not policy.should_retry(outcome.error, result.attempts):
            return None
        delay = policy.delay(len(result.retry_delays) + 1, self.rng)
        result.retry_delays.append(delay)
        self._set(outcome.name, NodeState.READY)
        log.warning("%s (attempt %d of %d); retrying in %.3gs", outcome.log_line, result.attempts,
                    policy.max_attempts, delay)
        self.events.emit("node_retry", step_name=outcome.name, layer=self.dag[outcome.name].step.layer,
                         attempt=result.attempts, next_attempt=result.attempts + 1,
                         max_attempts=policy.max_attempts, delay_seconds=delay,
                         error_message=result.error, error_type=result.error_type)
        return delay

    def _fail(self, name: str, log_line: str, reason: str = "") -> None:
        """End a node as FAILED: its one terminal event."""
        result = self.results[name]
        with self._lock:
            result.finished_at = self.clock() - self._started
            if reason:
                result.reason = reason
        if result.state is not NodeState.FAILED:
            self._set(name, NodeState.FAILED)
        log.warning("%s", log_line)
        self.events.emit("node_error", step_name=name, layer=self.dag[name].step.layer,
                         error_message=result.error, error_type=result.error_type,
                         retry_count=result.retries, attempts=result.attempts)

    def _cancel_retries(self, names: list[str], failed: str) -> None:
        """fail_fast: nodes waiting for a retry end FAILED with their last error."""
        for name in names:
            self.results[name].retry_delays.pop()  # the wait never ended in an attempt
            self._fail(name, f"step '{name}': retry cancelled, the pipeline stopped",
                       f"retry cancelled: the pipeline stopped after step '{failed}' failed (fail_fast)")
            for child in sorted(self._descendants(name)):
                self._skip(child, f"upstream step '{name}' failed")

    def _skip(self, name: str, reason: str) -> None:
        result = self.results[name]
        if result.state in (NodeState.PENDING, NodeState.READY) and not result.attempts:
            result.reason = reason
            self._set(name, NodeState.SKIPPED)

    def _descendants(self, name: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.dag[name].dependents)
        while todo:
            child = todo.pop()
            if child not in seen:
                seen.add(child)
                todo.extend(self.dag[child].dependents)
        return seen

    # -- the loop ---------------------------------------------------------------------
    def execute(self, *, raise_on_failure: bool = True) -> dict[str, Any]:
        """Run every node (retrying retryable failures); return the data map. With
        ``raise_on_failure`` a failed run raises PipelineError naming every failed node.

        In RESUME mode the nodes complete in the latest checkpoint end RESUMED without running,
        except those whose outputs a node that must run needs (their outputs lived in memory):
        those run again (or come from the cache). With a checkpoint manager, a BATCH or
        RESUME run saves a checkpoint when it ends, whether it succeeded or not."""
        self._reset()
        self._started = self.clock()
        self._started_wall = datetime.now(UTC)
        self._durable = {}
        self._saved_levels = set()
        self._last_save = self.clock()
        if self.checkpoint_manager is not None:
            self._resume_keys = resume_keys(self.dag, self.context.name)
        waiting = {name: set(node.dependencies) for name, node in self.dag.items()}
        for name in sorted(self._plan_resume()):
            self._set(name, NodeState.RESUMED)
            restored = " (outputs restored from the cache)" if name in self.resume_plan.restored else ""
            self.results[name].reason = f"complete in checkpoint {self.resume_plan.checkpoint_id}{restored}"
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(self.resumed_nodes)
        ready = [name for name, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        for name in ready:
            self._set(name, NodeState.READY)
        retries: list[tuple[float, str]] = []  # (due time, name): failed attempts waiting to rerun
        stopped = False
        abort: BaseException | None = None  # a strict hook raised: stop, then raise it
        self.abort_error = None

        def finish(outcome: _Attempt) -> None:
            nonlocal stopped, ready
            name = outcome.name
            if outcome.error is None:
                self._checkpoint_after(name)
                for child in sorted(self.dag[name].dependents):
                    if child not in waiting:  # RESUMED: complete in the checkpoint, not run
                        continue
                    waiting[child].discard(name)
                    if not waiting[child] and self.results[child].state is NodeState.PENDING:
                        self._set(child, NodeState.READY)
                        heapq.heappush(ready, child)
                return
            delay = None if stopped or outcome.abort is not None else self._retry_delay(outcome)
            if delay is not None:
                heapq.heappush(retries, (self.clock() + delay, name))
                return
            self._fail(name, outcome.log_line)
            if self.fail_fast and not stopped:
                stopped = True
                # retries not yet started are cancelled: each such node ends FAILED now
                cancelled = sorted({n for _, n in retries} | {n for n in ready if self.results[n].attempts})
                retries.clear()
                ready = [n for n in ready if n not in cancelled]
                heapq.heapify(ready)
                self._cancel_retries(cancelled, name)
            for child in sorted(self._descendants(name)):
                self._skip(child, f"upstream step '{name}' failed")

        def settle(outcome: _Attempt) -> None:
            """Finish an attempt; a strict hook raising (in a worker or here) stops the run."""
            nonlocal abort, stopped
            try:
                finish(outcome)
            except Exception as exc:  # a strict node_error / node_retry hook
                abort = abort or exc
            abort = abort or outcome.abort
            if abort is not None and not stopped:
                stopped = True
                for _, waiting_node in retries:  # retries never start: the run stops
                    self.results[waiting_node].retry_delays.pop()
                    self.results[waiting_node].reason = "retry cancelled: a strict hook stopped the run"
                retries.clear()

        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="odibi") if self.max_workers > 1 else None
        running: dict[Future[_Attempt], str] = {}
        try:
            while True:
                while retries and retries[0][0] <= self.clock():
                    heapq.heappush(ready, heapq.heappop(retries)[1])
                if ready and not stopped and len(running) < self.max_workers:
                    name = heapq.heappop(ready)
                    if pool is None:
                        settle(self._attempt(name))
                    else:
                        running[pool.submit(self._attempt, name)] = name
                    continue
                if running:  # wait for a node, but no longer than until the next retry is due
                    timeout = max(0.0, retries[0][0] - self.clock()) if retries else None
                    done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        settle(future.result())  # _attempt records failures; this surfaces bugs
                elif retries:  # nothing runs and nothing is ready: sleep until a retry is due
                    due, name = heapq.heappop(retries)
                    self.sleep(max(0.0, due - self.clock()))
                    # trust the sleep: an injected one (tests, lessons) need not move the clock
                    heapq.heappush(ready, name)
                else:
                    break
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            self._wall_ms = (self.clock() - self._started) * 1000
            if (self.checkpoint_manager is not None and self.mode is not ExecutionMode.STREAM
                    and self.checkpoint_mode is not CheckpointMode.MANUAL):
                self.save_checkpoint()
        if abort is not None:
            self.abort_error = abort
            for name in sorted(self.dag):
                self._skip(name, f"not run: a strict hook raised {type(abort).__name__}: {abort};"
                                 f" the run stopped")
            raise abort
        for name in sorted(self.dag):
            self._skip(name, "not run: the pipeline stopped after a failure (fail_fast)")
        if raise_on_failure and self.failed_nodes:
            hint = ""
            if self.last_checkpoint is not None:
                hint = (f"To resume: fix the failure, then run a DAGExecutor with"
                        f" mode=ExecutionMode.RESUME and this checkpoint_manager (checkpoint"
                        f" {self.last_checkpoint.checkpoint_id} has {len(self.successful_nodes)}"
                        f" of {len(self.dag)} node(s) complete).")
            raise PipelineError(self.failed_nodes, {n: self.results[n].error or "" for n in self.failed_nodes},
                                hint=hint)
        return self.data_map

    # -- checkpoints --------------------------------------------------------------------
    def _remember_durable(self, node: DAGNode, key: str) -> None:
        """The node's outputs are in the cache under ``key``: they survive the process."""
        with self._lock:
            self._durable[node.name] = {logical: StepCache.output_key(key, logical)
                                        for logical in node.step.outputs}

    def _plan_resume(self) -> set[str]:
        """RESUME: decide what to skip (see :mod:`odibi_core.core.resume`); restored outputs
        enter the data map as :class:`Deferred` values. Returns the nodes not to run."""
        self.resume_plan = ResumePlan()
        self.resumed_from = None
        if self.mode is not ExecutionMode.RESUME:
            return set()
        if self.checkpoint_manager is None:
            raise ValueError("ExecutionMode.RESUME needs a checkpoint_manager to resume from")
        self.resumed_from = self.checkpoint_manager.load_latest(self.dag_name)
        loaded: dict[str, dict[str, Deferred]] = {}

        def durable(record: Any) -> bool:
            node = self.dag[record.node_name]
            if self.cache is None or set(record.outputs) != set(node.step.outputs):
                return False
            values = {}
            for logical, entry in record.outputs.items():
                hit = self.cache.lookup(entry, engine=self.context.name)
                if hit is None:
                    return False
                values[logical] = Deferred(hit, node.name)
            loaded[node.name] = values
            return True

        self.resume_plan = plan = plan_resume(self.dag, self.resumed_from, self._resume_keys, durable)
        for name, why in plan.rerun.items():
            self.results[name].reason = f"re-run: {why}"
        previous = {n.node_name: n for n in getattr(self.resumed_from, "completed_nodes", [])}
        for name in plan.resumed:
            if previous[name].outputs:
                self._durable[name] = dict(previous[name].outputs)
        for name in plan.restored:
            self._publish(self.dag[name], loaded[name])
        if plan.checkpoint_id is not None:
            log.info("resuming %s from %s: %d node(s) not run again, %d re-run", self.dag_name,
                     plan.checkpoint_id, len(plan.resumed), len(plan.rerun))
        return set(plan.resumed)

    def _checkpoint_after(self, name: str) -> None:
        """Save per ``checkpoint_mode`` after ``name`` completed (on the scheduling loop)."""
        if self.checkpoint_manager is None or self.mode is ExecutionMode.STREAM:
            return
        mode = self.checkpoint_mode
        if mode is CheckpointMode.AUTO:
            self.save_checkpoint()
        elif mode is CheckpointMode.INTERVAL:
            if self.clock() - self._last_save >= self.checkpoint_interval:
                self.save_checkpoint()
        elif mode is CheckpointMode.LAYER:
            # levels finish out of order (a ready queue runs a level-1 node as soon as its own
            # parents are done): save each level, in order, once it and all before it are done
            finished = (NodeState.SUCCESS, NodeState.CACHED, NodeState.RESUMED, NodeState.FAILED,
                        NodeState.SKIPPED)
            levels = sorted({node.level for node in self.dag.values()})
            for level in levels:
                if level in self._saved_levels:
                    continue
                if not all(self.results[n].state in finished
                           for n, node in self.dag.items() if node.level == level):
                    break
                self._saved_levels.add(level)
                self.save_checkpoint(metadata={"level": level})

    @property
    def rerun_nodes(self) -> list[str]:
        """Nodes the resumed checkpoint listed as complete that ran again (changed, or needed
        while their output was only in memory); ``resume_plan.rerun`` says why."""
        return sorted(n for n in self.resume_plan.rerun if self.results[n].attempts)

    def node_checkpoints(self) -> list[Any]:
        """The completed nodes of the last run, as checkpoint records."""
        from ..checkpoint import NodeCheckpoint

        previous = {n.node_name: n for n in getattr(self.resumed_from, "completed_nodes", [])}
        with self._lock:
            durable = {name: dict(outputs) for name, outputs in self._durable.items()}
        records = []
        for name in self.successful_nodes:
            result = self.results[name]
            if result.state is NodeState.RESUMED and name in previous:
                records.append(previous[name])  # carried forward as it was
                continue
            finished = self._started_wall + timedelta(seconds=result.finished_at or 0.0)
            records.append(NodeCheckpoint(
                node_name=name,
                state="SUCCESS",
                completed_at=finished.isoformat(timespec="milliseconds"),
                duration_ms=round(result.duration_ms, 3),
                attempts=max(result.attempts, 1),
                cache_key=self._resume_keys.get(name),
                outputs=durable.get(name, {}),
            ))
        return records

    def save_checkpoint(self, *, metadata: Mapping[str, Any] | None = None) -> Any:
        """Save what the last run completed (the checkpoint is also kept as ``last_checkpoint``)."""
        if self.checkpoint_manager is None:
            raise ValueError("save_checkpoint needs a checkpoint_manager")
        done = set(self.successful_nodes)
        checkpoint = self.checkpoint_manager.create_checkpoint(
            dag_name=self.dag_name,
            completed_nodes=self.node_checkpoints(),
            pending_nodes={name for name in self.dag if name not in done},
            mode=self.mode.value,
            iteration=self.iteration or 0,
            metadata={"failed_nodes": self.failed_nodes, **(metadata or {})},
        )
        self.checkpoint_manager.save(checkpoint)
        self.last_checkpoint = checkpoint
        self._last_save = self.clock()
        return checkpoint

    # -- streaming -----------------------------------------------------------------------
    def run_continuous(self, stream_manager: Any, max_iterations: int | None = None,
                       sleep_seconds: float = 10, **options: Any) -> Any:
        """Run the DAG once per micro-batch of ``stream_manager``'s sources, exactly once.

        See :class:`odibi_core.core.continuous.ContinuousRunner` for the protocol (offsets log,
        idempotent sink, commits log, source commit) and the options."""
        from .continuous import ContinuousRunner

        return ContinuousRunner(self, stream_manager, **options).run(
            max_iterations=max_iterations, sleep_seconds=sleep_seconds)

    # -- reading the run ----------------------------------------------------------------
    def critical_path(self) -> tuple[list[str], float]:
        """The dependency chain with the largest summed node duration, and that sum in ms.

        With unlimited workers and no retry waits, no run of this DAG is shorter. Ties go to
        the chain whose names sort first."""
        waiting = {name: len(node.dependencies) for name, node in self.dag.items()}
        ready = sorted(name for name, count in waiting.items() if count == 0)
        heapq.heapify(ready)
        best: dict[str, float] = {}
        parent: dict[str, str | None] = {}
        while ready:
            name = heapq.heappop(ready)
            deps = sorted(self.dag[name].dependencies)
            previous = max(deps, key=lambda d: best[d]) if deps else None
            best[name] = self.results[name].duration_ms + (best[previous] if previous else 0.0)
            parent[name] = previous
            for child in self.dag[name].dependents:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, child)
        if not best:
            return [], 0.0
        end: str | None = max(sorted(best), key=lambda n: best[n])
        total = best[end]
        path = []
        while end is not None:
            path.append(end)
            end = parent[end]
        return path[::-1], total

    def get_stats(self) -> dict[str, Any]:
        """Counts and timings of the last run.

        ``cache_hit_rate`` is hits over the nodes that consulted the cache (0.0 when none did);
        ``retries`` counts attempts after the first; ``total_duration_ms`` is the run's wall
        time and ``node_duration_ms`` the sum of the nodes' own durations."""
        results = list(self.results.values())
        cache_hits = sum(1 for r in results if r.cached)
        with self._lock:
            consulted = len(self._cache_consulted)
        path, path_ms = self.critical_path()
        return {
            "total_nodes": len(results),
            "completed": len(self.successful_nodes),
            "failed": len(self.failed_nodes),
            "skipped": len(self.skipped_nodes),
            "cache_hits": cache_hits,
            "cache_misses": consulted - cache_hits,
            "cache_hit_rate": cache_hits / consulted if consulted else 0.0,
            "total_attempts": sum(r.attempts for r in results),
            "retries": sum(r.retries for r in results),
            "total_duration_ms": self._wall_ms,
            "node_duration_ms": sum(r.duration_ms for r in results),
            "critical_path": path,
            "critical_path_ms": path_ms,
            "max_workers": self.max_workers,
        }
