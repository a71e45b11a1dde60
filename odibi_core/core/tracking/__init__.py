"""Tracking: what a run did, step by step (tracker, schema diffs, lineage) and the stock hooks."""

from __future__ import annotations

from .hooks import MetricsExportHook, create_metrics_export_hook, create_summary_hook
from .tracker import SchemaDiff, StepExecution, StepStatus, Tracker

__all__ = ["MetricsExportHook", "SchemaDiff", "StepExecution", "StepStatus", "Tracker",
           "create_metrics_export_hook", "create_summary_hook"]
