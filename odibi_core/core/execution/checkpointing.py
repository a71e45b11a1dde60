"""The checkpoint policy of a run: when a DAGExecutor saves, what a checkpoint records, and what
a RESUME run skips.

The executor only schedules; it tells this policy what happened (``run_started``,
``node_finished`` for every node that reaches a final state, ``node_completed`` on the
scheduling loop after a node succeeded, ``run_finished``), and the policy reads the run through
its read-only :class:`~.results.RunView`. Modes (see :class:`~odibi_core.checkpoint.CheckpointMode`):
MANUAL saves only when asked, AUTO after every node that completes, INTERVAL after a node
completes at most every ``interval`` seconds, LAYER once every node of a DAG level (and of every
level before it) has finished. All but MANUAL also save when the run ends; a STREAM run's
checkpoints belong to the continuous runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ...checkpoint import CheckpointMode, NodeCheckpoint
from .results import ExecutionMode, NodeState, RunView
from .resume import ResumePlan, plan_resume, resume_keys
from .step_cache import Deferred, StepCache

__all__ = ["CheckpointPolicy", "resume_hint"]

log = logging.getLogger("odibi_core.core.dag_executor")  # the logger keeps its name from before the move


def resume_hint(how: str, checkpoint_id: str, done: int, total: int, *, place: str | None = None,
                note: str = "") -> str:
    """The one sentence a failed run ends with: how to resume, from which checkpoint, and how
    much of the run it holds (the executor and the orchestrator each say ``how`` their way)."""
    where = f" in {place}" if place else ""
    tail = f"; {note}" if note else ""
    return (f"To resume: fix the failure, then {how} (checkpoint {checkpoint_id}{where} has {done}"
            f" of {total} node(s) complete{tail}).")


class CheckpointPolicy:
    """Saves a run's checkpoints as ``mode`` says, and plans RESUME runs.

    ``durable`` maps a node to where its outputs are in the cache ({output: entry key}): only
    such outputs survive the process, so only they may be restored by a later resume.
    """

    def __init__(self, manager: Any, mode: CheckpointMode, interval: float, dag_name: str) -> None:
        self.manager = manager
        self.mode = mode
        self.interval = interval
        self.dag_name = dag_name
        self.durable: dict[str, dict[str, str]] = {}
        self.keys: dict[str, str] = {}
        self.last_checkpoint: Any = None
        self.resumed_from: Any = None
        self.plan = ResumePlan()
        self._last_save = 0.0
        self._saved_levels: set[int] = set()
        self._levels: list[int] = []  # the DAG's levels, in order
        self._left: dict[int, int] = {}  # level -> nodes not yet finished
        self._next = 0  # index in _levels of the first level not saved

    # -- events from the scheduling loop ----------------------------------------------------
    def run_started(self, run: RunView, engine: str) -> None:
        self.durable = {}
        self._saved_levels = set()
        self._last_save = run.clock()
        self.keys = resume_keys(run.dag, engine) if self.manager is not None else {}
        if self.manager is None:
            return
        left: dict[int, int] = {}
        for node in run.dag.values():
            left[node.level] = left.get(node.level, 0) + 1
        self._left, self._levels, self._next = left, sorted(left), 0

    def node_finished(self, run: RunView, name: str) -> None:
        """``name`` reached a final state (done, failed for good, skipped or resumed)."""
        self._left[run.dag[name].level] -= 1

    def node_completed(self, run: RunView, name: str) -> None:
        """Save per ``mode`` after ``name`` completed."""
        if self.manager is None or run.mode is ExecutionMode.STREAM:
            return
        if self.mode is CheckpointMode.AUTO:
            self.save(run)
        elif self.mode is CheckpointMode.INTERVAL:
            if run.clock() - self._last_save >= self.interval:
                self.save(run)
        elif self.mode is CheckpointMode.LAYER:
            # levels finish out of order (a ready queue runs a level-1 node as soon as its own
            # parents are done): save each level, in order, once it and all before it are done
            while self._next < len(self._levels) and not self._left[self._levels[self._next]]:
                level = self._levels[self._next]
                self._next += 1
                self._saved_levels.add(level)
                self.save(run, metadata={"level": level})

    def run_finished(self, run: RunView) -> None:
        if (self.manager is not None and run.mode is not ExecutionMode.STREAM
                and self.mode is not CheckpointMode.MANUAL):
            self.save(run)

    # -- what a checkpoint holds -------------------------------------------------------------
    def remember_durable(self, name: str, key: str, outputs: Mapping[str, str]) -> None:
        """The node's outputs are in the cache under ``key`` (called from worker threads: one
        dict assignment, atomic)."""
        self.durable[name] = {logical: StepCache.output_key(key, logical) for logical in outputs}

    def node_checkpoints(self, run: RunView) -> list[Any]:
        """The completed nodes of the run, as checkpoint records."""
        previous = {n.node_name: n for n in getattr(self.resumed_from, "completed_nodes", [])}
        durable = {name: dict(outputs) for name, outputs in list(self.durable.items())}
        records = []
        for name in run.names(NodeState.SUCCESS, NodeState.CACHED, NodeState.RESUMED):
            result = run.results[name]
            if result.state is NodeState.RESUMED and name in previous:
                records.append(previous[name])  # carried forward as it was
                continue
            finished = run.started_wall + timedelta(seconds=result.finished_at or 0.0)
            records.append(NodeCheckpoint(
                node_name=name,
                state="SUCCESS",
                completed_at=finished.isoformat(timespec="milliseconds"),
                duration_ms=round(result.duration_ms, 3),
                attempts=max(result.attempts, 1),
                cache_key=self.keys.get(name),
                outputs=durable.get(name, {}),
            ))
        return records

    def save(self, run: RunView, *, metadata: Mapping[str, Any] | None = None) -> Any:
        """Save what the run completed so far; the checkpoint is kept as ``last_checkpoint``."""
        if self.manager is None:
            raise ValueError("save_checkpoint needs a checkpoint_manager")
        completed = self.node_checkpoints(run)
        done = {record.node_name for record in completed}
        checkpoint = self.manager.create_checkpoint(
            dag_name=self.dag_name,
            completed_nodes=completed,
            pending_nodes={name for name in run.dag if name not in done},
            mode=run.mode.value,
            iteration=run.iteration or 0,
            metadata={"failed_nodes": run.names(NodeState.FAILED), **(metadata or {})},
        )
        self.manager.save(checkpoint)
        self.last_checkpoint = checkpoint
        self._last_save = run.clock()
        return checkpoint

    # -- resume ------------------------------------------------------------------------------
    def plan_resume(self, run: RunView, lookup: Callable[[str], Any] | None
                    ) -> tuple[ResumePlan, dict[str, dict[str, Deferred]]]:
        """RESUME: what to skip (see :mod:`.resume`) and the outputs to restore, as
        :class:`Deferred` values (``lookup(entry)`` finds a cache entry, None without a cache)."""
        self.plan = ResumePlan()
        self.resumed_from = None
        if run.mode is not ExecutionMode.RESUME:
            return self.plan, {}
        if self.manager is None:
            raise ValueError("ExecutionMode.RESUME needs a checkpoint_manager to resume from")
        self.resumed_from = self.manager.load_latest(self.dag_name)
        loaded: dict[str, dict[str, Deferred]] = {}

        def durable(record: Any) -> bool:
            node = run.dag[record.node_name]
            if lookup is None or set(record.outputs) != set(node.step.outputs):
                return False
            values = {}
            for logical, entry in record.outputs.items():
                hit = lookup(entry)
                if hit is None:
                    return False
                values[logical] = Deferred(hit, node.name)
            loaded[node.name] = values
            return True

        self.plan = plan = plan_resume(run.dag, self.resumed_from, self.keys, durable)
        previous = {n.node_name: n for n in getattr(self.resumed_from, "completed_nodes", [])}
        for name in plan.resumed:
            if previous[name].outputs:
                self.durable[name] = dict(previous[name].outputs)
        if plan.checkpoint_id is not None:
            log.info("resuming %s from %s: %d node(s) not run again, %d re-run", self.dag_name,
                     plan.checkpoint_id, len(plan.resumed), len(plan.rerun))
        return plan, {name: loaded[name] for name in plan.restored}

