"""Follow one workflow's steps and publish its progress, with a time estimate.

:class:`WorkflowProgressTracker` turns ``start_step`` / ``complete_step`` / ``fail_step`` /
``complete_workflow`` calls into :class:`ProgressEvent` records on a streamer.
``progress`` is completed steps / total steps (clamped to 0..1; a finished workflow is 1).
The ETA is the mean duration of the completed steps times the steps remaining (None until a
step has completed); steps that run in parallel make it an overestimate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import ConfigError
from .event import EventType, ProgressEvent
from .streamer import ProgressStreamer, get_streamer

__all__ = ["WorkflowProgressTracker"]


class WorkflowProgressTracker:
    """Publishes the progress of one workflow run. Safe to call from worker threads.

    Args:
        workflow_id: the workflow the events belong to.
        thread_id: the run (thread) id carried by every event.
        total_steps: how many steps the workflow has (>= 0).
        streamer: where events go (default: :func:`get_streamer`).
        clock: seconds, monotonic; injectable for tests.
    """

    def __init__(self, workflow_id: str, thread_id: str | None = None, total_steps: int = 0, *,
                 streamer: ProgressStreamer | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 0:
            raise ConfigError("WorkflowProgressTracker", f"total_steps must be an integer >= 0, got"
                              f" {total_steps!r} (workflow {workflow_id!r})")
        self.workflow_id = workflow_id
        self.thread_id = thread_id
        self.total_steps = total_steps
        self.streamer = streamer if streamer is not None else get_streamer()
        self.clock = clock
        self._lock = threading.Lock()
        self._started_at = clock()
        self._running: dict[str, float] = {}
        self._durations: list[float] = []
        self._completed = 0
        self._finished = False

    # -- state ---------------------------------------------------------------------------
    @property
    def completed_steps(self) -> int:
        """Steps finished so far (failed ones included)."""
        return self._completed

    @property
    def running_steps(self) -> list[str]:
        """Steps started and not yet finished, sorted."""
        with self._lock:
            return sorted(self._running)

    @property
    def progress(self) -> float:
        """Completed / total steps, clamped to 0..1 (1 once the workflow completed)."""
        with self._lock:
            return self._progress()

    @property
    def elapsed(self) -> float:
        """Seconds since the tracker was made (or the workflow restarted)."""
        return self.clock() - self._started_at

    def eta(self) -> float | None:
        """Estimated seconds left: mean completed-step duration x steps remaining."""
        with self._lock:
            return self._eta()

    def _progress(self) -> float:
        if self._finished:
            return 1.0
        if self.total_steps == 0:
            return 0.0
        return min(1.0, max(0.0, self._completed / self.total_steps))

    def _eta(self) -> float | None:
        remaining = max(0, self.total_steps - self._completed)
        if self._finished or remaining == 0:
            return 0.0
        if not self._durations:
            return None
        return sum(self._durations) / len(self._durations) * remaining

    def _publish(self, step: str | None, kind: EventType, message: str) -> ProgressEvent:
        event = ProgressEvent(self.workflow_id, step, kind, self._progress(), message, eta=self._eta(),
                              thread_id=self.thread_id, completed_steps=self._completed,
                              total_steps=self.total_steps)
        self.streamer.publish(event)
        return event

    # -- the workflow's life -------------------------------------------------------------
    def start_workflow(self, message: str | None = None, *, total_steps: int | None = None) -> ProgressEvent:
        """(Re)start the workflow: forget earlier steps, restart the clock and publish a
        workflow ``start`` event (step None). Optional: trackers start on creation."""
        with self._lock:
            if total_steps is not None:
                if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 0:
                    raise ConfigError("WorkflowProgressTracker", f"total_steps must be an integer >= 0,"
                                      f" got {total_steps!r} (workflow {self.workflow_id!r})")
                self.total_steps = total_steps
            self._started_at = self.clock()
            self._running.clear()
            self._durations.clear()
            self._completed = 0
            self._finished = False
            return self._publish(None, EventType.START,
                                 message or f"workflow {self.workflow_id} started ({self.total_steps} steps)")

    def start_step(self, step: str, message: str | None = None) -> ProgressEvent:
        """Publish ``start`` for ``step`` and start timing it."""
        with self._lock:
            self._running[step] = self.clock()
            return self._publish(step, EventType.START, message or f"{step} started")

    def complete_step(self, step: str, message: str | None = None, *,
                      duration: float | None = None, error: str | None = None) -> ProgressEvent:
        """Count ``step`` as finished and publish ``progress``.

        Args:
            step: the step (normally started with :meth:`start_step`).
            message: the event's message (default "<step> complete").
            duration: the step's seconds, when the caller measured them; else the time since
                :meth:`start_step` (a step never started adds no duration to the ETA).
            error: the step failed but the workflow goes on: the step counts as finished
                and the message says it failed. Use :meth:`fail_step` when the failure
                ends the workflow.
        """
        with self._lock:
            started = self._running.pop(step, None)
            if duration is None and started is not None:
                duration = self.clock() - started
            if duration is not None:
                self._durations.append(max(0.0, duration))
            self._completed += 1
            default = f"{step} failed: {error}" if error is not None else f"{step} complete"
            return self._publish(step, EventType.PROGRESS, message or default)

    def fail_step(self, step: str | None, error: BaseException | str) -> ProgressEvent:
        """Publish ``error``: the workflow failed at ``step`` (None: not at a step). Terminal."""
        with self._lock:
            if step is not None:
                self._running.pop(step, None)
            text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
            where = f"{step} failed" if step is not None else f"workflow {self.workflow_id} failed"
            return self._publish(step, EventType.ERROR, f"{where}: {text}")

    def complete_workflow(self, message: str | None = None) -> ProgressEvent:
        """Publish ``complete`` (step None, progress 1, ETA 0). Terminal."""
        with self._lock:
            self._finished = True
            self._running.clear()
            elapsed = self.clock() - self._started_at
            return self._publish(None, EventType.COMPLETE,
                                 message or f"workflow {self.workflow_id} complete in {elapsed:.1f}s")
