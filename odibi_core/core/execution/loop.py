"""The bookkeeping of one ``DAGExecutor.execute``: what finishing an attempt does to the heap of
ready names, the heap of delayed retries and the ready queue (success releases the children;
a failure is retried later, or ends the node and skips its descendants; ``fail_fast`` and a
strict hook stop the run)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from ..planning.ready_queue import ReadyQueue
from .results import NodeState

__all__ = ["Attempt", "RunLoop"]


@dataclass(slots=True)
class Attempt:
    """What one attempt of a node tells the scheduling loop."""

    name: str
    error: BaseException | None = None
    hit: bool = False  # the outputs came from the cache (never retried)
    log_line: str = ""
    abort: BaseException | None = None  # a strict hook raised: the run stops with this error
    execution: Any = None  # the tracker's record of this attempt


class RunLoop:
    """The bookkeeping of one ``execute``: what finishing an attempt does to the queues."""

    def __init__(self, executor: Any, queue: ReadyQueue, ready: list[str],
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

    def finish(self, outcome: Attempt) -> None:
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

    def settle(self, outcome: Attempt) -> None:
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
