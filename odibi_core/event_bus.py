"""``odibi_core.event_bus``: the Level 3 import path of the one event system."""

from __future__ import annotations

from .core.tracking.hooks import MetricsExportHook, create_metrics_export_hook, create_summary_hook
from .events import EVENTS, EventBus, EventEmitter, EventPriority

__all__ = [
    "EVENTS",
    "EventBus",
    "EventEmitter",
    "EventPriority",
    "MetricsExportHook",
    "create_metrics_export_hook",
    "create_summary_hook",
]
