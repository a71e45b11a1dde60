"""Built-in hooks for the event system: a run summary and a metrics file.

Register them on ``pipeline_complete`` (and ``pipeline_error``); the metrics hook also
collects per-step numbers when registered on ``node_complete``/``node_error``::

    bus.register_hook("pipeline_complete", create_summary_hook())
    metrics = create_metrics_export_hook("metrics.json")
    for event in ("node_complete", "node_error", "pipeline_complete", "pipeline_error"):
        bus.register_hook(event, metrics)
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from ...atomic import write_json_atomic
from ...events import Hook

__all__ = ["MetricsExportHook", "create_metrics_export_hook", "create_summary_hook"]


def create_summary_hook(stream: TextIO | None = None) -> Hook:
    """A hook that writes a one-line summary of a finished (or failed) run to ``stream``
    (standard output by default)."""

    def summary(event: dict[str, Any]) -> None:
        out = stream if stream is not None else sys.stdout
        name = event.get("pipeline_name", "pipeline")
        if event.get("event") == "pipeline_error":
            failed = ", ".join(event.get("failed_nodes") or []) or "unknown"
            out.write(f"Pipeline '{name}' failed: {failed}: {event.get('error_message', '')}\n")
            return
        done, total = event.get("success_count", 0), event.get("nodes_executed", 0)
        out.write(f"Pipeline '{name}' complete: {done}/{total} steps succeeded in"
                  f" {event.get('duration_ms', 0.0):.0f} ms\n")

    return summary


class MetricsExportHook:
    """Collects per-step metrics from node events and writes them, with the run's totals, to a
    JSON file (atomically) when the pipeline completes or fails."""

    def __init__(self, output_path: str | Path) -> None:
        self.output_path = Path(output_path)
        self._nodes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("node_complete", "node_error", "node_cached"):
            with self._lock:
                self._nodes[event["step_name"]] = {
                    "status": {"node_complete": event.get("status", "SUCCESS"), "node_error": "FAILED",
                               "node_cached": "CACHED"}[kind],
                    "duration_ms": event.get("duration_ms"),
                    "row_count": event.get("row_count"),
                    "error_message": event.get("error_message"),
                }
        elif kind in ("pipeline_complete", "pipeline_error"):
            with self._lock:
                nodes, self._nodes = self._nodes, {}
            write_json_atomic(self.output_path, {
                "pipeline_name": event.get("pipeline_name"),
                "success": kind == "pipeline_complete",
                "duration_ms": event.get("duration_ms"),
                "nodes_executed": event.get("nodes_executed"),
                "success_count": event.get("success_count"),
                "failed_nodes": event.get("failed_nodes", []),
                "nodes": nodes,
            })


def create_metrics_export_hook(output_path: str | Path) -> MetricsExportHook:
    """A hook that writes run metrics to ``output_path`` as JSON (see :class:`MetricsExportHook`)."""
    return MetricsExportHook(output_path)
