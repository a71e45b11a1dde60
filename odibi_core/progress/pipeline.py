"""Publish an odibi_core pipeline run's progress from its events.

:meth:`PipelineProgress.attach` registers hooks on the run's
:class:`~odibi_core.core.events.EventEmitter` and turns them into progress events:

=================  ==========================================================
pipeline event     progress event
=================  ==========================================================
pipeline_start     workflow ``start`` (step None); takes total_steps from it
node_start         ``start`` for the node (one per attempt)
node_complete      ``progress``: the node finished (cached or not)
node_cached        ``progress``: the node finished from the cache (once: the
                   node_complete that follows it adds nothing)
node_error         ``progress``: the node finished failed (the run may go on)
pipeline_complete  ``complete`` (terminal)
pipeline_error     ``error`` at the first failed node (terminal)
=================  ==========================================================

Nodes resumed from a checkpoint or skipped after a failure emit nothing; a completed run
still ends at progress 1. Hooks may run on worker threads at once; this class is thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..events import EventEmitter, EventPriority
from .streamer import ProgressStreamer, get_streamer
from .tracker import WorkflowProgressTracker

__all__ = ["PIPELINE_EVENTS", "PipelineProgress"]

PIPELINE_EVENTS = ("pipeline_start", "node_start", "node_complete", "node_cached", "node_error",
                   "pipeline_complete", "pipeline_error")


class PipelineProgress:
    """Hooks that publish a pipeline's progress; made attached by :meth:`attach`.

    Args:
        streamer: where events go (default: :func:`get_streamer`).
        workflow_id: the events' workflow id (default: the run's pipeline name, else "pipeline").
        total_steps: the number of nodes (default: pipeline_start's ``total_steps``).
        thread_id: the run id carried by every event.
        clock: seconds, monotonic (for the tracker's ETA).
    """

    def __init__(self, streamer: ProgressStreamer | None = None, workflow_id: str | None = None,
                 total_steps: int | None = None, *, thread_id: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.streamer = streamer if streamer is not None else get_streamer()
        self._workflow_id = workflow_id
        self._total_steps = total_steps
        self.tracker = WorkflowProgressTracker(workflow_id or "pipeline", thread_id, total_steps or 0,
                                               streamer=self.streamer, clock=clock)
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._events: EventEmitter | None = None
        self._hooks = {
            "pipeline_start": self._on_pipeline_start,
            "node_start": self._on_node_start,
            "node_complete": self._on_node_finish,
            "node_cached": self._on_node_finish,
            "node_error": self._on_node_finish,
            "pipeline_complete": self._on_pipeline_complete,
            "pipeline_error": self._on_pipeline_error,
        }

    @classmethod
    def attach(cls, events: EventEmitter, streamer: ProgressStreamer | None = None,
               workflow_id: str | None = None, total_steps: int | None = None,
               **options: Any) -> PipelineProgress:
        """Make a PipelineProgress (``options``: ``thread_id``, ``clock``) and register its
        hooks on ``events``; call :meth:`detach` on the result to remove them."""
        progress = cls(streamer, workflow_id, total_steps, **options)
        progress.attach_to(events)
        return progress

    def attach_to(self, events: EventEmitter) -> PipelineProgress:
        """Register the hooks on ``events`` (LOW priority: after the run's own hooks)."""
        if self._events is not None:
            raise RuntimeError("PipelineProgress is already attached; detach() it first")
        for name, hook in self._hooks.items():
            events.on(name, hook, priority=EventPriority.LOW)
        self._events = events
        return self

    def detach(self) -> None:
        """Remove the hooks (a no-op when not attached)."""
        if self._events is None:
            return
        for name, hook in self._hooks.items():
            self._events.off(name, hook)
        self._events = None

    @property
    def workflow_id(self) -> str:
        """The workflow id the events carry."""
        return self.tracker.workflow_id

    # -- hooks ----------------------------------------------------------------------------
    def _on_pipeline_start(self, payload: dict[str, Any]) -> None:
        with self._lock:
            self._finished.clear()
            if self._workflow_id is None and payload.get("pipeline_name"):
                self.tracker.workflow_id = str(payload["pipeline_name"])
            total = self._total_steps if self._total_steps is not None else payload.get("total_steps")
        self.tracker.start_workflow(total_steps=int(total) if total is not None else None)

    def _on_node_start(self, payload: dict[str, Any]) -> None:
        step = payload["step_name"]
        attempt = payload.get("attempt") or 1
        with self._lock:
            self._finished.discard(step)  # a new execution of the step
        self.tracker.start_step(step, f"{step} started" + (f" (attempt {attempt})" if attempt > 1 else ""))

    def _on_node_finish(self, payload: dict[str, Any]) -> None:
        step = payload["step_name"]
        with self._lock:
            if step in self._finished:
                return
            self._finished.add(step)
        duration_ms = payload.get("duration_ms")
        duration = duration_ms / 1000 if duration_ms is not None else None
        if payload["event"] == "node_error":
            self.tracker.complete_step(step, duration=duration,
                                       error=payload.get("error_message") or payload.get("error_type") or "failed")
        else:
            cached = payload["event"] == "node_cached" or payload.get("status") == "CACHED"
            self.tracker.complete_step(step, f"{step} complete" + (" (cached)" if cached else ""),
                                       duration=duration)

    def _on_pipeline_complete(self, payload: dict[str, Any]) -> None:
        done, total = payload.get("success_count"), payload.get("nodes_executed")
        counts = f": {done}/{total} steps succeeded" if done is not None and total is not None else ""
        self.tracker.complete_workflow(f"pipeline {self.workflow_id} complete{counts}")

    def _on_pipeline_error(self, payload: dict[str, Any]) -> None:
        self.tracker.fail_step(payload.get("failed_step"), payload.get("error_message") or "pipeline failed")
