"""``odibi_core.event_bus``: the Level 3 import path of the one event system."""

from __future__ import annotations

from .core.events import EVENTS, EventBus, EventEmitter, EventPriority
from .core.hooks import MetricsExportHook, create_metrics_export_hook, create_summary_hook

__all__ = [
    "EVENTS",
    "EventBus",
    "EventEmitter",
    "EventPriority",
    "MetricsExportHook",
    "create_metrics_export_hook",
    "create_summary_hook",
]
