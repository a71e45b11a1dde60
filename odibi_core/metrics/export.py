"""The JSON view of pipeline metrics: the same samples as the Prometheus text, nested by
pipeline and node in a stable shape.

Shape (every key always present; counts are ints, times are seconds)::

    {"namespace": "odibi",
     "pipelines": {
       "<pipeline>": {
         "runs": {"success": 0, "failed": 0},
         "duration_seconds": {"count": 0, "sum": 0.0, "buckets": {"<le>": 0, ..., "+Inf": 0}},
         "last_success": null,                       # Unix time of the last success, or null
         "nodes": {
           "<node>": {
             "runs": {"success": 0, "failed": 0, "cached": 0},
             "failures": {"<error_type>": 0},        # only the types seen
             "retries": 0,
             "cache_hits": 0,
             "duration_seconds": {"count": 0, "sum": 0.0, "buckets": {...}},
             "last_success": null}}}}}

Bucket counts are cumulative and keyed by the ``le`` label exactly as the text format writes
it (``"0.5"``, ``"1.0"``, ``"+Inf"``). Pipelines and nodes are sorted by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.utils import floatToGoString

from .labels import PipelineStatus, RunStatus

__all__ = ["metrics_to_json"]


def _empty_histogram(buckets: Sequence[float]) -> dict[str, Any]:
    return {"count": 0, "sum": 0.0, "buckets": {floatToGoString(b): 0 for b in buckets}}


def _empty_pipeline(buckets: Sequence[float]) -> dict[str, Any]:
    return {"runs": {s.value: 0 for s in PipelineStatus}, "duration_seconds": _empty_histogram(buckets),
            "last_success": None, "nodes": {}}


def _empty_node(buckets: Sequence[float]) -> dict[str, Any]:
    return {"runs": {s.value: 0 for s in RunStatus}, "failures": {}, "retries": 0, "cache_hits": 0,
            "duration_seconds": _empty_histogram(buckets), "last_success": None}


def _samples(metric: MetricWrapperBase) -> list[Any]:
    """The samples of one metric, without the ``_created`` timestamps."""
    return [s for family in metric.collect() for s in family.samples if not s.name.endswith("_created")]


def metrics_to_json(namespace: str, metrics: Mapping[str, MetricWrapperBase],
                    buckets: Sequence[float]) -> dict[str, Any]:
    """Nest the samples of ``metrics`` (role -> metric, as PipelineMetrics holds them) in the
    shape of the module docstring; ``buckets`` are the histograms' upper bounds, +Inf last."""
    pipelines: dict[str, dict[str, Any]] = {}

    def pipeline(labels: Mapping[str, str]) -> dict[str, Any]:
        return pipelines.setdefault(labels["pipeline"], _empty_pipeline(buckets))

    def node(labels: Mapping[str, str]) -> dict[str, Any]:
        return pipeline(labels)["nodes"].setdefault(labels["node"], _empty_node(buckets))

    def histogram(target: dict[str, Any], sample: Any) -> None:
        if sample.name.endswith("_bucket"):
            target["buckets"][sample.labels["le"]] = int(sample.value)
        elif sample.name.endswith("_count"):
            target["count"] = int(sample.value)
        elif sample.name.endswith("_sum"):
            target["sum"] = float(sample.value)

    for s in _samples(metrics["node_runs"]):
        node(s.labels)["runs"][s.labels["status"]] = int(s.value)
    for s in _samples(metrics["node_failures"]):
        node(s.labels)["failures"][s.labels["error_type"]] = int(s.value)
    for s in _samples(metrics["node_retries"]):
        node(s.labels)["retries"] = int(s.value)
    for s in _samples(metrics["node_cache_hits"]):
        node(s.labels)["cache_hits"] = int(s.value)
    for s in _samples(metrics["node_duration"]):
        histogram(node(s.labels)["duration_seconds"], s)
    for s in _samples(metrics["node_last_success"]):
        node(s.labels)["last_success"] = float(s.value)
    for s in _samples(metrics["pipeline_runs"]):
        pipeline(s.labels)["runs"][s.labels["status"]] = int(s.value)
    for s in _samples(metrics["pipeline_duration"]):
        histogram(pipeline(s.labels)["duration_seconds"], s)
    for s in _samples(metrics["pipeline_last_success"]):
        pipeline(s.labels)["last_success"] = float(s.value)

    ordered = {}
    for name in sorted(pipelines):
        entry = pipelines[name]
        entry["nodes"] = {n: {**entry["nodes"][n], "failures": dict(sorted(entry["nodes"][n]["failures"].items()))}
                          for n in sorted(entry["nodes"])}
        ordered[name] = entry
    return {"namespace": namespace, "pipelines": ordered}
