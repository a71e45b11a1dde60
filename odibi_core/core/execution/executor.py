"""Execution: run a planned DAG off its ready queue, inline or on a thread pool, with retries.

A node is started only when all its parents are done (:class:`~..planning.ready_queue.ReadyQueue`),
so no worker ever waits for another node (the seed's "submit everything and wait on events"
deadlocks once every worker holds a waiting node). Sequential execution is the same loop with
one worker, run inline, in name order among ready nodes. Outputs go into a lock-guarded data map.

The executor only schedules. It publishes what happens to each node (the ``node_*`` events on
its EventEmitter, and run / node lifecycle calls to its policies); checkpoints and resume
(:mod:`.checkpointing`), cache look-ups (:mod:`.step_cache`) and stats (:mod:`.stats`) live in
their own modules and read the run through a read-only :class:`~.results.RunView`.

A failed attempt with a retryable error (see :class:`~.retry.RetryPolicy`) goes into a heap of
delayed retries ``(due time, name)`` kept by the scheduling loop, never into a sleeping worker:
the loop runs other ready nodes meanwhile, waits on running nodes only until the next retry is
due, and calls the injected ``sleep`` only when nothing else can happen.
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from ...cache import CacheManager
from ...clock import utc_now, utc_stamp
from ...engine.base import EngineContext
from ...errors import PipelineError, StepError
from ...events import EventEmitter
from ...nodes.registry import node_class
from ..config.step import ENGINES, LAYER_ALIASES, LAYERS
from ..planning.builder import DAGNode
from ..planning.ready_queue import ReadyQueue
from .checkpointing import CheckpointPolicy
from .node_context import ScopedEngineContext
from .results import DONE_STATES, ExecutionMode, NodeExecutionResult, NodeState, RunView
from .retry import RetryPolicy
from .settings import ExecutorSettings
from .stats import critical_path, run_stats
from .step_cache import EXECUTOR_PARAMS, Deferred, RunDataMap, StepCache, resolve

__all__ = ["DAGExecutor", "ExecutionMode", "ExecutorSettings", "NodeExecutionResult", "NodeState"]

log = logging.getLogger(__name__)
_DONE = tuple(DONE_STATES)
#: states whose nodes are kept in sets (what the run's readers ask for), the others scan
_TRACKED = frozenset({*DONE_STATES, NodeState.FAILED, NodeState.SKIPPED})


@dataclass(slots=True)
class _Attempt:
    """What one attempt of a node tells the scheduling loop."""

    name: str
    error: BaseException | None = None
    hit: bool = False  # the outputs came from the cache (never retried)
    log_line: str = ""
    abort: BaseException | None = None  # a strict hook raised: the run stops with this error
    execution: Any = None  # the tracker's record of this attempt


class DAGExecutor:
    """Runs the nodes of a DAG built by ``DAGBuilder``.

    Args:
        dag: name -> DAGNode.
        context: the engine context every node runs on.
        tracker: records snapshots and lineage, one record per attempt (optional).
        events: hooks for node_start / node_retry / node_complete / node_error / node_cached.
        settings: the options (:class:`~.settings.ExecutorSettings`, documented there).
        **options: the same options as keywords (``max_workers=8``, ``use_cache=True``, ...);
            they override ``settings``.

    A node is recorded as complete with its resume key (see :mod:`.resume`) and, when its
    outputs are in the cache, where they are: only such outputs are *durable*.
    """

    def __init__(self, dag: Mapping[str, DAGNode], context: EngineContext, tracker: Any = None,
                 events: EventEmitter | None = None, *, settings: ExecutorSettings | None = None,
                 **options: Any) -> None:
        unknown = sorted(set(options) - set(ExecutorSettings.names()))
        if unknown:
            raise TypeError(f"DAGExecutor() got unexpected keyword argument(s) {unknown};"
                            f" allowed: {sorted(ExecutorSettings.names())}")
        settings = replace(settings, **options) if settings is not None else ExecutorSettings(**options)
        self.settings = settings
        self.retry_policy = settings.policy()
        self.max_retries = self.retry_policy.max_retries
        self.retry_delay = self.retry_policy.retry_delay
        self.dag = dict(dag)
        self.context = context
        self.tracker = tracker
        self.events = events if events is not None else EventEmitter()
        self.max_workers = settings.max_workers
        self.fail_fast = settings.fail_fast
        self.clock = settings.clock
        self.sleep = settings.sleep
        self.rng = settings.rng if settings.rng is not None else random.Random()
        self.mode = settings.mode
        self.cache = settings.cache if settings.cache is not None else (
            CacheManager() if settings.use_cache else None)
        self._step_cache = StepCache(self.cache, context) if self.cache is not None else None
        self.checkpoints = CheckpointPolicy(settings.checkpoint_manager, settings.checkpoint_mode,
                                            settings.checkpoint_interval, settings.dag_name)
        self.view = RunView(self)
        self._data_map: dict[str, Any] = dict(settings.data_map or {})
        self._lock = threading.Lock()
        self._policies: dict[str, RetryPolicy] = {}
        self._cache_consulted: set[str] = set()
        self._by_state: dict[NodeState, set[str]] = {}
        self._watching = False  # a checkpoint manager listens to node ends (set per run)
        self._runnable: set[tuple[str, str]] = set()  # (layer, engine) pairs this run accepts
        self._deferred = self.cache is not None  # the data map may hold Deferred values
        self._started: float = self.clock()
        self.started_wall = utc_now()
        self._wall_ms = 0.0
        #: set by run_continuous: stamped on tracker records and checkpoints
        self.iteration: int | None = None
        self.checkpoint_id: str | None = None
        #: the exception of a strict hook that stopped the last run (None otherwise)
        self.abort_error: BaseException | None = None
        self.results: dict[str, NodeExecutionResult] = {}
        self._reset()
        self._fresh = True  # results are as _reset left them: the first execute need not reset

    # -- the checkpoint policy's settings, readable and settable here --------------------
    checkpoint_manager = property(lambda self: self.checkpoints.manager,
                                  lambda self, value: setattr(self.checkpoints, "manager", value))
    checkpoint_mode = property(lambda self: self.checkpoints.mode,
                               lambda self, value: setattr(self.checkpoints, "mode", value))
    checkpoint_interval = property(lambda self: self.checkpoints.interval,
                                   lambda self, value: setattr(self.checkpoints, "interval", value))
    dag_name = property(lambda self: self.checkpoints.dag_name,
                        lambda self, value: setattr(self.checkpoints, "dag_name", value))
    #: what the last RESUME run skipped, restored and re-ran (empty otherwise)
    resume_plan = property(lambda self: self.checkpoints.plan)
    #: the checkpoint a RESUME run started from, and the one the last run saved
    resumed_from = property(lambda self: self.checkpoints.resumed_from)
    last_checkpoint = property(lambda self: self.checkpoints.last_checkpoint)

    def _reset(self) -> None:
        """Fresh per-run state: node results, names by state and the cache bookkeeping."""
        now = self.clock()
        pending = NodeState.PENDING
        self.results = {name: NodeExecutionResult(name, transitions=[(pending, now)]) for name in self.dag}
        self._by_state = {state: set() for state in _TRACKED}
        self._policies.clear()
        self._cache_consulted.clear()

    # -- state -------------------------------------------------------------------------
    def _set(self, name: str, state: NodeState) -> None:
        with self._lock:
            self._move(self.results[name], state)

    def _move(self, result: NodeExecutionResult, state: NodeState) -> None:
        """Change a node's state (the caller holds the lock)."""
        if result.state in _TRACKED:
            self._by_state[result.state].discard(result.node_name)
        if state in _TRACKED:
            self._by_state[state].add(result.node_name)
        result.state = state
        result.transitions.append((state, self.clock()))

    def names(self, *states: NodeState) -> list[str]:
        """The nodes now in any of ``states``, sorted (the final states cost the size of the
        answer; PENDING, READY and RUNNING scan the results)."""
        with self._lock:
            found = set().union(*(self._by_state[state] for state in states if state in _TRACKED))
            untracked = [state for state in states if state not in _TRACKED]
            if untracked:
                found.update(n for n, r in self.results.items() if r.state in untracked)
        return sorted(found)

    @property
    def data_map(self) -> RunDataMap:
        """What the run produced, by data-map key (cached outputs load when first read)."""
        with self._lock:
            return RunDataMap(self._data_map)

    def provide(self, data_map: Mapping[str, Any]) -> None:
        """Replace the data map the next run starts from (a continuous run's batch inputs)."""
        with self._lock:
            self._data_map = dict(data_map)

    @property
    def failed_nodes(self) -> list[str]:
        return self.names(NodeState.FAILED)

    @property
    def successful_nodes(self) -> list[str]:
        return self.names(*_DONE)

    @property
    def resumed_nodes(self) -> list[str]:
        """Nodes a RESUME run did not run again: complete in the checkpoint it started from."""
        return self.names(NodeState.RESUMED)

    @property
    def skipped_nodes(self) -> list[str]:
        return self.names(NodeState.SKIPPED)

    @property
    def rerun_nodes(self) -> list[str]:
        """Nodes the resumed checkpoint listed as complete that ran again (changed, or needed
        while their output was only in memory); ``resume_plan.rerun`` says why."""
        return sorted(n for n in self.resume_plan.rerun if self.results[n].attempts)

    # -- one node ---------------------------------------------------------------------
    def _check_runnable(self, node: DAGNode) -> None:
        step = node.step
        if (step.layer, step.engine) in self._runnable:  # checked for an earlier node
            return
        layer = LAYER_ALIASES.get(step.layer, step.layer)
        if layer not in LAYERS:
            raise StepError(step.name, f"unknown layer {step.layer!r}; allowed: {list(LAYERS)}"
                            f" (aliases {sorted(LAYER_ALIASES)})")
        if step.engine not in ENGINES:
            raise StepError(step.name, f"unknown engine {step.engine!r}; allowed: {list(ENGINES)}")
        if step.engine != self.context.name:
            raise StepError(step.name, f"step is for the {step.engine!r} engine but this run uses"
                            f" {self.context.name!r}")
        self._runnable.add((step.layer, step.engine))

    def policy_for(self, node: DAGNode) -> RetryPolicy:
        """The retry policy of one node: the run's, with the step's ``params`` overrides."""
        params = node.step.params
        overrides = {k: params[k] for k in EXECUTOR_PARAMS if k in params} if params else None
        if not overrides:
            return self.retry_policy
        try:
            return self.retry_policy.with_overrides(**overrides)
        except ValueError as exc:
            raise StepError(node.name, f"params: {exc}") from exc

    def _inputs(self, node: DAGNode) -> dict[str, Any]:
        """The step's inputs by logical name; cached outputs may still be :class:`Deferred`.

        No lock: each read is one dict lookup (atomic), and a key is written once, by the one
        parent that produces it, before this node is released."""
        data = self._data_map
        try:
            return {logical: data[key] for logical, key in node.step.inputs.items()}
        except KeyError:
            missing = {logical: key for logical, key in node.step.inputs.items() if key not in data}
        raise StepError(node.name, f"inputs not in the data map: {missing}")

    def _loaded(self, node: DAGNode, inputs: dict[str, Any]) -> dict[str, Any]:
        """``inputs`` with cached outputs loaded (and kept loaded in the data map)."""
        for logical, value in inputs.items():
            if isinstance(value, Deferred):
                inputs[logical] = loaded = resolve(value)
                with self._lock:
                    key = node.step.inputs[logical]
                    if self._data_map.get(key) is value:
                        self._data_map[key] = loaded
        return inputs

    def _publish(self, node: DAGNode, outputs: Mapping[str, Any]) -> None:
        declared = node.step.outputs
        try:
            values = [(key, outputs[logical]) for logical, key in declared.items()]
        except KeyError:
            raise StepError(node.name, f"did not produce its declared outputs"
                            f" {sorted(set(declared) - set(outputs))} (produced {sorted(outputs)})"
                            ) from None
        if self._step_cache is not None:
            self._step_cache.forget(declared)
        with self._lock:
            self._data_map.update(values)

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

    def _run_node(self, node: DAGNode, inputs: dict[str, Any], attempt: int, outcome: _Attempt
                  ) -> tuple[Any, Mapping[str, Any]]:
        """The outputs of one attempt: from the cache, or by running the node (in its own
        NodeContext); returns (tracker record or None, outputs)."""
        step = node.step
        key = None
        if self._step_cache is not None:
            key = self._step_cache.key(node, inputs)
            outputs = self._from_cache(node, key) if key is not None and step.outputs else None
            if outputs is not None:
                outcome.hit = True
                self._publish(node, outputs)
                self.checkpoints.remember_durable(node.name, key, step.outputs)
                if self.tracker is not None:
                    self._record_cached(node, outputs)
                return None, outputs
        if self._deferred:  # outputs restored from the cache may be inputs: load them
            inputs = self._loaded(node, inputs)
        tracker = execution = self.tracker
        if tracker is not None:  # each attempt is its own tracker record
            execution = outcome.execution = tracker.start_step(
                step, self.context, self._frames(inputs), attempt=attempt, iteration=self.iteration,
                checkpoint_id=self.checkpoint_id)
        # the node's own temp tables (a NodeContext): gone when the attempt ends, invisible to others
        scope = ScopedEngineContext.for_node(self.context, node.name)
        try:
            outputs = node_class(step)(step, scope).run(inputs)
        finally:
            scope.release()
        self._publish(node, outputs)
        if key is not None:
            self._step_cache.store(node, key, outputs)
            self.checkpoints.remember_durable(node.name, key, step.outputs)
        if tracker is not None:
            tracker.end_step(execution, self._frames(outputs))
        return execution, outputs

    # -- one attempt (on a worker thread, or inline) --------------------------------------
    def _attempt(self, name: str) -> _Attempt:
        """Run one attempt of a node; failures are recorded and returned, never raised."""
        node = self.dag[name]
        result = self.results[name]
        outcome = _Attempt(name)
        started = self.clock()
        with self._lock:
            result.attempts = attempt = result.attempts + 1
            if result.started_at is None:
                result.started_at = started - self._started
            self._move(result, NodeState.RUNNING)
        if self.events.has_hooks("node_start"):
            try:
                self.events.emit("node_start", step_name=name, layer=node.step.layer,
                                 start_time=utc_stamp(), attempt=attempt)
            except Exception as exc:  # only a strict hook raises: the node never runs
                message = f"a strict node_start hook raised {type(exc).__name__}: {exc}"
                with self._lock:
                    result.error, result.error_type = message, type(exc).__name__
                self._set(name, NodeState.FAILED)
                outcome.error = outcome.abort = exc
                outcome.log_line = f"step '{name}' not run: {message}; the run stops"
                return outcome
        try:
            if attempt == 1:
                self._check_runnable(node)
                policy = self.policy_for(node)
                if policy is not self.retry_policy:
                    self._policies[name] = policy
            execution, outputs = self._run_node(node, self._inputs(node), attempt, outcome)
        except Exception as exc:
            message = str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}"
            with self._lock:
                result.error, result.error_type = message, type(exc).__name__
                result.duration_ms += (self.clock() - started) * 1000
            if self.tracker is not None and outcome.execution is not None:
                self.tracker.fail_step(outcome.execution, message)
            self._set(name, NodeState.FAILED)
            outcome.error = exc
            outcome.log_line = str(exc) if isinstance(exc, StepError) else f"step '{name}' failed: {message}"
            return outcome
        finished = self.clock()
        state = NodeState.CACHED if outcome.hit else NodeState.SUCCESS
        with self._lock:
            result.duration_ms += (finished - started) * 1000
            result.finished_at = finished - self._started
            result.cached = outcome.hit
            result.error = result.error_type = None
            self._move(result, state)
        try:
            if outcome.hit:
                self.events.emit("node_cached", step_name=name, layer=node.step.layer,
                                 duration_ms=result.duration_ms)
            if self.events.has_hooks("node_complete"):
                self.events.emit("node_complete", step_name=name, layer=node.step.layer,
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
        self._finished(name)
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
            self._finished(name)

    def _finished(self, name: str) -> None:
        """``name`` reached its final state: tell the policies."""
        if self._watching:
            self.checkpoints.node_finished(self.view, name)

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
    def _start_run(self) -> ReadyQueue:
        """Fresh run state; RESUME plans what to skip. Returns the prepared ready queue."""
        if not self._fresh:
            self._reset()
        self._fresh = False
        self._started = self.clock()
        self.started_wall = utc_now()
        self.abort_error = None
        self._watching = self.checkpoint_manager is not None
        self.checkpoints.run_started(self.view, self.context.name)
        lookup = None
        if self.cache is not None:
            def lookup(entry: str) -> Any:
                return self.cache.lookup(entry, engine=self.context.name)
        plan, restored = self.checkpoints.plan_resume(self.view, lookup)
        for name, why in plan.rerun.items():
            self.results[name].reason = f"re-run: {why}"
        self._deferred = (self.cache is not None or bool(restored)
                          or any(isinstance(v, Deferred) for v in self._data_map.values()))
        for name, outputs in sorted(restored.items()):
            self._publish(self.dag[name], outputs)
        for name in sorted(plan.resumed):
            self._set(name, NodeState.RESUMED)
            note = " (outputs restored from the cache)" if name in plan.restored else ""
            self.results[name].reason = f"complete in checkpoint {plan.checkpoint_id}{note}"
            self._finished(name)
        queue = ReadyQueue(self.dag)
        queue.prepare(done=plan.resumed)
        return queue

    def execute(self, *, raise_on_failure: bool = True) -> dict[str, Any]:
        """Run every node (retrying retryable failures); return the data map. With
        ``raise_on_failure`` a failed run raises PipelineError naming every failed node.

        The loop: take the ready node that sorts first; run it inline (one worker) or on the
        pool; when it finishes, tell the ready queue, which releases its children. A failure
        is retried later (a heap of due times) or ends the node, skipping its descendants.
        In RESUME mode the nodes complete in the latest checkpoint end RESUMED without
        running (see :mod:`.checkpointing`). With a checkpoint manager, a BATCH or RESUME run
        saves a checkpoint when it ends, whether it succeeded or not."""
        queue = self._start_run()
        ready: list[str] = []  # a heap of names: ties go to the name that sorts first
        retries: list[tuple[float, str]] = []  # (due time, name): failed attempts waiting to rerun
        run = _Loop(self, queue, ready, retries)
        run.release()
        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="odibi") if self.max_workers > 1 else None
        running: dict[Future[_Attempt], str] = {}
        try:
            while True:
                while retries and retries[0][0] <= self.clock():
                    heapq.heappush(ready, heapq.heappop(retries)[1])
                if ready and not run.stopped and len(running) < self.max_workers:
                    name = heapq.heappop(ready)
                    if pool is None:
                        run.settle(self._attempt(name))
                    else:
                        running[pool.submit(self._attempt, name)] = name
                    continue
                if running:  # wait for a node, but no longer than until the next retry is due
                    timeout = max(0.0, retries[0][0] - self.clock()) if retries else None
                    done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        run.settle(future.result())  # _attempt records failures; this surfaces bugs
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
            self.checkpoints.run_finished(self.view)
        return self._end_run(run.abort, raise_on_failure)

    def _end_run(self, abort: BaseException | None, raise_on_failure: bool) -> dict[str, Any]:
        """Skip what never ran; raise the strict hook's error or the aggregated failure."""
        if abort is not None:
            self.abort_error = abort
            for name in sorted(self.dag):
                self._skip(name, f"not run: a strict hook raised {type(abort).__name__}: {abort};"
                                 f" the run stopped")
            raise abort
        for name in sorted(self.dag):
            self._skip(name, "not run: the pipeline stopped after a failure (fail_fast)")
        if raise_on_failure and self.failed_nodes:
            raise PipelineError(self.failed_nodes, {n: self.results[n].error or "" for n in self.failed_nodes},
                                hint=self.resume_hint())
        return self.data_map

    def resume_hint(self) -> str:
        """How to resume after a failed run (empty without a checkpoint to resume from)."""
        if self.last_checkpoint is None:
            return ""
        return (f"To resume: fix the failure, then run a DAGExecutor with mode=ExecutionMode.RESUME"
                f" and this checkpoint_manager (checkpoint {self.last_checkpoint.checkpoint_id} has"
                f" {len(self.successful_nodes)} of {len(self.dag)} node(s) complete).")

    # -- checkpoints --------------------------------------------------------------------
    def node_checkpoints(self) -> list[Any]:
        """The completed nodes of the last run, as checkpoint records."""
        return self.checkpoints.node_checkpoints(self.view)

    def save_checkpoint(self, *, metadata: Mapping[str, Any] | None = None) -> Any:
        """Save what the last run completed (the checkpoint is also kept as ``last_checkpoint``)."""
        return self.checkpoints.save(self.view, metadata=metadata)

    # -- streaming -----------------------------------------------------------------------
    def run_continuous(self, stream_manager: Any, max_iterations: int | None = None,
                       sleep_seconds: float = 10, **options: Any) -> Any:
        """Run the DAG once per micro-batch of ``stream_manager``'s sources, exactly once.

        See :class:`odibi_core.core.execution.continuous.ContinuousRunner` for the protocol
        (offsets log, idempotent sink, commits log, source commit) and the options."""
        from .continuous import ContinuousRunner

        return ContinuousRunner(self, stream_manager, **options).run(
            max_iterations=max_iterations, sleep_seconds=sleep_seconds)

    # -- reading the run ----------------------------------------------------------------
    def critical_path(self) -> tuple[list[str], float]:
        """The dependency chain with the largest summed node duration, and that sum in ms
        (see :func:`.stats.critical_path`)."""
        return critical_path(self.view)

    def get_stats(self) -> dict[str, Any]:
        """Counts and timings of the last run.

        ``cache_hit_rate`` is hits over the nodes that consulted the cache (0.0 when none did);
        ``retries`` counts attempts after the first; ``total_duration_ms`` is the run's wall
        time and ``node_duration_ms`` the sum of the nodes' own durations."""
        with self._lock:
            consulted = len(self._cache_consulted)
        return run_stats(self.view, cache_consulted=consulted, wall_ms=self._wall_ms,
                         max_workers=self.max_workers)


