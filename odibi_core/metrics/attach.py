"""Feeding PipelineMetrics from an EventEmitter: one hook per event, removable as a group.

Node events carry no pipeline name, so every event an attachment sees is counted under the
``pipeline_name`` given to ``attach``: attach once per pipeline to the emitter that pipeline's
Orchestrator (or DAGExecutor) emits on. Hooks run at LOW priority, non-strict: a metrics
problem is logged by the emitter and never stops a run. They may be called from worker threads
at once; prometheus_client metrics are thread-safe.

Event -> metric:

=================  ==========================================================================
node_complete      node runs {status=success|cached}, duration, last success time
node_error         node runs {status=failed}, failures {error_type} (once per failed node,
                   after its retries)
node_retry         retries (one per retry scheduled)
node_cached        cache hits
pipeline_complete  pipeline runs {status=success}, pipeline duration, last success time
pipeline_error     pipeline runs {status=failed}, pipeline duration
=================  ==========================================================================
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from ..events import EventEmitter, EventPriority
from .labels import PipelineStatus, RunStatus, check_name

__all__ = ["METRIC_EVENTS", "MetricsAttachment"]

#: the events an attachment listens to
METRIC_EVENTS = ("node_complete", "node_error", "node_retry", "node_cached",
                 "pipeline_complete", "pipeline_error")


class MetricsSink(Protocol):
    """What an attachment feeds (``PipelineMetrics`` is one): one method per kind of event."""

    def node_finished(self, pipeline: str, node: str, status: RunStatus | str = ..., *,
                      duration_seconds: float | None = None) -> None: ...

    def node_failed(self, pipeline: str, node: str, error_type: str | None = None) -> None: ...

    def node_retried(self, pipeline: str, node: str) -> None: ...

    def node_cache_hit(self, pipeline: str, node: str) -> None: ...

    def pipeline_finished(self, pipeline: str, status: PipelineStatus | str, *,
                          duration_seconds: float | None = None) -> None: ...


def _seconds(payload: dict[str, Any]) -> float | None:
    ms = payload.get("duration_ms")
    return None if ms is None else float(ms) / 1000.0


class MetricsAttachment:
    """The hooks one ``PipelineMetrics.attach`` registered; ``detach()`` removes them
    (idempotent). Also a context manager that detaches on exit."""

    def __init__(self, metrics: MetricsSink, events: EventEmitter, pipeline_name: str) -> None:
        self.metrics = metrics
        self.events = events
        self.pipeline_name = check_name("pipeline_name", pipeline_name)
        self._lock = threading.Lock()
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "node_complete": self._node_complete,
            "node_error": self._node_error,
            "node_retry": self._node_retry,
            "node_cached": self._node_cached,
            "pipeline_complete": self._pipeline_complete,
            "pipeline_error": self._pipeline_error,
        }
        self._hooks: list[tuple[str, Callable[[dict[str, Any]], None]]] = []
        for event in METRIC_EVENTS:
            events.on(event, handlers[event], priority=EventPriority.LOW)
            self._hooks.append((event, handlers[event]))

    @property
    def attached(self) -> bool:
        return bool(self._hooks)

    def detach(self) -> None:
        """Stop counting this emitter's events; the metrics keep their values."""
        with self._lock:
            hooks, self._hooks = self._hooks, []
        for event, fn in hooks:
            self.events.off(event, fn)

    def __enter__(self) -> MetricsAttachment:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.detach()

    # -- hooks (any thread) ----------------------------------------------------------------
    def _node(self, payload: dict[str, Any]) -> str:
        return check_name("the event's step_name", payload.get("step_name"))

    def _node_complete(self, payload: dict[str, Any]) -> None:
        status = RunStatus.CACHED if str(payload.get("status", "")).upper() == "CACHED" else RunStatus.SUCCESS
        self.metrics.node_finished(self.pipeline_name, self._node(payload), status,
                                   duration_seconds=_seconds(payload))

    def _node_error(self, payload: dict[str, Any]) -> None:
        self.metrics.node_failed(self.pipeline_name, self._node(payload), payload.get("error_type"))

    def _node_retry(self, payload: dict[str, Any]) -> None:
        self.metrics.node_retried(self.pipeline_name, self._node(payload))

    def _node_cached(self, payload: dict[str, Any]) -> None:
        self.metrics.node_cache_hit(self.pipeline_name, self._node(payload))

    def _pipeline_complete(self, payload: dict[str, Any]) -> None:
        self.metrics.pipeline_finished(self.pipeline_name, PipelineStatus.SUCCESS,
                                       duration_seconds=_seconds(payload))

    def _pipeline_error(self, payload: dict[str, Any]) -> None:
        self.metrics.pipeline_finished(self.pipeline_name, PipelineStatus.FAILED,
                                       duration_seconds=_seconds(payload))
