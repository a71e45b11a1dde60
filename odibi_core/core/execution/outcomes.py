"""How a node's attempt ends, for the DAGExecutor's scheduling loop: a retry scheduled (with
its delay and ``node_retry`` event), a final failure (its one ``node_error`` event), a skip
(an upstream node failed or the run stopped), and the descendants a failure takes down.
"""

from __future__ import annotations

import logging
from typing import Any

from .loop import Attempt
from .results import NodeExecutionResult, NodeState
from .retry import RetryPolicy

__all__ = ["NodeEnds"]

log = logging.getLogger("odibi_core.core.dag_executor")  # the logger keeps its name from before the move


class NodeEnds:
    """The end-of-attempt half of :class:`~.executor.DAGExecutor` (a mixin: it reads the
    executor's DAG, results, retry policies, events and clock, on the scheduling loop)."""

    dag: dict[str, Any]
    results: dict[str, NodeExecutionResult]
    retry_policy: RetryPolicy
    events: Any
    rng: Any

    # -- after an attempt (on the scheduling loop's thread) ------------------------------
    def _retry_delay(self, outcome: Attempt) -> float | None:
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