class _Loop:
    """The bookkeeping of one ``execute``: what finishing an attempt does to the queues."""

    def __init__(self, executor: DAGExecutor, queue: ReadyQueue, ready: list[str],
                 retries: list[tuple[float, str]]) -> None:
        self.executor = executor
        self.queue = queue
        self.ready = ready
        self.retries = retries
        self.stopped = False
        self.abort: BaseException | None = None  # a strict hook raised: stop, then raise it

    def release(self) -> None:
        """Move what the ready queue released into the heap of ready names."""
        executor, results, pending = self.executor, self.executor.results, NodeState.PENDING
        released = self.queue.get_ready()
        if not released:
            return
        with executor._lock:
            for child in released:
                result = results[child]
                if result.state is pending:
                    executor._move(result, NodeState.READY)
                    heapq.heappush(self.ready, child)

    def finish(self, outcome: _Attempt) -> None:
        executor = self.executor
        name = outcome.name
        if outcome.error is None:
            if executor._watching:
                executor.checkpoints.node_finished(executor.view, name)
                executor.checkpoints.node_completed(executor.view, name)
            self.queue.done(name)
            self.release()
            return
        delay = None if self.stopped or outcome.abort is not None else executor._retry_delay(outcome)
        if delay is not None:
            heapq.heappush(self.retries, (executor.clock() + delay, name))
            return
        executor._fail(name, outcome.log_line)
        if executor.fail_fast and not self.stopped:
            self.stopped = True
            # retries not yet started are cancelled: each such node ends FAILED now
            cancelled = sorted({n for _, n in self.retries} | {n for n in self.ready if executor.results[n].attempts})
            self.retries.clear()
            self.ready[:] = [n for n in self.ready if n not in cancelled]
            heapq.heapify(self.ready)
            executor._cancel_retries(cancelled, name)
        for child in sorted(executor._descendants(name)):
            executor._skip(child, f"upstream step '{name}' failed")

    def settle(self, outcome: _Attempt) -> None:
        """Finish an attempt; a strict hook raising (in a worker or here) stops the run."""
        if outcome.error is None and outcome.abort is None and not self.executor._watching:
            self.queue.done(outcome.name)  # the common case: release the children, no more
            self.release()
            return
        try:
            self.finish(outcome)
        except Exception as exc:  # a strict node_error / node_retry hook
            self.abort = self.abort or exc
        self.abort = self.abort or outcome.abort
        if self.abort is not None and not self.stopped:
            self.stopped = True
            for _, waiting_node in self.retries:  # retries never start: the run stops
                self.executor.results[waiting_node].retry_delays.pop()
                self.executor.results[waiting_node].reason = "retry cancelled: a strict hook stopped the run"
            self.retries.clear()
