"""Reading a finished run: its critical path and its counts, from the run's read-only view."""

from __future__ import annotations

from typing import Any

from ..planning.ready_queue import ReadyQueue
from .results import DONE_STATES, NodeState, RunView

__all__ = ["critical_path", "run_stats"]


def critical_path(run: RunView) -> tuple[list[str], float]:
    """The dependency chain with the largest summed node duration, and that sum in ms.

    With unlimited workers and no retry waits, no run of this DAG is shorter. Ties go to the
    chain whose names sort first."""
    dag, results = run.dag, run.results
    queue = ReadyQueue(dag)
    queue.prepare()
    best: dict[str, float] = {}
    parent: dict[str, str | None] = {}
    ready = list(queue.get_ready())
    while ready:
        for name in ready:
            deps = sorted(dag[name].dependencies)
            previous = max(deps, key=best.__getitem__) if deps else None
            best[name] = results[name].duration_ms + (best[previous] if previous else 0.0)
            parent[name] = previous
        queue.done(*ready)
        ready = list(queue.get_ready())
    if not best:
        return [], 0.0
    end: str | None = max(sorted(best), key=best.__getitem__)
    total = best[end]
    path = []
    while end is not None:
        path.append(end)
        end = parent[end]
    return path[::-1], total


def run_stats(run: RunView, *, cache_consulted: int, wall_ms: float, max_workers: int) -> dict[str, Any]:
    """Counts and timings of a run (see :meth:`DAGExecutor.get_stats`)."""
    results = list(run.results.values())
    cache_hits = sum(1 for r in results if r.cached)
    path, path_ms = critical_path(run)
    return {
        "total_nodes": len(results),
        "completed": sum(1 for r in results if r.state in DONE_STATES),
        "failed": sum(1 for r in results if r.state is NodeState.FAILED),
        "skipped": sum(1 for r in results if r.state is NodeState.SKIPPED),
        "cache_hits": cache_hits,
        "cache_misses": cache_consulted - cache_hits,
        "cache_hit_rate": cache_hits / cache_consulted if cache_consulted else 0.0,
        "total_attempts": sum(r.attempts for r in results),
        "retries": sum(r.retries for r in results),
        "total_duration_ms": wall_ms,
        "node_duration_ms": sum(r.duration_ms for r in results),
        "critical_path": path,
        "critical_path_ms": path_ms,
        "max_workers": max_workers,
    }
