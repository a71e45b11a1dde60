"""Pipeline metrics for Prometheus (text format, textfile, HTTP) and as JSON."""

from __future__ import annotations

from .attach import METRIC_EVENTS, MetricsAttachment
from .export import metrics_to_json
from .labels import ErrorTypeLimiter, PipelineStatus, RunStatus
from .pipeline_metrics import DEFAULT_BUCKETS, PipelineMetrics
from .server import MetricsServer

__all__ = [
    "DEFAULT_BUCKETS",
    "METRIC_EVENTS",
    "ErrorTypeLimiter",
    "MetricsAttachment",
    "MetricsServer",
    "PipelineMetrics",
    "PipelineStatus",
    "RunStatus",
    "metrics_to_json",
]
