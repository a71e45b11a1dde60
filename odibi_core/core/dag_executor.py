"""Execution: run a planned DAG with a ready queue, inline or on a thread pool.

A node is started only when all its parents are done, so no worker ever waits for
another node (the seed's "submit everything and wait on events" deadlocks once every
worker holds a waiting node). Sequential execution is the same loop with one worker,
run inline, in name order among ready nodes. Outputs go into a lock-guarded data map.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..cache import CacheManager, Uncacheable
from ..engine.base import EngineContext
from ..errors import PipelineError, StepError
from ..functions import get_function
from ..nodes.base import Connection
from ..nodes.registry import node_class
from .dag_builder import DAGNode
from .events import EventEmitter
from .step import ENGINES, LAYER_ALIASES, LAYERS

__all__ = ["DAGExecutor", "NodeExecutionResult", "NodeState"]

log = logging.getLogger(__name__)


class NodeState(StrEnum):
    """Where a node is in its lifecycle."""

    PENDING = "PENDING"  # waiting for dependencies
    READY = "READY"  # dependencies done, queued
    RUNNING = "RUNNING"
    CACHED = "CACHED"  # output restored from the cache
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # never ran: an upstream node failed or the run stopped


@dataclass
class NodeExecutionResult:
    """What happened to one node."""

    node_name: str
    state: NodeState = NodeState.PENDING
    duration_ms: float = 0.0
    attempts: int = 0
    cached: bool = False
    error: str | None = None
    reason: str = ""
    transitions: list[tuple[NodeState, float]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.state in (NodeState.SUCCESS, NodeState.CACHED)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DAGExecutor:
    """Runs the nodes of a DAG built by ``DAGBuilder``.

    Args:
        dag: name -> DAGNode.
        context: the engine context every node runs on.
        tracker: records snapshots and lineage per node (optional).
        events: hooks for node_start / node_complete / node_error (optional).
        max_workers: 1 runs inline in a stable order; more runs independent nodes at once.
        fail_fast: stop starting nodes after the first failure; otherwise finish every
            branch that does not depend on a failed node.
        data_map: data-map entries provided from outside (external inputs).
        use_cache: reuse outputs of ingest and transform steps whose inputs, config, source
            files and code are unchanged (content-addressed; store and publish steps always run).
        cache: the CacheManager to use (default: a new one when ``use_cache``).
        clock: monotonic clock for durations (injectable for tests).
    """

    #: layers whose steps are pure (same inputs, same outputs) and so may be cached
    CACHEABLE_LAYERS = ("ingest", "transform")

    def __init__(
        self,
        dag: Mapping[str, DAGNode],
        context: EngineContext,
        tracker: Any = None,
        events: EventEmitter | None = None,
        *,
        max_workers: int = 1,
        fail_fast: bool = True,
        data_map: Mapping[str, Any] | None = None,
        use_cache: bool = False,
        cache: CacheManager | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.dag = dict(dag)
        self.context = context
        self.tracker = tracker
        self.events = events if events is not None else EventEmitter()
        self.max_workers = max_workers
        self.fail_fast = fail_fast
        self.clock = clock
        self.cache = cache if cache is not None else (CacheManager() if use_cache else None)
        self._data_map: dict[str, Any] = dict(data_map or {})
        self._lock = threading.Lock()
        self.results: dict[str, NodeExecutionResult] = {
            name: NodeExecutionResult(name, transitions=[(NodeState.PENDING, clock())]) for name in self.dag
        }

    # -- state -------------------------------------------------------------------------
    def _set(self, name: str, state: NodeState) -> None:
        with self._lock:
            result = self.results[name]
            result.state = state
            result.transitions.append((state, self.clock()))

    @property
    def data_map(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._data_map)

    def _names(self, *states: NodeState) -> list[str]:
        return sorted(n for n, r in self.results.items() if r.state in states)

    @property
    def failed_nodes(self) -> list[str]:
        return self._names(NodeState.FAILED)

    @property
    def successful_nodes(self) -> list[str]:
        return self._names(NodeState.SUCCESS, NodeState.CACHED)

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

    def _inputs(self, node: DAGNode) -> dict[str, Any]:
        with self._lock:
            missing = {logical: key for logical, key in node.step.inputs.items() if key not in self._data_map}
            if missing:
                raise StepError(node.name, f"inputs not in the data map: {missing}")
            return {logical: self._data_map[key] for logical, key in node.step.inputs.items()}

    def _publish(self, node: DAGNode, outputs: Mapping[str, Any]) -> None:
        missing = sorted(set(node.step.outputs) - set(outputs))
        if missing:
            raise StepError(node.name, f"did not produce its declared outputs {missing}"
                            f" (produced {sorted(outputs)})")
        with self._lock:
            for logical, key in node.step.outputs.items():
                self._data_map[key] = outputs[logical]

    def _frames(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if self.context.is_frame(v)}

    def _row_count(self, execution: Any, outputs: Mapping[str, Any]) -> int | None:
        after = getattr(execution, "after_snapshot", None)
        if after is not None:
            return after.row_count
        frames = list(self._frames(outputs).values())
        if frames and self.context.cheap_counts:
            return self.context.snapshot(frames[0], sample_rows=0).row_count
        return None

    # -- the cache ---------------------------------------------------------------------
    def _source_fingerprint(self, value: Any) -> str | None:
        if self.context.is_frame(value):
            return self.context.fingerprint(value)
        if isinstance(value, Connection):
            return self.cache.fingerprint_source(value.location) if self.cache else None
        return None

    def _cache_key(self, node: DAGNode, inputs: Mapping[str, Any]) -> str | None:
        """The step's content address, or None when something cannot be fingerprinted."""
        step = node.step
        if self.cache is None or not self.cache.enabled or step.kind[0] not in self.CACHEABLE_LAYERS:
            return None
        fingerprints = {logical: self._source_fingerprint(value) for logical, value in inputs.items()}
        if step.kind[0] == "ingest" and not any(isinstance(v, Connection) for v in inputs.values()):
            fingerprints["<source>"] = self.cache.fingerprint_source(str(step.value))
        code = None
        if step.kind[1] == "function":
            try:
                code = self.cache.fingerprint_code(get_function(str(step.value)))
            except LookupError:
                return None  # the run itself reports the missing function
            if code is None:
                log.info("step %s not cached: the source of %s is unavailable", step.name, step.value)
                return None
        try:
            return self.cache.compute_cache_key(step.name, step.params, fingerprints, step.value,
                                                step_type=step.type, engine=self.context.name,
                                                code_fingerprint=code)
        except Uncacheable as exc:
            log.info("step %s not cached: %s", step.name, exc)
            return None

    @staticmethod
    def _output_key(key: str, logical: str) -> str:
        return hashlib.sha256(f"{key}:{logical}".encode()).hexdigest()

    def _from_cache(self, node: DAGNode, key: str) -> dict[str, Any] | None:
        assert self.cache is not None
        outputs = {}
        for logical in node.step.outputs:
            value = self.cache.get(self._output_key(key, logical), engine=self.context.name)
            if value is None:
                return None
            outputs[logical] = value
        return outputs

    def _to_cache(self, node: DAGNode, key: str, outputs: Mapping[str, Any]) -> None:
        assert self.cache is not None
        for logical in node.step.outputs:
            self.cache.put(self._output_key(key, logical), outputs[logical], engine=self.context.name,
                           step_name=node.name)

    def _run_node(self, name: str) -> NodeExecutionResult:
        node = self.dag[name]
        step = node.step
        result = self.results[name]
        self._set(name, NodeState.RUNNING)
        started = self.clock()
        result.attempts += 1
        self.events.emit("node_start", step_name=name, layer=step.layer, start_time=_now(),
                         attempt=result.attempts)
        execution = None
        try:
            self._check_runnable(node)
            inputs = self._inputs(node)
            key = self._cache_key(node, inputs)
            cached = self._from_cache(node, key) if key is not None and step.outputs else None
            if cached is not None:
                return self._cached(node, result, cached, started)
            if self.tracker is not None:
                execution = self.tracker.start_step(step, self.context, self._frames(inputs))
            outputs = node_class(step)(step, self.context).run(inputs)
            self._publish(node, outputs)
            if key is not None:
                self._to_cache(node, key, outputs)
            if self.tracker is not None:
                self.tracker.end_step(execution, self._frames(outputs))
        except Exception as exc:
            message = str(exc) if isinstance(exc, StepError) else f"{type(exc).__name__}: {exc}"
            result.error = message
            result.duration_ms = (self.clock() - started) * 1000
            if self.tracker is not None and execution is not None:
                self.tracker.fail_step(execution, message)
            self._set(name, NodeState.FAILED)
            log.warning("%s", exc if isinstance(exc, StepError) else f"step '{name}' failed: {message}")
            self.events.emit("node_error", step_name=name, layer=step.layer, error_message=message,
                             error_type=type(exc).__name__, retry_count=result.attempts - 1)
            return result
        result.duration_ms = (self.clock() - started) * 1000
        self._set(name, NodeState.SUCCESS)
        self.events.emit("node_complete", step_name=name, layer=step.layer,
                         duration_ms=result.duration_ms, row_count=self._row_count(execution, outputs),
                         status=NodeState.SUCCESS.value)
        return result

    def _cached(self, node: DAGNode, result: NodeExecutionResult, outputs: dict[str, Any],
                started: float) -> NodeExecutionResult:
        self._publish(node, outputs)
        if self.tracker is not None:
            self.tracker.record_cached(node.step, self.context, self._frames(outputs))
        result.cached = True
        result.duration_ms = (self.clock() - started) * 1000
        self._set(node.name, NodeState.CACHED)
        self.events.emit("node_cached", step_name=node.name, layer=node.step.layer,
                         duration_ms=result.duration_ms)
        self.events.emit("node_complete", step_name=node.name, layer=node.step.layer,
                         duration_ms=result.duration_ms, row_count=self._row_count(None, outputs),
                         status=NodeState.CACHED.value)
        return result

    # -- the loop ---------------------------------------------------------------------
    def _skip(self, name: str, reason: str) -> None:
        result = self.results[name]
        if result.state in (NodeState.PENDING, NodeState.READY):
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

    def execute(self, *, raise_on_failure: bool = True) -> dict[str, Any]:
        """Run every node once; return the data map. With ``raise_on_failure`` a failed run
        raises PipelineError naming every failed node."""
        waiting = {name: set(node.dependencies) for name, node in self.dag.items()}
        ready = [name for name, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        for name in ready:
            self._set(name, NodeState.READY)
        stopped = False

        def finish(name: str) -> None:
            nonlocal stopped
            if self.results[name].success:
                for child in sorted(self.dag[name].dependents):
                    waiting[child].discard(name)
                    if not waiting[child] and self.results[child].state is NodeState.PENDING:
                        self._set(child, NodeState.READY)
                        heapq.heappush(ready, child)
                return
            if self.fail_fast:
                stopped = True
            for child in sorted(self._descendants(name)):
                self._skip(child, f"upstream step '{name}' failed")

        pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="odibi") if self.max_workers > 1 else None
        running: dict[Future[NodeExecutionResult], str] = {}
        try:
            while (ready and not stopped) or running:
                while ready and not stopped and len(running) < self.max_workers:
                    name = heapq.heappop(ready)
                    if pool is None:
                        self._run_node(name)
                        finish(name)
                    else:
                        running[pool.submit(self._run_node, name)] = name
                if running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        name = running.pop(future)
                        future.result()  # _run_node records failures itself; this surfaces bugs
                        finish(name)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        for name in sorted(self.dag):
            self._skip(name, "not run: the pipeline stopped after a failure (fail_fast)")
        if raise_on_failure and self.failed_nodes:
            raise PipelineError(self.failed_nodes, {n: self.results[n].error or "" for n in self.failed_nodes})
        return self.data_map

    def get_stats(self) -> dict[str, Any]:
        """Counts and timings of the last run."""
        results = list(self.results.values())
        ran = [r for r in results if r.attempts]
        cache_hits = sum(1 for r in results if r.cached)
        return {
            "total_nodes": len(results),
            "completed": len(self.successful_nodes),
            "failed": len(self.failed_nodes),
            "skipped": len(self.skipped_nodes),
            "cache_hits": cache_hits,
            "cache_hit_rate": cache_hits / len(ran) if ran else 0.0,
            "total_attempts": sum(r.attempts for r in results),
            "total_duration_ms": sum(r.duration_ms for r in results),
        }
