"""What a story shows, gathered from a Tracker (and the executor's results when known).

The DAG comes from the planned wiring the orchestrator records (``Tracker.record_plan``), else
from the step records: an edge joins the step that wrote a data-map key to each step that read
it. Steps that never started (skipped after a failure) keep their place when the plan is known;
without a plan they have no known wiring and are placed in a last column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.tracking.tracker import StepExecution, Tracker, lifecycle_records

__all__ = ["Bar", "Edge", "NodeView", "RunView", "run_view"]


@dataclass(frozen=True)
class NodeView:
    """One step in the DAG picture: its final state and its column (dependency depth)."""

    name: str
    state: str
    level: int
    detail: str = ""
    ran: bool = True


@dataclass(frozen=True)
class Edge:
    """``parent`` wrote the data-map ``keys`` that ``child`` read."""

    parent: str
    child: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Bar:
    """One step execution on the timeline: offset from the run start and duration, in ms."""

    label: str
    state: str
    offset_ms: float
    duration_ms: float


@dataclass(frozen=True)
class RunView:
    """Everything the story renders about one run."""

    pipeline: str
    run_id: str
    status: str | None
    start_time: str | None
    end_time: str | None
    total_duration_ms: float | None
    executions: tuple[StepExecution, ...]
    lifecycle: dict[str, dict[str, Any]]
    nodes: tuple[NodeView, ...]
    edges: tuple[Edge, ...]
    bars: tuple[Bar, ...]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def state_counts(self) -> dict[str, int]:
        """How many steps ended in each state (final state per step, not per attempt)."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.state] = counts.get(node.state, 0) + 1
        return dict(sorted(counts.items()))


def _edges(wiring: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]]) -> list[Edge]:
    """Edges from step name -> (inputs, outputs): the writer of a key feeds each reader."""
    writer = {key: name for name, (_, outputs) in wiring.items() for key in outputs.values()}
    found: dict[tuple[str, str], set[str]] = {}
    for name, (inputs, _) in wiring.items():
        for key in inputs.values():
            parent = writer.get(key)
            if parent is not None and parent != name:
                found.setdefault((parent, name), set()).add(key)
    return [Edge(p, c, tuple(sorted(keys))) for (p, c), keys in sorted(found.items())]


def _levels(names: list[str], edges: list[Edge]) -> dict[str, int]:
    """Longest path from a root; at most len(names) rounds, so a bad record cannot loop."""
    level = dict.fromkeys(names, 0)
    for _ in range(len(names)):
        changed = False
        for edge in edges:
            if level[edge.child] < level[edge.parent] + 1:
                level[edge.child] = level[edge.parent] + 1
                changed = True
        if not changed:
            break
    return level


def _offset_ms(start: str | None, moment: str | None) -> float:
    if start is None or moment is None:
        return 0.0
    return max(0.0, (datetime.fromisoformat(moment) - datetime.fromisoformat(start)).total_seconds() * 1000)


def _bars(tracker_start: str | None, executions: tuple[StepExecution, ...]) -> list[Bar]:
    attempts: dict[str, int] = {}
    for e in executions:
        attempts[e.step_name] = attempts.get(e.step_name, 0) + 1
    bars = []
    for e in executions:
        label = e.step_name if attempts[e.step_name] == 1 else f"{e.step_name} (attempt {e.attempt})"
        if e.iteration is not None:
            label += f" [iteration {e.iteration}]"
        bars.append(Bar(label, str(e.status), _offset_ms(tracker_start, e.start_time),
                        e.duration_ms or 0.0))
    return bars


def run_view(tracker: Tracker, node_results: Mapping[str, Any] | None = None,
             stats: Mapping[str, Any] | None = None) -> RunView:
    """The story's data for the tracker's current run.

    Args:
        node_results: executor results, used for the lifecycle when the tracker has none.
        stats: run statistics to show in the header (scalar values only).
    """
    executions = tuple(tracker.step_executions)
    lifecycle = tracker.lifecycle or (lifecycle_records(node_results) if node_results else {})
    latest = {e.step_name: e for e in executions}
    plan = tracker.plan
    # the planned wiring when the orchestrator recorded it, else what the records show
    wiring = {name: (p["inputs"], p["outputs"]) for name, p in plan.items()}
    for name, e in latest.items():
        wiring.setdefault(name, (e.inputs, e.outputs))
    edges = _edges(wiring)
    ran = list(latest)
    unrun = sorted((set(plan) | set(lifecycle)) - set(latest))
    level = _levels(ran + unrun, edges)
    last = max(level.values(), default=-1) + 1
    nodes = [NodeView(name, str(lifecycle.get(name, {}).get("state", latest[name].status)), level[name],
                      f"{latest[name].layer} · {latest[name].engine}") for name in ran]
    for name in unrun:
        state = str(lifecycle.get(name, {}).get("state", "PENDING"))
        # a step with planned wiring keeps its column; one known only by state goes last
        nodes.append(NodeView(name, state, level[name] if name in plan else last,
                              "not run" if state in ("SKIPPED", "PENDING") else "no record", ran=False))
    scalars = {k: v for k, v in (stats or {}).items() if isinstance(v, str | int | float | bool)}
    return RunView(
        pipeline=tracker.pipeline_name,
        run_id=tracker.execution_id,
        status=tracker.status,
        start_time=tracker.start_time,
        end_time=tracker.end_time,
        total_duration_ms=tracker.total_duration_ms,
        executions=executions,
        lifecycle=lifecycle,
        nodes=tuple(nodes),
        edges=tuple(edges),
        bars=tuple(_bars(tracker.start_time, executions)),
        stats=scalars,
    )
