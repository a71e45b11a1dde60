"""One node's work inside an attempt, for the DAGExecutor: check that the step can run here,
pick its retry policy, read its inputs from the data map, take its outputs from the cache or run
its node (in its own scope of temp tables), and publish the outputs to the data map.

:class:`NodeRunner` is the executor's half that touches data; the scheduling loop is in
:mod:`.executor` and :mod:`.loop`. Everything here may run on a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import StepError
from ...nodes.registry import node_class
from ..config.step import ENGINES, LAYER_ALIASES, LAYERS
from ..planning.builder import DAGNode
from .loop import Attempt
from .node_context import ScopedEngineContext
from .retry import RetryPolicy
from .step_cache import EXECUTOR_PARAMS, Deferred, resolve

__all__ = ["NodeRunner"]


class NodeRunner:
    """The per-node half of :class:`~.executor.DAGExecutor` (a mixin: it reads the executor's
    context, data map, lock, cache, tracker and checkpoint policy)."""

    context: Any
    retry_policy: RetryPolicy
    tracker: Any
    checkpoints: Any
    iteration: int | None
    checkpoint_id: str | None

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

    def _run_node(self, node: DAGNode, inputs: dict[str, Any], attempt: int, outcome: Attempt
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

