"""Per-node and per-pipeline run metrics, exported as Prometheus text and as JSON.

Metrics (``odibi`` is the default namespace)::

    odibi_node_runs_total{pipeline,node,status}           counter  status: success|failed|cached
    odibi_node_failures_total{pipeline,node,error_type}   counter  nodes that ended failed, by class
    odibi_node_retries_total{pipeline,node}               counter  retries scheduled
    odibi_node_cache_hits_total{pipeline,node}            counter  outputs served from the cache
    odibi_node_duration_seconds{pipeline,node}            histogram  completed runs (success|cached)
    odibi_node_last_success_timestamp_seconds{pipeline,node}  gauge  Unix time
    odibi_pipeline_runs_total{pipeline,status}            counter  status: success|failed
    odibi_pipeline_duration_seconds{pipeline}             histogram  every finished run
    odibi_pipeline_last_success_timestamp_seconds{pipeline}   gauge  Unix time

Labels are low-cardinality by construction (see :mod:`odibi_core.metrics.labels`): never a
run id, an execution id or an error message, which would create a time series per run.

Each instance owns a fresh ``CollectorRegistry`` unless given one, so tests and notebooks
never collide in prometheus_client's global registry (which only ``serve``/``write_textfile``
of *this* registry expose).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import CollectorRegistry

from ..atomic import atomic_write
from ..errors import ConfigError
from .attach import MetricsAttachment
from .export import metrics_to_json
from .labels import NODE_LABELS, ErrorTypeLimiter, PipelineStatus, RunStatus, check_name
from .server import MetricsServer, serve_registry

__all__ = ["DEFAULT_BUCKETS", "PipelineMetrics"]

log = logging.getLogger(__name__)

#: histogram upper bounds in seconds: pipeline steps take from milliseconds to an hour
DEFAULT_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                                      120.0, 300.0, 600.0, 1800.0, 3600.0)

_NAMESPACE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _check_buckets(buckets: Sequence[float]) -> tuple[float, ...]:
    """Strictly increasing positive bounds, +Inf appended when missing."""
    try:
        bounds = tuple(float(b) for b in buckets)
    except (TypeError, ValueError):
        raise ConfigError("PipelineMetrics", f"buckets must be numbers, got {buckets!r}") from None
    finite = bounds[:-1] if bounds and bounds[-1] == math.inf else bounds
    increasing = all(a < b for a, b in itertools.pairwise(finite))
    if not finite or not increasing or not all(0 < b < math.inf for b in finite):
        raise ConfigError("PipelineMetrics", "buckets must be strictly increasing positive seconds"
                                             f" (+Inf optional, last), got {list(buckets)!r}")
    return (*finite, math.inf)


class PipelineMetrics:
    """Counts node and pipeline runs and exposes them for Prometheus and as JSON.

    Feed it with :meth:`attach` (an EventEmitter's events) or the ``node_*`` /
    ``pipeline_finished`` methods directly; all are safe to call from several threads.

    Args:
        registry: the CollectorRegistry to register in (default: a new one owned by this
            object, never prometheus_client's global REGISTRY).
        namespace: the metric name prefix.
        buckets: histogram upper bounds in seconds, strictly increasing (+Inf is added).
        max_error_types: distinct ``error_type`` label values kept before new ones are
            counted as ``"other"``.
        clock: Unix time in seconds, for the last-success gauges (injectable for tests).
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, namespace: str = "odibi",
                 buckets: Sequence[float] = DEFAULT_BUCKETS, max_error_types: int = 50,
                 clock: Callable[[], float] = time.time) -> None:
        if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
            raise ConfigError("PipelineMetrics", f"namespace must match {_NAMESPACE.pattern},"
                                                 f" got {namespace!r}")
        self.namespace = namespace
        self.buckets = _check_buckets(buckets)
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.clock = clock
        self._error_type = ErrorTypeLimiter(max_error_types)
        self._metrics: dict[str, MetricWrapperBase] = {}
        node, pipe = list(NODE_LABELS), ["pipeline"]
        specs: list[tuple[str, type[MetricWrapperBase], str, list[str], str]] = [
            ("node_runs", Counter, "node_runs", [*node, "status"],
             "Node runs by how they ended (success, failed after retries, cached)."),
            ("node_failures", Counter, "node_failures", [*node, "error_type"],
             "Nodes that ended failed, by the error's class name."),
            ("node_retries", Counter, "node_retries", node, "Retries scheduled after a retryable error."),
            ("node_cache_hits", Counter, "node_cache_hits", node, "Node outputs served from the cache."),
            ("node_duration", Histogram, "node_duration_seconds", node,
             "Seconds spent in the attempts of nodes that completed (success or cached)."),
            ("node_last_success", Gauge, "node_last_success_timestamp_seconds", node,
             "Unix time of the node's last successful (or cached) run."),
            ("pipeline_runs", Counter, "pipeline_runs", [*pipe, "status"],
             "Pipeline runs by how they ended."),
            ("pipeline_duration", Histogram, "pipeline_duration_seconds", pipe,
             "Seconds from pipeline start to its end, successful or not."),
            ("pipeline_last_success", Gauge, "pipeline_last_success_timestamp_seconds", pipe,
             "Unix time of the pipeline's last successful run."),
        ]
        try:
            for role, kind, name, labels, doc in specs:
                extra: dict[str, Any] = {"buckets": self.buckets} if kind is Histogram else {}
                self._metrics[role] = kind(name, doc, labels, namespace=namespace,
                                           registry=self.registry, **extra)
        except ValueError as exc:  # duplicated time series in a registry given to us
            for metric in self._metrics.values():
                self.registry.unregister(metric)
            raise ConfigError("PipelineMetrics", f"cannot register the {namespace}_* metrics in this"
                                                 f" registry ({exc}); pass another registry or"
                                                 " namespace, or none to get a fresh one") from exc

    # -- feeding ------------------------------------------------------------------------
    def attach(self, events: Any, pipeline_name: str) -> MetricsAttachment:
        """Count the events of ``events`` (an EventEmitter) under ``pipeline_name``; returns
        the attachment, whose ``detach()`` stops counting. See :mod:`odibi_core.metrics.attach`."""
        if not callable(getattr(events, "on", None)) or not callable(getattr(events, "off", None)):
            raise ConfigError("PipelineMetrics", f"attach needs an EventEmitter (with on/off),"
                                                 f" got {type(events).__name__}")
        return MetricsAttachment(self, events, pipeline_name)

    def node_finished(self, pipeline: str, node: str, status: RunStatus | str = RunStatus.SUCCESS, *,
                      duration_seconds: float | None = None) -> None:
        """A node completed (``success`` or ``cached``): count it, time it, stamp its success."""
        status = self._status(RunStatus, status)
        if status is RunStatus.FAILED:
            raise ConfigError("PipelineMetrics", "node_finished is for completed nodes; use"
                                                 " node_failed(pipeline, node, error_type)")
        labels = (check_name("pipeline", pipeline), check_name("node", node))
        self._metrics["node_runs"].labels(*labels, status.value).inc()
        if duration_seconds is not None:
            self._metrics["node_duration"].labels(*labels).observe(max(0.0, float(duration_seconds)))
        self._metrics["node_last_success"].labels(*labels).set(self.clock())

    def node_failed(self, pipeline: str, node: str, error_type: str | None = None) -> None:
        """A node ended failed (after its retries); ``error_type`` is the error's class name."""
        labels = (check_name("pipeline", pipeline), check_name("node", node))
        self._metrics["node_runs"].labels(*labels, RunStatus.FAILED.value).inc()
        self._metrics["node_failures"].labels(*labels, self._error_type(error_type)).inc()

    def node_retried(self, pipeline: str, node: str) -> None:
        """A retry of the node was scheduled."""
        self._metrics["node_retries"].labels(check_name("pipeline", pipeline), check_name("node", node)).inc()

    def node_cache_hit(self, pipeline: str, node: str) -> None:
        """The node's outputs were served from the cache."""
        self._metrics["node_cache_hits"].labels(check_name("pipeline", pipeline), check_name("node", node)).inc()

    def pipeline_finished(self, pipeline: str, status: PipelineStatus | str, *,
                          duration_seconds: float | None = None) -> None:
        """A pipeline run ended; a success also stamps the last-success gauge."""
        status = self._status(PipelineStatus, status)
        name = check_name("pipeline", pipeline)
        self._metrics["pipeline_runs"].labels(name, status.value).inc()
        if duration_seconds is not None:
            self._metrics["pipeline_duration"].labels(name).observe(max(0.0, float(duration_seconds)))
        if status is PipelineStatus.SUCCESS:
            self._metrics["pipeline_last_success"].labels(name).set(self.clock())

    @staticmethod
    def _status(kind: Any, status: Any) -> Any:
        try:
            return kind(str(status).lower())
        except ValueError:
            raise ConfigError("PipelineMetrics", f"status must be one of {[s.value for s in kind]},"
                                                 f" got {status!r}") from None

    # -- exporting ----------------------------------------------------------------------
    def to_prometheus(self) -> str:
        """The registry in the Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(self.registry).decode("utf-8")

    def to_json(self) -> dict[str, Any]:
        """These metrics nested by pipeline and node (shape: :mod:`odibi_core.metrics.export`)."""
        return metrics_to_json(self.namespace, self._metrics, self.buckets)

    def write_textfile(self, path: str | os.PathLike[str]) -> str:
        """Write :meth:`to_prometheus` to ``path`` atomically (for node_exporter's textfile
        collector, which reads ``*.prom`` files: name it so). Returns the path written."""
        data = generate_latest(self.registry)
        written = atomic_write(path, lambda handle: handle.write(data))
        log.debug("wrote metrics to %s", written)
        return str(written)

    def serve(self, port: int = 0, addr: str = "127.0.0.1") -> MetricsServer:
        """Serve the registry over HTTP in a daemon thread (``prometheus_client.
        start_http_server``); port 0 picks a free port (see ``.port``). Bind ``addr="0.0.0.0"``
        to let another host scrape it. ``close()`` the returned server to stop."""
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ConfigError("PipelineMetrics", f"port must be an int in 0..65535, got {port!r}")
        return serve_registry(self.registry, port, addr)

    def __repr__(self) -> str:
        return f"PipelineMetrics(namespace={self.namespace!r})"
