"""Execution: run a planned DAG off its ready queue, inline or on a thread pool, with retries.

A node starts only when all its parents are done (:class:`~..planning.ready_queue.ReadyQueue`),
so no worker ever waits for another node (the seed's "submit everything and wait on events"
deadlocks once every worker holds a waiting node). Sequential execution is the same loop with
one worker, inline, in name order among ready nodes. Outputs go into a lock-guarded data map.

The executor only schedules and publishes what happens (``node_*`` events, and lifecycle calls
to its policies): checkpoints and resume (:mod:`.checkpointing`), one node's work and the cache
(:mod:`.node_runner`), how attempts end (:mod:`.outcomes`, :mod:`.loop`) and stats
(:mod:`.stats`) live in their own modules, reading the run through a :class:`~.results.RunView`.
A retryable failure (:class:`~.retry.RetryPolicy`) waits in a heap of due times kept by the
loop, never in a sleeping worker; ``sleep`` is called only when nothing else can happen."""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from ...cache import CacheManager
from ...clock import utc_now, utc_stamp
from ...engine.base import EngineContext
from ...errors import PipelineError, StepError
from ...events import EventEmitter
from ..planning.builder import DAGNode
from ..planning.ready_queue import ReadyQueue
from .checkpointing import CheckpointPolicy, resume_hint
from .loop import Attempt, RunLoop
from .node_runner import NodeRunner
from .outcomes import NodeEnds
from .results import DONE_STATES, ExecutionMode, NodeExecutionResult, NodeState, RunView
from .retry import RetryPolicy
from .settings import ExecutorSettings
from .stats import critical_path, run_stats
from .step_cache import Deferred, RunDataMap, StepCache

__all__ = ["DAGExecutor", "ExecutionMode", "ExecutorSettings", "NodeExecutionResult", "NodeState"]

_DONE = tuple(DONE_STATES)
#: states whose nodes are kept in sets (what readers of the run ask for; the others scan)
_TRACKED = frozenset({*DONE_STATES, NodeState.FAILED, NodeState.SKIPPED})


class DAGExecutor(NodeRunner, NodeEnds):
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

    # -- one attempt (on a worker thread, or inline) --------------------------------------
    def _started_hooks(self, node: DAGNode, attempt: int, outcome: Attempt) -> bool:
        """Emit node_start; False when a strict hook raised (the node never runs)."""
        try:
            self.events.emit("node_start", step_name=node.name, layer=node.step.layer,
                             start_time=utc_stamp(), attempt=attempt)
            return True
        except Exception as exc:
            message = f"a strict node_start hook raised {type(exc).__name__}: {exc}"
            with self._lock:
                self.results[node.name].error, self.results[node.name].error_type = message, type(exc).__name__
            self._set(node.name, NodeState.FAILED)
            outcome.error = outcome.abort = exc
            outcome.log_line = f"step '{node.name}' not run: {message}; the run stops"
            return False

    def _attempt(self, name: str) -> Attempt:
        """Run one attempt of a node; failures are recorded and returned, never raised."""
        node = self.dag[name]
        result = self.results[name]
        outcome = Attempt(name)
        started = self.clock()
        with self._lock:
            result.attempts = attempt = result.attempts + 1
            if result.started_at is None:
                result.started_at = started - self._started
            self._move(result, NodeState.RUNNING)
        if self.events.has_hooks("node_start") and not self._started_hooks(node, attempt, outcome):
            return outcome
        try:
            if attempt == 1:
                self._check_runnable(node)
                if node.step.params:  # only a step's params can override the run's policy
                    self._policies[name] = self.policy_for(node)
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
        run = RunLoop(self, queue, ready, retries)
        run.release()
        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="odibi") if self.max_workers > 1 else None
        running: dict[Future[Attempt], str] = {}
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
        return resume_hint("run a DAGExecutor with mode=ExecutionMode.RESUME and this checkpoint_manager",
                           self.last_checkpoint.checkpoint_id, len(self.successful_nodes), len(self.dag))

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
