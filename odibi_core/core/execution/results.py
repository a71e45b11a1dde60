"""What a run records: its mode, each node's state and result, and the read-only view of the run
that the executor's policies (checkpoints, resume, stats) read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..planning.builder import DAGNode

__all__ = ["DONE_STATES", "FINISHED_STATES", "ExecutionMode", "NodeExecutionResult", "NodeState",
           "RunView"]


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


#: a node in one of these states is complete: its outputs are in the data map (or durable)
DONE_STATES = frozenset({NodeState.SUCCESS, NodeState.CACHED, NodeState.RESUMED})
#: a node in one of these states will not change again in this run (FAILED may still retry)
FINISHED_STATES = DONE_STATES | {NodeState.FAILED, NodeState.SKIPPED}


@dataclass(slots=True)
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
        return self.state in DONE_STATES

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return max(0, self.attempts - 1)


class RunView:
    """A read-only view of one executor's run, for the policies: the DAG, the node results and
    the names by state (each lookup costs the size of its answer, not of the DAG)."""

    __slots__ = ("_run",)

    def __init__(self, run: Any) -> None:
        self._run = run

    @property
    def dag(self) -> Mapping[str, DAGNode]:
        return MappingProxyType(self._run.dag)

    @property
    def results(self) -> Mapping[str, NodeExecutionResult]:
        return MappingProxyType(self._run.results)

    def names(self, *states: NodeState) -> list[str]:
        """The nodes now in any of ``states``, sorted."""
        return self._run.names(*states)

    def __getattr__(self, name: str) -> Any:
        """The run's settings and run-level fields (mode, iteration, clock, ...), read-only."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._run, name)
